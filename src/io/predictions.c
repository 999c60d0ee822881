/* predictions.c: nn-predict's HDF5 output (nn_predictions.h, docs/nn-predict.md), built in
 * memory and written in one piece (nn_h5mem.h). */
#include <hdf5.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nn_h5attr.h"
#include "nn_h5mem.h"
#include "nn_predictions.h"

static int dset_write(hid_t f, const char *name, hid_t ftype, hid_t mtype, int rank,
                      const hsize_t *dims, const void *buf)
{
    hid_t s = H5Screate_simple(rank, dims, NULL);
    hid_t d = H5Dcreate2(f, name, ftype, s, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    int rc = d >= 0 ? 0 : -1;
    if (rc == 0 && dims[0] > 0 && H5Dwrite(d, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) < 0)
        rc = -1;
    if (d >= 0)
        H5Dclose(d);
    H5Sclose(s);
    return rc;
}

int nn_predictions_write_h5(const char *path, const float *rec, size_t n,
                            const nn_predictions_meta *m)
{
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    int k = m->k, w = k + m->classify;
    float *p = malloc((n ? n : 1) * (size_t)k * sizeof(float));
    int32_t *cls = m->classify ? malloc((n ? n : 1) * sizeof(int32_t)) : NULL;
    if (!p || (m->classify && !cls)) {
        free(p);
        free(cls);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        const float *r = rec + i * (size_t)w;
        memcpy(p + i * (size_t)k, r + m->classify, (size_t)k * sizeof(float));
        if (cls)
            cls[i] = (int32_t)r[0];
    }
    hid_t f = nn_h5_mem_create(path);
    int rc = f >= 0 ? 0 : -1;
    if (rc == 0) {
        char when[32];
        time_t now = time(NULL);
        struct tm tmv;
        strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&now, &tmv));
        hsize_t dims[2] = {n, (hsize_t)k};
        rc |= dset_write(f, "predictions", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 2, dims, p);
        if (cls)
            rc |= dset_write(f, "classes", H5T_STD_I32LE, H5T_NATIVE_INT32, 1, dims, cls);
        rc |= nn_h5_attr_i64(f, "format_version", 1);
        rc |= nn_h5_attr_str(f, "program", "nn-predict", 0);
        rc |= nn_h5_attr_str(f, "program_version", NN_VERSION, 0);
        rc |= nn_h5_attr_str(f, "model", m->model, 0);
        rc |= nn_h5_attr_str(f, "data", m->data, 0);
        rc |= nn_h5_attr_str(f, "split", m->split, 0);
        rc |= nn_h5_attr_str(f, "output", m->classify ? "softmax" : "linear", 0);
        rc |= nn_h5_attr_i64(f, "world_size", m->world_size);
        rc |= nn_h5_attr_str(f, "created", when, 0);
        rc = nn_h5_mem_save(f, rc == 0, path);
    }
    free(p);
    free(cls);
    return rc;
}
