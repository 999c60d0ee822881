/* qfile.c: the exported model file (nn_qfile.h, docs/export.md) and the one model loader.
 *
 * Built in memory and written in one piece (nn_h5mem.h), renamed into place. Datasets are
 * contiguous (no chunk index, no filter: the file stays small); the checksum over the model
 * and /preprocess stands in for Fletcher32, and a reader checks every array's type and shape
 * before it reads, and the structure (nn_qmodel_check) after, so a damaged file is refused
 * with one line and never indexes out of bounds. */
#include <errno.h>
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "nn_checkpoint.h"
#include "nn_fileio.h"
#include "nn_h5attr.h"
#include "nn_h5mem.h"
#include "nn_hash.h"
#include "nn_preprocess_h5.h"
#include "nn_qfile.h"

/* The checksum: the model, then /preprocess (method, vectors) when present, then /encoder. */
static uint64_t file_sum(const nn_qmodel *q, const nn_preprocess *pre)
{
    uint64_t h = nn_qmodel_hash(q, NN_FNV_OFFSET);
    if (pre && pre->x_shift && pre->x_min && pre->x_max) {
        h = nn_fnv1a(h, pre->x_min, (size_t)pre->d * sizeof(float));
        h = nn_fnv1a(h, pre->x_max, (size_t)pre->d * sizeof(float));
    }
    if (pre && pre->encoder)
        h = nn_fnv1a(h, pre->encoder, strlen(pre->encoder) + 1);
    if (pre && pre->x_shift) {
        int32_t dk[2] = {pre->d, pre->y_shift ? pre->k : 0};
        h = nn_fnv1a(h, pre->method, strlen(pre->method));
        h = nn_fnv1a(h, dk, sizeof dk);
        h = nn_fnv1a(h, pre->x_shift, (size_t)pre->d * sizeof(float));
        h = nn_fnv1a(h, pre->x_scale, (size_t)pre->d * sizeof(float));
        if (pre->y_shift) {
            h = nn_fnv1a(h, pre->y_shift, (size_t)pre->k * sizeof(float));
            h = nn_fnv1a(h, pre->y_scale, (size_t)pre->k * sizeof(float));
        }
    }
    return h;
}

/* ---------------------------------------------------------------- writing */

/* One contiguous 1-D or 2-D dataset of file type ft from memory type mt. */
static int array_write(hid_t g, const char *name, hid_t ft, hid_t mt, int rank, hsize_t d0,
                       hsize_t d1, const void *v)
{
    hsize_t dims[2] = {d0, d1};
    hid_t s = H5Screate_simple(rank, dims, NULL);
    hid_t d = s >= 0 ? H5Dcreate2(g, name, ft, s, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT) : -1;
    int rc = d >= 0 && (d0 * d1 == 0 || H5Dwrite(d, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, v) >= 0)
                 ? 0
                 : -1;
    if (d >= 0 && H5Dclose(d) < 0)
        rc = -1;
    if (s >= 0)
        H5Sclose(s);
    return rc;
}

