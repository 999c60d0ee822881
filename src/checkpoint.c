/* checkpoint.c: HDF5 checkpoints (layout: docs/checkpoint.md).
 *
 * A checkpoint is written to "<path>.tmp", flushed, fsync'ed and renamed over path, and the
 * directory is fsync'ed, so a reader sees either the old file or the complete new one.
 * Tensors are chunked with HDF5's Fletcher32 checksum filter. */
#include <errno.h>
#include <fcntl.h>
#include <hdf5.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "nn_checkpoint.h"

static int attr_write(hid_t obj, const char *name, hid_t type, hsize_t n, const void *v)
{
    hid_t s = n == 0 ? H5Screate(H5S_SCALAR) : H5Screate_simple(1, &n, NULL);
    hid_t a = H5Acreate2(obj, name, type, s, H5P_DEFAULT, H5P_DEFAULT);
    int rc = (a >= 0 && H5Awrite(a, type, v) >= 0) ? 0 : -1;
    if (a >= 0)
        H5Aclose(a);
    H5Sclose(s);
    return rc;
}

static int attr_str(hid_t obj, const char *name, const char *v)
{
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, strlen(v) + 1);
    H5Tset_strpad(t, H5T_STR_NULLTERM);
    int rc = attr_write(obj, name, t, 0, v);
    H5Tclose(t);
    return rc;
}

static int attr_i64(hid_t o, const char *n, long long v) { return attr_write(o, n, H5T_NATIVE_LLONG, 0, &v); }
static int attr_f64(hid_t o, const char *n, double v) { return attr_write(o, n, H5T_NATIVE_DOUBLE, 0, &v); }

/* One float32 tensor, chunked (at most ~1 MiB per chunk) with a Fletcher32 checksum. */
static int tensor_write(hid_t g, const char *name, int rank, hsize_t d0, hsize_t d1,
                        const float *v)
{
    hsize_t dims[2] = {d0, d1}, chunk[2] = {d0, d1};
    /* At most ~256 Ki floats per chunk, the rows shared evenly so no chunk is mostly empty. */
    hsize_t row = rank == 2 ? d1 : 1;
    hsize_t max_rows = (262144 + row - 1) / row;
    hsize_t nchunks = (d0 + max_rows - 1) / max_rows;
    chunk[0] = (d0 + nchunks - 1) / nchunks;
    hid_t s = H5Screate_simple(rank, dims, NULL);
    hid_t p = H5Pcreate(H5P_DATASET_CREATE);
    H5Pset_chunk(p, rank, chunk);
    H5Pset_fletcher32(p);
    hid_t d = H5Dcreate2(g, name, H5T_IEEE_F32LE, s, H5P_DEFAULT, p, H5P_DEFAULT);
    int rc = (d >= 0 && H5Dwrite(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, v) >= 0)
                 ? 0
                 : -1;
    if (d >= 0)
        H5Dclose(d);
    H5Pclose(p);
    H5Sclose(s);
    return rc;
}

