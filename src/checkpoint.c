/* checkpoint.c: HDF5 checkpoints (layout: docs/checkpoint.md) and the checkpoint directory.
 *
 * A checkpoint is written to "<path>.tmp", flushed, fsync'ed and renamed over path, and the
 * directory is fsync'ed, so a reader sees either the old file or the complete new one.
 * Tensors are chunked with HDF5's Fletcher32 checksum filter, and a checksum over the whole
 * state (state_checksum) catches what Fletcher32 cannot: a wrong but well-formed value. */
#include <dirent.h>
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
#include "nn_fileio.h"

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
    if (d >= 0 && H5Dclose(d) < 0) /* writes the chunks into the in-memory file */
        rc = -1;
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



int nn_ckpt_has_m(const nn_opt_hparams *hp)
{
    return hp->kind == NN_OPT_ADAM || hp->kind == NN_OPT_ADAMW ||
           (hp->kind == NN_OPT_SGD && hp->momentum != 0.0f);
}

int nn_ckpt_has_v(const nn_opt_hparams *hp)
{
    return hp->kind == NN_OPT_ADAM || hp->kind == NN_OPT_ADAMW;
}

static uint64_t fnv1a(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 1099511628211ULL;
    return h;
}

uint64_t nn_ckpt_config_hash(const char *settings)
{
    return fnv1a(1469598103934665603ULL, settings, strlen(settings));
}

uint64_t nn_ckpt_checksum(const nn_layout *lo, const float *params, const float *m,
                          const float *v, const nn_ckpt_meta *meta)
{
    size_t bytes = lo->n_params * sizeof(float);
    uint64_t h = 1469598103934665603ULL;
    h = fnv1a(h, params, bytes);
    if (m)
        h = fnv1a(h, m, bytes);
    if (v)
        h = fnv1a(h, v, bytes);
    int64_t pos[4] = {meta->epoch, meta->epoch_step, meta->step, (int64_t)meta->seed};
    h = fnv1a(h, pos, sizeof pos);
    return fnv1a(h, &meta->epoch_loss_sum, sizeof meta->epoch_loss_sum);
}

