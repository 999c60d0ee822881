/* h5attr.c: HDF5 attribute writers (nn_h5attr.h). */
#include <hdf5.h>
#include <string.h>

#include "nn_h5attr.h"

_Static_assert(sizeof(hid_t) == sizeof(int64_t), "nn_h5attr.h passes an hid_t as int64_t");

int nn_h5_attr(int64_t obj, const char *name, int64_t file, int64_t mem, size_t n,
               const void *v)
{
    hsize_t dim = n;
    hid_t s = n == 0 ? H5Screate(H5S_SCALAR) : H5Screate_simple(1, &dim, NULL);
    if (s < 0)
        return -1;
    hid_t a = H5Acreate2(obj, name, file, s, H5P_DEFAULT, H5P_DEFAULT);
    int rc = (a >= 0 && H5Awrite(a, mem, v) >= 0) ? 0 : -1;
    if (a >= 0)
        H5Aclose(a);
    H5Sclose(s);
    return rc;
}

int nn_h5_attr_str(int64_t obj, const char *name, const char *v, int utf8)
{
    hid_t t = H5Tcopy(H5T_C_S1);
    if (t < 0)
        return -1;
    H5Tset_size(t, strlen(v) + 1);
    H5Tset_strpad(t, H5T_STR_NULLTERM);
    if (utf8)
        H5Tset_cset(t, H5T_CSET_UTF8);
    int rc = nn_h5_attr(obj, name, t, t, 0, v);
    H5Tclose(t);
    return rc;
}

int nn_h5_attr_i64(int64_t obj, const char *name, int64_t v)
{
    return nn_h5_attr(obj, name, H5T_STD_I64LE, H5T_NATIVE_INT64, 0, &v);
}

int nn_h5_attr_f64(int64_t obj, const char *name, double v)
{
    return nn_h5_attr(obj, name, H5T_NATIVE_DOUBLE, H5T_NATIVE_DOUBLE, 0, &v);
}
