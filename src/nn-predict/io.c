/* io.c: nn-predict's file side (nn_predict.h): a checkpoint pre-check with messages that say
 * what is wrong with a file, and the atomic CSV and HDF5 writers of the predictions. The data
 * split is read by the I/O layer's reader (nn_h5data.h), which allows a split without y. */
#include <errno.h>
#include <fcntl.h>
#include <hdf5.h>
#include <libgen.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "nn_checkpoint.h"
#include "nn_fileio.h"
#include "nn_h5attr.h"
#include "nn_predict.h"

/* ---------------------------------------------------------------- checkpoint */

int nn_predict_check_ckpt(const char *path, char *err, size_t errlen)
{
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    struct stat st;
    if (stat(path, &st) != 0 || access(path, R_OK) != 0) {
        snprintf(err, errlen, "--model %s: cannot open the checkpoint: %s", path,
                 strerror(errno));
        return -1;
    }
    if (!S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "--model %s: not a regular file (expected a checkpoint file, "
                 "e.g. ckpt/ckpt-e000010-s000000420.h5)",
                 path);
        return -1;
    }
    nn_input_guard_arm(path);
    if (H5Fis_hdf5(path) <= 0) {
        snprintf(err, errlen, "--model %s: not an HDF5 file (expected a checkpoint written by "
                 "nn-train)",
                 path);
        nn_input_guard_disarm();
        return -1;
    }
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0) {
        snprintf(err, errlen, "--model %s: HDF5 cannot open it (truncated or damaged "
                 "checkpoint?)",
                 path);
        nn_input_guard_disarm();
        return -1;
    }
    int rc = -1;
    long long version = 0;
    if (H5Aexists(f, "format_version") <= 0 || H5Lexists(f, "/model", H5P_DEFAULT) <= 0) {
        snprintf(err, errlen, "--model %s: not an nn-train checkpoint (no format_version "
                 "attribute or /model group; see docs/checkpoint.md)",
                 path);
    } else {
        hid_t a = H5Aopen(f, "format_version", H5P_DEFAULT);
        if (a < 0 || H5Aread(a, H5T_NATIVE_LLONG, &version) < 0)
            snprintf(err, errlen, "--model %s: the format_version attribute is unreadable",
                     path);
        else if (version < NN_CKPT_FORMAT_OLDEST || version > NN_CKPT_FORMAT_VERSION)
            snprintf(err, errlen, "--model %s: checkpoint format_version %lld; this nn-predict "
                     "reads versions %d and %d",
                     path, version, NN_CKPT_FORMAT_OLDEST, NN_CKPT_FORMAT_VERSION);
        else
            rc = 0;
        if (a >= 0)
            H5Aclose(a);
    }
    H5Fclose(f);
    nn_input_guard_disarm();
    return rc;
}

/* ---------------------------------------------------------------- output */

static void dir_of(const char *path, char *dir, size_t len)
{
    char buf[4096];
    snprintf(buf, sizeof buf, "%s", path);
    snprintf(dir, len, "%s", dirname(buf));
}

int nn_predict_check_output(const char *path, char *err, size_t errlen)
{
    char dir[4096];
    struct stat st;
    if (strlen(path) + 8 >= sizeof dir) {
        snprintf(err, errlen, "--output %s: path too long", path);
        return -1;
    }
    dir_of(path, dir, sizeof dir);
    const char *why = NULL;
    if (stat(dir, &st) != 0)
        why = strerror(errno);
    else if (!S_ISDIR(st.st_mode))
        why = "not a directory";
    else if (access(dir, W_OK | X_OK) != 0)
        why = strerror(errno);
    if (why) {
        snprintf(err, errlen, "--output %s: cannot write into directory %s: %s", path, dir, why);
        return -1;
    }
    if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "--output %s: is a %s; expected a file name", path,
                 S_ISDIR(st.st_mode) ? "directory" : "device, FIFO or socket (the rename would "
                                                     "replace it)");
        return -1;
    }
    return 0;
}


/* 0, or the errno of the failed write, sync or close. */
static int write_csv(const char *tmp, const float *rec, size_t n, const nn_predict_meta *m)
{
    FILE *f = fopen(tmp, "w");
    if (!f)
        return errno ? errno : EIO;
    int k = m->k, w = k + m->classify;
    fputs(m->classify ? "row,class" : "row", f);
    for (int j = 0; j < k; j++)
        fprintf(f, m->classify ? ",p%d" : ",y%d", j);
    fputc('\n', f);
    for (size_t i = 0; i < n && !ferror(f); i++) {
        const float *r = rec + i * (size_t)w; /* (w) */
        fprintf(f, "%zu", i);
        if (m->classify)
            fprintf(f, ",%d", (int)r[0]);
        for (int j = m->classify; j < w; j++)
            fprintf(f, ",%.9g", (double)r[j]);
        fputc('\n', f);
    }
    int e = 0;
    if (fflush(f) != 0 || ferror(f))
        e = errno ? errno : EIO;
    else if (fsync(fileno(f)) != 0)
        e = errno;
    if (fclose(f) != 0 && !e)
        e = errno ? errno : EIO;
    return e;
}

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

/* The file is built in memory (HDF5's core driver, no backing store) and written with
 * nn_write_file, as checkpoints are: a full disk is then a plain write error, and HDF5 never
 * holds a file whose close failed (HDF5 1.10 crashes at exit on such a file). 0, an errno, or
 * -1 when building the image failed (out of memory). */
static int write_h5(const char *tmp, const float *rec, size_t n, const nn_predict_meta *m)
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
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    H5Pset_fapl_core(fapl, 1 << 20, 0);
    hid_t f = H5Fcreate(tmp, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
    H5Pclose(fapl);
    int rc = f >= 0 ? 0 : -1;
    void *image = NULL;
    ssize_t size = -1;
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
        if (rc == 0 && H5Fflush(f, H5F_SCOPE_GLOBAL) >= 0)
            size = H5Fget_file_image(f, NULL, 0);
        if (size > 0 && (image = malloc((size_t)size)) != NULL &&
            H5Fget_file_image(f, image, (size_t)size) != size)
            size = -1;
        if (H5Fclose(f) < 0) /* in memory: nothing to fail on */
            size = -1;
    }
    free(p);
    free(cls);
    rc = size > 0 && image ? nn_write_file(tmp, image, (size_t)size) : -1;
    free(image);
    return rc;
}

int nn_predict_write(const char *path, nn_out_kind kind, const float *rec, size_t n,
                     const nn_predict_meta *meta, char *err, size_t errlen)
{
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp) {
        snprintf(err, errlen, "--output %s: path too long", path);
        return -1;
    }
    int rc = kind == NN_OUT_CSV ? write_csv(tmp, rec, n, meta) : write_h5(tmp, rec, n, meta);
    if (rc != 0) {
        snprintf(err, errlen, "--output %s: writing %s failed: %s", path, tmp,
                 rc > 0 ? strerror(rc) : "building the HDF5 file in memory failed (out of "
                                         "memory?)");
        unlink(tmp);
        return -1;
    }
    if ((rc = nn_rename_durable(tmp, path)) != 0) {
        snprintf(err, errlen, "--output %s: cannot rename %s into place: %s", path, tmp,
                 strerror(rc));
        unlink(tmp);
        return -1;
    }
    return 0;
}