/* Writes group `name` mirroring /model: name/dense_<i>/kernel and bias from a flat buffer. */
static int tensors_write(hid_t parent, const char *name, const nn_layout *lo, const float *buf)
{
    hid_t g = H5Gcreate2(parent, name, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    int rc = g >= 0 ? 0 : -1;
    for (int i = 0; rc == 0 && i < lo->n_layers; i++) {
        char lname[32];
        snprintf(lname, sizeof lname, "dense_%d", i);
        hid_t l = H5Gcreate2(g, lname, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
        if (l < 0 ||
            tensor_write(l, "kernel", 2, (hsize_t)lo->sizes[i], (hsize_t)lo->sizes[i + 1],
                         buf + lo->w_off[i]) != 0 ||
            tensor_write(l, "bias", 1, (hsize_t)lo->sizes[i + 1], 1, buf + lo->b_off[i]) != 0)
            rc = -1;
        if (l >= 0)
            H5Gclose(l);
    }
    if (g >= 0)
        H5Gclose(g);
    return rc;
}

/* fsync a path (file or directory); 0 or -1. */
static int fsync_path(const char *path, int flags)
{
    int fd = open(path, flags);
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

int nn_ckpt_write(const char *path, const nn_layout *lo, const float *params,
                  const nn_opt_hparams *hp, const float *m, const float *v, long opt_step,
                  const nn_ckpt_meta *meta, char *err, size_t errlen)
{
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp) {
        snprintf(err, errlen, "%s: checkpoint path too long", path);
        return -1;
    }
    hid_t f = H5Fcreate(tmp, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    if (f < 0) {
        snprintf(err, errlen, "%s: cannot create checkpoint file: %s", tmp, strerror(errno));
        return -1;
    }
    char when[32];
    time_t now = time(NULL);
    struct tm tmv;
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&now, &tmv));
    int rc = 0;
    rc |= attr_i64(f, "format_version", NN_CKPT_FORMAT_VERSION);
    rc |= attr_str(f, "program", "nn-train");
    rc |= attr_str(f, "program_version", NN_VERSION);
    rc |= attr_i64(f, "epoch", meta->epoch);
    rc |= attr_i64(f, "step", meta->step);
    rc |= attr_write(f, "seed", H5T_NATIVE_UINT64, 0, &meta->seed);
    rc |= attr_i64(f, "world_size", meta->world_size);
    rc |= attr_str(f, "created", when);
    rc |= attr_str(f, "config", meta->config ? meta->config : "");

    rc |= tensors_write(f, "model", lo, params);
    hid_t g = H5Gopen2(f, "model", H5P_DEFAULT);
    if (g >= 0) {
        rc |= attr_write(g, "layers", H5T_NATIVE_INT, (hsize_t)lo->n_layers + 1, lo->sizes);
        rc |= attr_str(g, "activation", nn_act_name(lo->act));
        rc |= attr_str(g, "output", lo->loss == NN_LOSS_XENT ? "softmax" : "linear");
        rc |= attr_str(g, "loss", nn_loss_name(lo->loss));
        H5Gclose(g);
    } else {
        rc = -1;
    }

    hid_t o = H5Gcreate2(f, "optimizer", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (o >= 0) {
        rc |= attr_str(o, "name", nn_opt_name(hp->kind));
        rc |= attr_i64(o, "step", opt_step);
        rc |= attr_f64(o, "lr", hp->lr);
        rc |= attr_f64(o, "momentum", hp->momentum);
        rc |= attr_f64(o, "beta1", hp->beta1);
        rc |= attr_f64(o, "beta2", hp->beta2);
        rc |= attr_f64(o, "eps", hp->eps);
        rc |= attr_f64(o, "weight_decay", hp->weight_decay);
        if (hp->kind == NN_OPT_ADAM || hp->kind == NN_OPT_ADAMW) {
            rc |= tensors_write(o, "m", lo, m);
            rc |= tensors_write(o, "v", lo, v);
        } else if (m) {
            rc |= tensors_write(o, "momentum_buffer", lo, m);
        }
        H5Gclose(o);
    } else {
        rc = -1;
    }
    if (H5Fflush(f, H5F_SCOPE_GLOBAL) < 0)
        rc = -1;
    if (H5Fclose(f) < 0)
        rc = -1;
    if (rc != 0) {
        snprintf(err, errlen, "%s: writing the checkpoint failed (disk full?); the previous "
                              "checkpoint is untouched", tmp);
        unlink(tmp);
        return -1;
    }
    if (fsync_path(tmp, O_RDONLY) != 0 || rename(tmp, path) != 0) {
        snprintf(err, errlen, "%s: cannot sync or rename the checkpoint: %s", path,
                 strerror(errno));
        unlink(tmp);
        return -1;
    }
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", path);
    fsync_path(dirname(dir), O_RDONLY | O_DIRECTORY); /* makes the rename durable */
    return 0;
}

static int attr_read(hid_t obj, const char *name, hid_t memtype, void *v)
{
    hid_t a = H5Aopen(obj, name, H5P_DEFAULT);
    int rc = (a >= 0 && H5Aread(a, memtype, v) >= 0) ? 0 : -1;
    if (a >= 0)
        H5Aclose(a);
    return rc;
}

static int attr_read_str(hid_t obj, const char *name, char *buf, size_t len)
{
    hid_t a = H5Aopen(obj, name, H5P_DEFAULT);
    if (a < 0)
        return -1;
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, len);
    H5Tset_strpad(t, H5T_STR_NULLTERM);
    memset(buf, 0, len);
    int rc = H5Aread(a, t, buf) >= 0 ? 0 : -1;
    buf[len - 1] = '\0';
    H5Tclose(t);
    H5Aclose(a);
    return rc;
}

static int tensor_read(hid_t f, const char *name, size_t expect, float *out)
{
    hid_t d = H5Dopen2(f, name, H5P_DEFAULT);
    if (d < 0)
        return -1;
    hid_t s = H5Dget_space(d);
    int rc = ((size_t)H5Sget_simple_extent_npoints(s) == expect &&
              H5Dread(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, out) >= 0)
                 ? 0
                 : -1;
    H5Sclose(s);
    H5Dclose(d);
    return rc;
}

int nn_ckpt_read_model(const char *path, nn_layout *lo, float **params, char *err,
                       size_t errlen)
{
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    *params = NULL;
    hid_t f = H5Fis_hdf5(path) > 0 ? H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT) : -1;
    if (f < 0) {
        snprintf(err, errlen, "%s: not a readable HDF5 checkpoint", path);
        return -1;
    }
    int rc = -1, sizes[NN_MAX_LAYERS + 1];
    long long version = 0;
    char act[32], loss[32];
    if (attr_read(f, "format_version", H5T_NATIVE_LLONG, &version) != 0 ||
        version != NN_CKPT_FORMAT_VERSION) {
        snprintf(err, errlen, "%s: checkpoint format_version %lld; this nn-train reads %d", path,
                 version, NN_CKPT_FORMAT_VERSION);
        H5Fclose(f);
        return -1;
    }
    hid_t g = H5Gopen2(f, "model", H5P_DEFAULT);
    hid_t a = g >= 0 ? H5Aopen(g, "layers", H5P_DEFAULT) : -1;
    hid_t s = a >= 0 ? H5Aget_space(a) : -1;
    hssize_t n = s >= 0 ? H5Sget_simple_extent_npoints(s) : -1;
    if (n < 2 || n > NN_MAX_LAYERS + 1 || attr_read(g, "layers", H5T_NATIVE_INT, sizes) != 0 ||
        attr_read_str(g, "activation", act, sizeof act) != 0 ||
        attr_read_str(g, "loss", loss, sizeof loss) != 0 || nn_act_from_name(act) < 0 ||
        (strcmp(loss, "xent") != 0 && strcmp(loss, "mse") != 0)) {
        snprintf(err, errlen, "%s: /model or its attributes are missing or malformed", path);
        goto done;
    }
    if (nn_layout_init(lo, sizes, (int)n - 1, (nn_act)nn_act_from_name(act),
                       strcmp(loss, "xent") == 0 ? NN_LOSS_XENT : NN_LOSS_MSE, err, errlen) != 0)
        goto done;
    *params = malloc(lo->n_params * sizeof(float));
    if (!*params) {
        snprintf(err, errlen, "%s: out of memory", path);
        goto done;
    }
    for (int i = 0; i < lo->n_layers; i++) {
        char kn[64], bn[64];
        snprintf(kn, sizeof kn, "/model/dense_%d/kernel", i);
        snprintf(bn, sizeof bn, "/model/dense_%d/bias", i);
        if (tensor_read(f, kn, (size_t)lo->sizes[i] * lo->sizes[i + 1], *params + lo->w_off[i]) ||
            tensor_read(f, bn, (size_t)lo->sizes[i + 1], *params + lo->b_off[i])) {
            snprintf(err, errlen, "%s: %s or %s is missing, of the wrong shape, or corrupt", path,
                     kn, bn);
            goto done;
        }
    }
    rc = 0;
done:
    if (s >= 0)
        H5Sclose(s);
    if (a >= 0)
        H5Aclose(a);
    if (g >= 0)
        H5Gclose(g);
    H5Fclose(f);
    if (rc != 0) {
        free(*params);
        *params = NULL;
    }
    return rc;
}