int nn_ckpt_write(const char *path, const nn_layout *lo, const float *params,
                  const nn_opt_hparams *hp, const float *m, const float *v,
                  const nn_ckpt_meta *meta, const nn_preprocess *pre, char *err,
                  size_t errlen)
{
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp) {
        snprintf(err, errlen, "%s: checkpoint path too long", path);
        return -1;
    }
    /* The file is built in memory (HDF5's core driver, no backing store) and written with
     * plain write + fsync: every I/O error is then ours to see and handle, and HDF5 never
     * holds a half-closed file after a full disk. */
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    H5Pset_fapl_core(fapl, 1 << 20, 0);
    hid_t f = H5Fcreate(tmp, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
    H5Pclose(fapl);
    if (f < 0) {
        snprintf(err, errlen, "%s: cannot build the checkpoint in memory", tmp);
        return -1;
    }
    m = nn_ckpt_has_m(hp) ? m : NULL;
    v = nn_ckpt_has_v(hp) ? v : NULL;
    char when[32];
    time_t now = time(NULL);
    struct tm tmv;
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&now, &tmv));
    uint64_t sum = nn_ckpt_checksum(lo, params, m, v, meta);
    uint64_t config_hash = nn_ckpt_config_hash(meta->settings);
    int rc = 0;
    rc |= attr_i64(f, "format_version", NN_CKPT_FORMAT_VERSION);
    rc |= attr_str(f, "program", "nn-train");
    rc |= attr_str(f, "program_version", NN_VERSION);
    rc |= attr_str(f, "created", when);
    rc |= attr_i64(f, "epoch", meta->epoch);
    rc |= attr_i64(f, "epoch_step", meta->epoch_step);
    rc |= attr_i64(f, "step", meta->step);
    rc |= attr_f64(f, "epoch_loss_sum", meta->epoch_loss_sum);
    rc |= attr_write(f, "seed", H5T_NATIVE_UINT64, 0, &meta->seed);
    rc |= attr_i64(f, "batch", meta->batch);
    rc |= attr_i64(f, "epochs", meta->epochs);
    rc |= attr_f64(f, "val_fraction", meta->val_fraction);
    rc |= attr_i64(f, "no_shuffle", meta->no_shuffle);
    rc |= attr_i64(f, "world_size", meta->world_size);
    rc |= attr_str(f, "data", meta->data);
    rc |= attr_str(f, "config", meta->config);
    rc |= attr_str(f, "settings", meta->settings);
    rc |= attr_str(f, "normalize", meta->normalize);
    rc |= attr_f64(f, "dropout", meta->dropout);
    rc |= attr_str(f, "lr_schedule", meta->lr_schedule);
    rc |= attr_f64(f, "warmup_epochs", meta->warmup_epochs);
    rc |= attr_i64(f, "lr_step_epochs", meta->lr_step_epochs);
    rc |= attr_f64(f, "lr_gamma", meta->lr_gamma);
    rc |= attr_f64(f, "lr_min", meta->lr_min);
    rc |= attr_i64(f, "patience", meta->patience);
    rc |= attr_f64(f, "best_val_loss", meta->best_val_loss);
    rc |= attr_i64(f, "best_epoch", meta->best_epoch);
    rc |= attr_i64(f, "bad_epochs", meta->bad_epochs);
    if (pre && pre->d > 0) { /* the scaling nn-predict applies (nn_preprocess.h) */
        hid_t pg = H5Gcreate2(f, "preprocess", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
        rc |= pg < 0 ? -1 : attr_str(pg, "method", pre->method);
        if (pg >= 0) {
            rc |= tensor_write(pg, "x_shift", 1, (hsize_t)pre->d, 1, pre->x_shift);
            rc |= tensor_write(pg, "x_scale", 1, (hsize_t)pre->d, 1, pre->x_scale);
            if (pre->k > 0) {
                rc |= tensor_write(pg, "y_shift", 1, (hsize_t)pre->k, 1, pre->y_shift);
                rc |= tensor_write(pg, "y_scale", 1, (hsize_t)pre->k, 1, pre->y_scale);
            }
            H5Gclose(pg);
        }
    }
    rc |= attr_write(f, "config_hash", H5T_NATIVE_UINT64, 0, &config_hash);
    rc |= attr_write(f, "state_checksum", H5T_NATIVE_UINT64, 0, &sum);

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
        rc |= attr_i64(o, "step", meta->step);
        rc |= attr_f64(o, "lr", hp->lr);
        rc |= attr_f64(o, "momentum", hp->momentum);
        rc |= attr_f64(o, "beta1", hp->beta1);
        rc |= attr_f64(o, "beta2", hp->beta2);
        rc |= attr_f64(o, "eps", hp->eps);
        rc |= attr_f64(o, "weight_decay", hp->weight_decay);
        rc |= attr_f64(o, "l1", meta->l1);
        rc |= attr_f64(o, "l2", meta->l2);
        if (v) {
            rc |= tensors_write(o, "m", lo, m);
            rc |= tensors_write(o, "v", lo, v);
        } else if (m) {
            rc |= tensors_write(o, "momentum_buffer", lo, m);
        }
        H5Gclose(o);
    } else {
        rc = -1;
    }
    ssize_t size = rc == 0 && H5Fflush(f, H5F_SCOPE_GLOBAL) >= 0 ? H5Fget_file_image(f, NULL, 0)
                                                                 : -1;
    void *image = size > 0 ? malloc((size_t)size) : NULL;
    if (!image || H5Fget_file_image(f, image, (size_t)size) != size)
        rc = -1;
    H5Fclose(f); /* in memory: nothing to fail on */
    if (rc != 0) {
        free(image);
        snprintf(err, errlen, "%s: building the checkpoint failed (out of memory?)", path);
        return -1;
    }
    rc = nn_write_file(tmp, image, (size_t)size);
    free(image);
    if (rc != 0) {
        snprintf(err, errlen, "%s: writing the checkpoint failed: %s; the previous checkpoint is "
                 "untouched", tmp, strerror(rc));
        unlink(tmp);
        return -1;
    }
    if ((rc = nn_rename_durable(tmp, path)) != 0) {
        snprintf(err, errlen, "%s: cannot rename the checkpoint into place: %s", path,
                 strerror(rc));
        unlink(tmp);
        return -1;
    }
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

static int attr_i64_read(hid_t o, const char *name, long *v)
{
    long long x;
    if (attr_read(o, name, H5T_NATIVE_LLONG, &x) != 0)
        return -1;
    *v = (long)x;
    return 0;
}

static int attr_f32_read(hid_t o, const char *name, float *v)
{
    double x;
    if (attr_read(o, name, H5T_NATIVE_DOUBLE, &x) != 0)
        return -1;
    *v = (float)x;
    return 0;
}

/* Reads group `name` mirroring /model into a flat buffer; -1 on a missing tensor, a wrong
 * shape, or a Fletcher32 mismatch (H5Dread fails). */