static int layer_write(hid_t model, const nn_qmodel *q, int i)
{
    const nn_qlayer *l = &q->layer[i];
    char name[32];
    snprintf(name, sizeof name, "dense_%d", i);
    hid_t g = H5Gcreate2(model, name, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (g < 0)
        return -1;
    int rc = nn_h5_attr_str(g, "storage", nn_qstore_name(l->storage), 0);
    if (l->storage == NN_QSTORE_CSC) {
        rc |= array_write(g, "values", H5T_STD_I8LE, H5T_NATIVE_INT8, 1, l->nnz, 1,
                          nn_qlayer_codes(q, i));
        rc |= array_write(g, "row", H5T_STD_U16LE, H5T_NATIVE_UINT16, 1, l->nnz, 1,
                          nn_qlayer_idx(q, i));
        rc |= array_write(g, "col_ptr", H5T_STD_U32LE, H5T_NATIVE_UINT32, 1,
                          (hsize_t)l->out + 1, 1, nn_qlayer_ptr(q, i));
    } else {
        rc |= array_write(g, "kernel_q", H5T_STD_I8LE, H5T_NATIVE_INT8, 2, (hsize_t)l->in,
                          (hsize_t)l->out, nn_qlayer_codes(q, i));
    }
    rc |= array_write(g, "scale", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 1, (hsize_t)l->out, 1,
                      nn_qlayer_scale(q, i));
    rc |= array_write(g, "bias", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 1, (hsize_t)l->out, 1,
                      nn_qlayer_bias(q, i));
    H5Gclose(g);
    return rc;
}

/* A vector of /preprocess (nn_h5_vec_writer): contiguous, as the model's arrays. */
static int pre_vec(int64_t g, const char *name, size_t n, const float *v)
{
    return array_write(g, name, H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 1, (hsize_t)n, 1, v);
}

int nn_qfile_write(const char *path, const nn_qmodel *q, const nn_preprocess *pre,
                   const nn_qfile_meta *meta, char *err, size_t errlen)
{
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp) {
        snprintf(err, errlen, "%s: path too long", path);
        return -1;
    }
    const char *enc = pre ? pre->encoder : NULL; /* written whatever the scaling */
    hid_t f = nn_h5_mem_create(tmp);
    if (f < 0) {
        snprintf(err, errlen, "%s: cannot build the file in memory", tmp);
        return -1;
    }
    const nn_layout *lo = &q->lo;
    char when[32];
    time_t now = time(NULL);
    struct tm tmv;
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&now, &tmv));
    uint64_t sum = file_sum(q, pre);
    if (pre && !pre->x_shift)
        pre = NULL;
    int rc = nn_h5_attr_i64(f, "nnq_format", NN_QFILE_FORMAT);
    rc |= nn_h5_attr(f, "layers", H5T_STD_I32LE, H5T_NATIVE_INT, (size_t)lo->n_layers + 1,
                     lo->sizes);
    rc |= nn_h5_attr_str(f, "activation", nn_act_name(lo->act), 0);
    rc |= nn_h5_attr_str(f, "loss", nn_loss_name(lo->loss), 0);
    rc |= nn_h5_attr_str(f, "source", meta->source, 0);
    rc |= nn_h5_attr(f, "source_checksum", H5T_STD_U64LE, H5T_NATIVE_UINT64, 0,
                     &meta->source_checksum);
    rc |= nn_h5_attr_i64(f, "source_step", meta->source_step);
    rc |= nn_h5_attr_str(f, "program", "nn-predict " NN_VERSION, 0);
    rc |= nn_h5_attr_str(f, "created", when, 0);
    rc |= nn_h5_attr(f, "checksum", H5T_STD_U64LE, H5T_NATIVE_UINT64, 0, &sum);
    hid_t model = H5Gcreate2(f, "model", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    rc |= model < 0 ? -1 : 0;
    for (int i = 0; rc == 0 && i < lo->n_layers; i++)
        rc |= layer_write(model, q, i);
    if (model >= 0)
        H5Gclose(model);
    if (rc == 0 && pre) {
        nn_preprocess p = *pre; /* without the class weights: training only */
        p.class_weight = NULL;
        rc |= nn_preprocess_write_fid(f, &p, pre_vec);
    }
    if (rc == 0 && enc)
        rc |= nn_encoder_write_fid(f, enc);
    rc = nn_h5_mem_save(f, rc == 0, tmp);
    if (rc < 0) {
        snprintf(err, errlen, "%s: building the file failed (out of memory?)", path);
        return -1;
    }
    if (rc != 0) {
        snprintf(err, errlen, "%s: writing failed: %s", tmp, strerror(rc));
        unlink(tmp);
        return -1;
    }
    if ((rc = nn_rename_durable(tmp, path)) != 0) {
        snprintf(err, errlen, "%s: cannot rename into place: %s", path, strerror(rc));
        unlink(tmp);
        return -1;
    }
    return 0;
}

/* ---------------------------------------------------------------- reading */

static int ends_with(const char *s, const char *tail)
{
    size_t n = strlen(s), t = strlen(tail);
    return n >= t && strcmp(s + n - t, tail) == 0;
}

