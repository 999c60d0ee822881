/* h5table.c: small HDF5 results files (nn_h5table.h), built in memory (nn_h5mem.h). */
#include <hdf5.h>
#include <stdint.h>

#include "nn_h5attr.h"
#include "nn_h5mem.h"
#include "nn_h5table.h"

static int dset(hid_t f, const nn_h5t_dset *d)
{
    hsize_t dims[2] = {d->rows, d->cols};
    hid_t ft, mt, own = -1;
    switch (d->kind) {
    case NN_H5T_F32: ft = H5T_IEEE_F32LE; mt = H5T_NATIVE_FLOAT; break;
    case NN_H5T_F64: ft = H5T_IEEE_F64LE; mt = H5T_NATIVE_DOUBLE; break;
    case NN_H5T_I32: ft = H5T_STD_I32LE; mt = H5T_NATIVE_INT32; break;
    case NN_H5T_I64: ft = H5T_STD_I64LE; mt = H5T_NATIVE_INT64; break;
    default:
        own = H5Tcopy(H5T_C_S1);
        H5Tset_size(own, H5T_VARIABLE);
        H5Tset_cset(own, H5T_CSET_UTF8);
        ft = mt = own;
    }
    hid_t s = H5Screate_simple(d->cols ? 2 : 1, dims, NULL);
    hid_t ds = H5Dcreate2(f, d->name, ft, s, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    int rc = ds >= 0 ? 0 : -1;
    if (rc == 0 && d->rows > 0 &&
        H5Dwrite(ds, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, d->data) < 0)
        rc = -1;
    if (ds >= 0)
        H5Dclose(ds);
    H5Sclose(s);
    if (own >= 0)
        H5Tclose(own);
    return rc;
}

int nn_h5_table_write(const char *path, const nn_h5t_dset *d, int nd, const nn_h5t_attr *a,
                      int na)
{
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    hid_t f = nn_h5_mem_create(path);
    if (f < 0)
        return -1;
    int rc = 0;
    for (int i = 0; i < nd; i++)
        rc |= dset(f, &d[i]);
    for (int i = 0; i < na; i++) {
        if (a[i].s)
            rc |= nn_h5_attr_str(f, a[i].name, a[i].s, 1);
        else if (a[i].kind == NN_H5T_I64)
            rc |= nn_h5_attr_i64(f, a[i].name, (int64_t)a[i].num);
        else
            rc |= nn_h5_attr_f64(f, a[i].name, a[i].num);
    }
    return nn_h5_mem_save(f, rc == 0, path);
}