static int tensors_read(hid_t f, const char *name, const nn_layout *lo, float *out)
{
    for (int i = 0; i < lo->n_layers; i++) {
        const char *what[2] = {"kernel", "bias"};
        size_t count[2] = {(size_t)lo->sizes[i] * lo->sizes[i + 1], (size_t)lo->sizes[i + 1]};
        size_t off[2] = {lo->w_off[i], lo->b_off[i]};
        for (int k = 0; k < 2; k++) {
            char dn[96];
            snprintf(dn, sizeof dn, "%s/dense_%d/%s", name, i, what[k]);
            hid_t d = H5Dopen2(f, dn, H5P_DEFAULT);
            if (d < 0)
                return -1;
            hid_t s = H5Dget_space(d);
            int ok = (size_t)H5Sget_simple_extent_npoints(s) == count[k] &&
                     H5Dread(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, out + off[k]) >= 0;
            H5Sclose(s);
            H5Dclose(d);
            if (!ok)
                return -1;
        }
    }
    return 0;
}

/* The attributes: format, model, optimizer, position and settings. */
static int read_info(hid_t f, const char *path, nn_ckpt_info *info, char *err, size_t errlen)
{
    memset(info, 0, sizeof *info);
    long version = 0;
    if (attr_i64_read(f, "format_version", &version) != 0) {
        snprintf(err, errlen, "%s: not an nn-train checkpoint (no format_version attribute)",
                 path);
        return -1;
    }
    if (version != NN_CKPT_FORMAT_VERSION) {
        snprintf(err, errlen, "%s: checkpoint format_version %ld; this nn-train reads version %d",
                 path, version, NN_CKPT_FORMAT_VERSION);
        return -1;
    }
    nn_ckpt_meta *m = &info->meta;
    long ws = 0, ns = 0;
    int bad = attr_i64_read(f, "epoch", &m->epoch) || attr_i64_read(f, "epoch_step", &m->epoch_step) ||
              attr_i64_read(f, "step", &m->step) ||
              attr_read(f, "epoch_loss_sum", H5T_NATIVE_DOUBLE, &m->epoch_loss_sum) ||
              attr_read(f, "seed", H5T_NATIVE_UINT64, &m->seed) || attr_i64_read(f, "batch", &m->batch) ||
              attr_i64_read(f, "epochs", &m->epochs) ||
              attr_read(f, "val_fraction", H5T_NATIVE_DOUBLE, &m->val_fraction) ||
              attr_i64_read(f, "no_shuffle", &ns) || attr_i64_read(f, "world_size", &ws) ||
              attr_read_str(f, "data", m->data, sizeof m->data) ||
              attr_read_str(f, "config", m->config, sizeof m->config) ||
              attr_read_str(f, "settings", m->settings, sizeof m->settings) ||
              attr_read_str(f, "normalize", m->normalize, sizeof m->normalize) ||
              attr_read(f, "dropout", H5T_NATIVE_DOUBLE, &m->dropout) ||
              attr_read_str(f, "lr_schedule", m->lr_schedule, sizeof m->lr_schedule) ||
              attr_read(f, "warmup_epochs", H5T_NATIVE_DOUBLE, &m->warmup_epochs) ||
              attr_i64_read(f, "lr_step_epochs", &m->lr_step_epochs) ||
              attr_read(f, "lr_gamma", H5T_NATIVE_DOUBLE, &m->lr_gamma) ||
              attr_read(f, "lr_min", H5T_NATIVE_DOUBLE, &m->lr_min) ||
              attr_i64_read(f, "patience", &m->patience) ||
              attr_read(f, "best_val_loss", H5T_NATIVE_DOUBLE, &m->best_val_loss) ||
              attr_i64_read(f, "best_epoch", &m->best_epoch) ||
              attr_i64_read(f, "bad_epochs", &m->bad_epochs) ||
              attr_read(f, "config_hash", H5T_NATIVE_UINT64, &m->config_hash) ||
              attr_read_str(f, "program_version", info->program_version, sizeof info->program_version) ||
              attr_read_str(f, "created", info->created, sizeof info->created) ||
              attr_read(f, "state_checksum", H5T_NATIVE_UINT64, &info->checksum);
    m->no_shuffle = (int)ns;
    m->world_size = (int)ws;
    if (bad) {
        snprintf(err, errlen, "%s: a root attribute of the checkpoint is missing or damaged", path);
        return -1;
    }

    int sizes[NN_MAX_LAYERS + 1];
    char act[32], loss[32], opt[32];
    hid_t g = H5Gopen2(f, "model", H5P_DEFAULT);
    hid_t a = g >= 0 ? H5Aopen(g, "layers", H5P_DEFAULT) : -1;
    hid_t s = a >= 0 ? H5Aget_space(a) : -1;
    hssize_t n = s >= 0 ? H5Sget_simple_extent_npoints(s) : -1;
    bad = n < 2 || n > NN_MAX_LAYERS + 1 || attr_read(g, "layers", H5T_NATIVE_INT, sizes) != 0 ||
          attr_read_str(g, "activation", act, sizeof act) != 0 ||
          attr_read_str(g, "loss", loss, sizeof loss) != 0 || nn_act_from_name(act) < 0 ||
          (strcmp(loss, "xent") != 0 && strcmp(loss, "mse") != 0);
    if (s >= 0)
        H5Sclose(s);
    if (a >= 0)
        H5Aclose(a);
    if (g >= 0)
        H5Gclose(g);
    if (bad) {
        snprintf(err, errlen, "%s: /model or its attributes are missing or malformed", path);
        return -1;
    }
    if (nn_layout_init(&info->lo, sizes, (int)n - 1, (nn_act)nn_act_from_name(act),
                       strcmp(loss, "xent") == 0 ? NN_LOSS_XENT : NN_LOSS_MSE, err, errlen) != 0)
        return -1;

    hid_t o = H5Gopen2(f, "optimizer", H5P_DEFAULT);
    nn_opt_hparams *hp = &info->hp;
    bad = o < 0 || attr_read_str(o, "name", opt, sizeof opt) != 0 || nn_opt_from_name(opt) < 0 ||
          attr_f32_read(o, "lr", &hp->lr) || attr_f32_read(o, "momentum", &hp->momentum) ||
          attr_f32_read(o, "beta1", &hp->beta1) || attr_f32_read(o, "beta2", &hp->beta2) ||
          attr_f32_read(o, "eps", &hp->eps) || attr_f32_read(o, "weight_decay", &hp->weight_decay) ||
          attr_f32_read(o, "l1", &m->l1) || attr_f32_read(o, "l2", &m->l2);
    if (!bad)
        hp->kind = (nn_opt_kind)nn_opt_from_name(opt);
    if (o >= 0)
        H5Gclose(o);
    if (bad) {
        snprintf(err, errlen, "%s: /optimizer or its attributes are missing or malformed", path);
        return -1;
    }
    return 0;
}