int nn_qfile_is(const char *path)
{
    if (ends_with(path, ".nnq"))
        return 1;
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
        return 0;
    nn_input_guard_arm(path);
    int is = 0;
    if (H5Fis_hdf5(path) > 0) {
        hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
        if (f >= 0) {
            is = H5Aexists(f, "nnq_format") > 0;
            H5Fclose(f);
        }
    }
    nn_input_guard_disarm();
    return is;
}

/* Dataset name of group g: its type class and size must be (cls, size) and its shape
 * (d0) or (d0, d1); read into out as memory type mt. 0 or -1. */
static int array_read(hid_t g, const char *name, H5T_class_t cls, size_t size, hid_t mt,
                      int rank, hsize_t d0, hsize_t d1, void *out)
{
    if (H5Lexists(g, name, H5P_DEFAULT) <= 0)
        return -1;
    hid_t d = H5Dopen2(g, name, H5P_DEFAULT);
    hid_t t = d >= 0 ? H5Dget_type(d) : -1, s = d >= 0 ? H5Dget_space(d) : -1;
    hsize_t dims[2] = {0, 0};
    int ok = t >= 0 && s >= 0 && H5Tget_class(t) == cls && H5Tget_size(t) == size &&
             H5Sget_simple_extent_ndims(s) == rank &&
             H5Sget_simple_extent_dims(s, dims, NULL) == rank && dims[0] == d0 &&
             (rank == 1 || dims[1] == d1);
    if (ok && d0 * d1 > 0)
        ok = H5Dread(d, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, out) >= 0;
    if (s >= 0)
        H5Sclose(s);
    if (t >= 0)
        H5Tclose(t);
    if (d >= 0)
        H5Dclose(d);
    return ok ? 0 : -1;
}

/* Length of a 1-D dataset, or -1. */
static long long array_len(hid_t g, const char *name)
{
    if (H5Lexists(g, name, H5P_DEFAULT) <= 0)
        return -1;
    hid_t d = H5Dopen2(g, name, H5P_DEFAULT);
    hid_t s = d >= 0 ? H5Dget_space(d) : -1;
    long long n = s >= 0 && H5Sget_simple_extent_ndims(s) == 1
                      ? (long long)H5Sget_simple_extent_npoints(s)
                      : -1;
    if (s >= 0)
        H5Sclose(s);
    if (d >= 0)
        H5Dclose(d);
    return n;
}

/* The model's layout from the root attributes. 0, or -1 with err. */
static int read_layout(hid_t f, const char *what, const char *path, nn_layout *lo, char *err,
                       size_t errlen)
{
    int sizes[NN_MAX_LAYERS + 1], n = 0;
    char act[32], loss[32], why[256];
    int64_t format = 0;
    if (nn_h5_attr_get_int(f, "nnq_format", H5T_NATIVE_INT64, &format) != 0) {
        snprintf(err, errlen, "%s %s: not an exported model (no nnq_format attribute; "
                 "nn-predict --export writes them, docs/export.md)", what, path);
        return -1;
    }
    if (format != NN_QFILE_FORMAT) {
        snprintf(err, errlen, "%s %s: exported model format %lld; this program reads format "
                 "%d", what, path, (long long)format, NN_QFILE_FORMAT);
        return -1;
    }
    if (nn_h5_attr_get_ints(f, "layers", sizes, 2, NN_MAX_LAYERS + 1, &n) != 0 ||
        nn_h5_attr_get_str(f, "activation", act, sizeof act) != 0 ||
        nn_h5_attr_get_str(f, "loss", loss, sizeof loss) != 0) {
        snprintf(err, errlen, "%s %s: the layers, activation or loss attribute is missing or "
                 "malformed (damaged exported model)", what, path);
        return -1;
    }
    int a = nn_act_from_name(act);
    nn_loss l = strcmp(loss, nn_loss_name(NN_LOSS_XENT)) == 0 ? NN_LOSS_XENT : NN_LOSS_MSE;
    if (a < 0 || (l == NN_LOSS_MSE && strcmp(loss, nn_loss_name(NN_LOSS_MSE)) != 0)) {
        snprintf(err, errlen, "%s %s: activation '%s', loss '%s'; expected names nn-train "
                 "writes (damaged exported model)", what, path, act, loss);
        return -1;
    }
    if (nn_layout_init(lo, sizes, n - 1, (nn_act)a, l, why, sizeof why) != 0) {
        snprintf(err, errlen, "%s %s: layers: %s (damaged exported model)", what, path, why);
        return -1;
    }
    return 0;
}

/* Every layer's arrays, shapes checked against the layout before the blob is sized. */
static int read_layers(hid_t f, const nn_layout *lo, nn_qmodel *q, char *err, size_t errlen,
                       int *layer)
{
    int storage[NN_MAX_LAYERS];
    uint64_t nnz[NN_MAX_LAYERS];
    hid_t g[NN_MAX_LAYERS];
    int rc = -1, opened = 0;
    for (int i = 0; i < lo->n_layers; i++, opened++) {
        char name[48], st[16];
        snprintf(name, sizeof name, "/model/dense_%d", i);
        *layer = i;
        g[i] = H5Lexists(f, "/model", H5P_DEFAULT) > 0 && H5Lexists(f, name, H5P_DEFAULT) > 0
                   ? H5Gopen2(f, name, H5P_DEFAULT)
                   : -1;
        if (g[i] < 0 || nn_h5_attr_get_str(g[i], "storage", st, sizeof st) != 0)
            goto done;
        storage[i] = strcmp(st, "csc") == 0 ? NN_QSTORE_CSC : NN_QSTORE_INT8;
        if (storage[i] == NN_QSTORE_INT8 && strcmp(st, "int8") != 0)
            goto done;
        long long n = storage[i] == NN_QSTORE_CSC ? array_len(g[i], "values") : 0;
        if (n < 0)
            goto done;
        nnz[i] = (uint64_t)n;
    }
    *layer = -1;
    if (nn_qmodel_alloc(q, lo, storage, nnz, err, errlen) != 0) {
        rc = -2;
        goto done;
    }
    for (int i = 0; i < lo->n_layers; i++) {
        const nn_qlayer *l = &q->layer[i];
        unsigned char *b = q->blob;
        *layer = i;
        int bad = array_read(g[i], "scale", H5T_FLOAT, 4, H5T_NATIVE_FLOAT, 1,
                             (hsize_t)l->out, 1, b + l->scale) != 0 ||
                  array_read(g[i], "bias", H5T_FLOAT, 4, H5T_NATIVE_FLOAT, 1, (hsize_t)l->out,
                             1, b + l->bias) != 0;
        if (l->storage == NN_QSTORE_CSC)
            bad = bad ||
                  array_read(g[i], "values", H5T_INTEGER, 1, H5T_NATIVE_INT8, 1, l->nnz, 1,
                             b + l->codes) != 0 ||
                  array_read(g[i], "row", H5T_INTEGER, 2, H5T_NATIVE_UINT16, 1, l->nnz, 1,
                             b + l->idx) != 0 ||
                  array_read(g[i], "col_ptr", H5T_INTEGER, 4, H5T_NATIVE_UINT32, 1,
                             (hsize_t)l->out + 1, 1, b + l->ptr) != 0;
        else
            bad = bad || array_read(g[i], "kernel_q", H5T_INTEGER, 1, H5T_NATIVE_INT8, 2,
                                    (hsize_t)l->in, (hsize_t)l->out, b + l->codes) != 0;
        if (bad)
            goto done;
    }
    rc = 0;
done:
    for (int i = 0; i < opened; i++)
        if (g[i] >= 0)
            H5Gclose(g[i]);
    return rc;
}