int nn_ckpt_load(const char *path, nn_ckpt_info *info, float **params, float **m, float **v,
                 char *err, size_t errlen)
{
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    float *buf[3] = {NULL, NULL, NULL};
    if (access(path, R_OK) != 0) {
        snprintf(err, errlen, "%s: cannot open checkpoint: %s", path, strerror(errno));
        return -1;
    }
    hid_t f = H5Fis_hdf5(path) > 0 ? H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT) : -1;
    if (f < 0) {
        snprintf(err, errlen, "%s: not a readable HDF5 file (truncated or damaged checkpoint?)",
                 path);
        return -1;
    }
    int rc = -1;
    if (read_info(f, path, info, err, errlen) != 0)
        goto done;
    size_t bytes = info->lo.n_params * sizeof(float);
    int has[3] = {1, nn_ckpt_has_m(&info->hp), nn_ckpt_has_v(&info->hp)};
    const char *group[3] = {"/model", nn_ckpt_has_v(&info->hp) ? "/optimizer/m" : "/optimizer/momentum_buffer", "/optimizer/v"};
    for (int k = 0; k < 3; k++) {
        if (!has[k])
            continue;
        buf[k] = malloc(bytes ? bytes : 1);
        if (!buf[k]) {
            snprintf(err, errlen, "%s: out of memory", path);
            goto done;
        }
        if (tensors_read(f, group[k], &info->lo, buf[k]) != 0) {
            snprintf(err, errlen, "%s: a tensor in %s is missing, of the wrong shape, or fails "
                     "its Fletcher32 checksum (damaged checkpoint)", path, group[k]);
            goto done;
        }
    }
    if (nn_ckpt_checksum(&info->lo, buf[0], buf[1], buf[2], &info->meta) != info->checksum) {
        snprintf(err, errlen, "%s: state_checksum does not match the contents (damaged "
                 "checkpoint)", path);
        goto done;
    }
    rc = 0;