int nn_qfile_read(const char *what, const char *path, nn_qmodel *q, nn_preprocess *pre_out,
                  nn_qfile_meta *meta_out, char *err, size_t errlen)
{
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    memset(q, 0, sizeof *q);
    nn_preprocess pre;
    nn_preprocess_init(&pre);
    struct stat st;
    if (stat(path, &st) != 0 || access(path, R_OK) != 0) {
        snprintf(err, errlen, "%s %s: cannot open the exported model: %s", what, path,
                 strerror(errno));
        return -1;
    }
    if (!S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "%s %s: not a regular file (expected an exported model, "
                 "FILE.nnq)", what, path);
        return -1;
    }
    nn_input_guard_arm(path);
    hid_t f = H5Fis_hdf5(path) > 0 ? H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT) : -1;
    if (f < 0) {
        snprintf(err, errlen, "%s %s: not a readable HDF5 file (truncated or damaged exported "
                 "model?)", what, path);
        nn_input_guard_disarm();
        return -1;
    }
    nn_qfile_meta meta;
    memset(&meta, 0, sizeof meta);
    nn_layout lo;
    uint64_t sum = 0;
    int rc = -1, layer = -1;
    char why[256];
    if (read_layout(f, what, path, &lo, err, errlen) != 0)
        goto done;
    if (nn_h5_attr_get_int(f, "checksum", H5T_NATIVE_UINT64, &sum) != 0 ||
        nn_h5_attr_get_str(f, "source", meta.source, sizeof meta.source) != 0 ||
        nn_h5_attr_get_int(f, "source_checksum", H5T_NATIVE_UINT64, &meta.source_checksum) != 0 ||
        nn_h5_attr_get_int(f, "source_step", H5T_NATIVE_INT64, &meta.source_step) != 0) {
        snprintf(err, errlen, "%s %s: a root attribute (checksum, source, source_checksum, "
                 "source_step) is missing or malformed (damaged exported model)", what, path);
        goto done;
    }
    int lr = read_layers(f, &lo, q, why, sizeof why, &layer);
    if (lr == -2) {
        snprintf(err, errlen, "%s %s: %s", what, path, why);
        goto done;
    }
    if (lr != 0) {
        snprintf(err, errlen, "%s %s: /model/dense_%d is missing, of the wrong type or shape, "
                 "or unreadable (damaged exported model)", what, path, layer);
        goto done;
    }
    if (nn_preprocess_read_fid(f, path, &pre, why, sizeof why) != 0) {
        snprintf(err, errlen, "%s %s", what, why);
        goto done;
    }
    if (nn_encoder_read_fid(f, &pre.encoder) != 0) {
        snprintf(err, errlen, "%s %s: /encoder is not one readable string (damaged exported "
                 "model)", what, path);
        goto done;
    }
    if (file_sum(q, &pre) != sum) {
        snprintf(err, errlen, "%s %s: checksum does not match the contents (damaged exported "
                 "model)", what, path);
        goto done;
    }
    if (nn_qmodel_check(q, why, sizeof why) != 0) {
        snprintf(err, errlen, "%s %s: %s (damaged exported model)", what, path, why);
        goto done;
    }
    rc = 0;
done:
    H5Fclose(f);
    nn_input_guard_disarm();
    if (rc != 0)
        nn_qmodel_free(q);
    if (rc == 0 && pre_out)
        *pre_out = pre;
    else
        nn_preprocess_free(&pre);
    if (rc == 0 && meta_out)
        *meta_out = meta;
    return rc;
}

/* ---------------------------------------------------------------- the one loader */

int nn_model_read(const char *what, const char *path, nn_layout *lo, float **params,
                  nn_qmodel *q, nn_preprocess *pre, nn_qfile_meta *origin, char *err,
                  size_t errlen)
{
    *params = NULL;
    memset(q, 0, sizeof *q);
    if (nn_qfile_is(path)) {
        if (nn_qfile_read(what, path, q, pre, origin, err, errlen) != 0)
            return -1;
        *lo = q->lo;
        return 0;
    }
    nn_ckpt_info info;
    if (nn_ckpt_precheck(what, path, err, errlen) != 0 ||
        nn_ckpt_load(path, &info, params, NULL, NULL, pre, err, errlen) != 0)
        return -1;
    *lo = info.lo;
    if (origin) {
        snprintf(origin->source, sizeof origin->source, "%s", path);
        origin->source_checksum = info.checksum;
        origin->source_step = (int64_t)info.meta.step;
    }
    return 0;
}