done:
    H5Fclose(f);
    float **out[3] = {params, m, v};
    for (int k = 0; k < 3; k++) {
        if (rc == 0 && out[k]) {
            *out[k] = buf[k];
        } else {
            free(buf[k]);
            if (out[k])
                *out[k] = NULL;
        }
    }
    return rc;
}

int nn_ckpt_read_model(const char *path, nn_layout *lo, float **params, char *err,
                       size_t errlen)
{
    nn_ckpt_info info;
    if (nn_ckpt_load(path, &info, params, NULL, NULL, err, errlen) != 0)
        return -1;
    *lo = info.lo;
    return 0;
}

/* ---------------------------------------------------------------- the directory */

void nn_ckpt_path(char *buf, size_t len, const char *dir, long epoch, long step)
{
    snprintf(buf, len, "%s/ckpt-e%06ld-s%09ld.h5", dir, epoch, step);
}

static int is_ckpt_name(const char *name)
{
    size_t n = strlen(name);
    return strncmp(name, "ckpt-e", 6) == 0 && n > 9 && strcmp(name + n - 3, ".h5") == 0;
}

static int cmp_desc(const void *a, const void *b)
{
    return strcmp(*(char *const *)b, *(char *const *)a);
}

void nn_ckpt_list_free(char **list, int n)
{
    for (int i = 0; i < n; i++)
        free(list[i]);
    free(list);
}

int nn_ckpt_list(const char *dir, char ***list)
{
    *list = NULL;
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    int n = 0, cap = 0;
    char **names = NULL;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!is_ckpt_name(e->d_name))
            continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 16;
            char **nn = realloc(names, (size_t)cap * sizeof *names);
            if (!nn)
                break;
            names = nn;
        }
        names[n] = strdup(e->d_name);
        if (names[n])
            n++;
    }
    closedir(d);
    qsort(names, (size_t)n, sizeof *names, cmp_desc);
    /* `latest` names the last complete write; put it first if it is in the list. */
    char lp[4096], latest[256] = "";
    snprintf(lp, sizeof lp, "%s/latest", dir);
    FILE *lf = fopen(lp, "r");
    if (lf) {
        if (fgets(latest, sizeof latest, lf))
            latest[strcspn(latest, "\n")] = '\0';
        fclose(lf);
    }
    for (int i = 1; i < n; i++)
        if (strcmp(names[i], latest) == 0) {
            char *t = names[i];
            memmove(names + 1, names, (size_t)i * sizeof *names);
            names[0] = t;
        }
    /* full paths */
    for (int i = 0; i < n; i++) {
        char *full = malloc(strlen(dir) + strlen(names[i]) + 2);
        if (full)
            sprintf(full, "%s/%s", dir, names[i]);
        free(names[i]);
        names[i] = full;
    }
    *list = names;
    return n;
}

int nn_ckpt_commit(const char *dir, const char *path, long keep, char *err, size_t errlen)
{
    char tmp[4096], latest[4096], pathcopy[4096];
    snprintf(tmp, sizeof tmp, "%s/latest.tmp", dir);
    snprintf(latest, sizeof latest, "%s/latest", dir);
    snprintf(pathcopy, sizeof pathcopy, "%s", path);
    const char *base = basename(pathcopy);
    FILE *f = fopen(tmp, "w");
    int ok = f && fprintf(f, "%s\n", base) > 0;
    if (f)
        ok = (fflush(f) == 0) & (fsync(fileno(f)) == 0) & (fclose(f) == 0) & ok;
    if (!ok || rename(tmp, latest) != 0) {
        snprintf(err, errlen, "%s: cannot update the latest pointer: %s", latest, strerror(errno));
        unlink(tmp);
        return -1;
    }
    nn_fsync_dir(dir);
    /* Prune by name order (= write order), never the file just written. */
    char **list;
    int n = nn_ckpt_list(dir, &list);
    if (n < 0)
        return 0;
    qsort(list, (size_t)n, sizeof *list, cmp_desc);
    long kept = 0;
    for (int i = 0; i < n; i++) {
        if (!list[i])
            continue;
        if (kept < keep || strcmp(list[i], path) == 0)
            kept++;
        else
            unlink(list[i]);
    }
    nn_ckpt_list_free(list, n);
    return 0;
}

void nn_ckpt_clean_tmp(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t n = strlen(e->d_name);
        if (strncmp(e->d_name, "ckpt-e", 6) == 0 && n > 7 && strcmp(e->d_name + n - 4, ".tmp") == 0) {
            char p[4096];
            snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
            unlink(p);
        }
    }
    closedir(d);
}
