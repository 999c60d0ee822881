/* checkpoint.c: HDF5 checkpoints (layout: docs/checkpoint.md) and the checkpoint directory.
 *
 * A checkpoint is written to "<path>.tmp", flushed, fsync'ed and renamed over path, and the
 * directory is fsync'ed, so a reader sees either the old file or the complete new one.
 * Tensors are chunked with HDF5's Fletcher32 checksum filter, and a checksum over the whole
 * state (state_checksum: the tensors and every attribute a run reads, nn_ckpt_attrs.h)
 * catches what Fletcher32 cannot: a wrong but well-formed value. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <hdf5.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nn_checkpoint.h"
#include "nn_ckpt_attrs.h"
#include "nn_fileio.h"
#include "nn_h5attr.h"
#include "nn_h5mem.h"
#include "nn_preprocess_h5.h"

/* Attribute a of the table (nn_ckpt_attrs.h), its value at x, onto its group of f. */
static int attr_put(hid_t f, const nn_attr_spec *a, const void *x)
{
    hid_t obj = H5Oopen(f, a->group, H5P_DEFAULT);
    if (obj < 0)
        return -1;
    int rc = -1;
    switch (a->type) {
    case NN_AT_I64: rc = nn_h5_attr(obj, a->name, H5T_NATIVE_INT64, H5T_NATIVE_INT64, 0, x); break;
    case NN_AT_U64: rc = nn_h5_attr(obj, a->name, H5T_NATIVE_UINT64, H5T_NATIVE_UINT64, 0, x); break;
    case NN_AT_F64: rc = nn_h5_attr_f64(obj, a->name, *(const double *)x); break;
    case NN_AT_STR: rc = nn_h5_attr_str(obj, a->name, x, 0); break;
    case NN_AT_I32S: {
        const nn_ckpt_sizes *sz = x;
        rc = nn_h5_attr(obj, a->name, H5T_NATIVE_INT, H5T_NATIVE_INT, (size_t)sz->n, sz->a);
        break;
    }
    }
    H5Oclose(obj);
    return rc;
}

/* One dataset of file type ft from memory type mt (elements of elem bytes), chunked (at most
 * ~1 MiB per chunk) with a Fletcher32 checksum. */
static int dataset_write(hid_t g, const char *name, int rank, hsize_t d0, hsize_t d1, hid_t ft,
                         hid_t mt, size_t elem, const void *v)
{
    hsize_t dims[2] = {d0, d1}, chunk[2] = {d0, d1};
    /* At most 1 MiB of elements per chunk, the rows shared evenly so no chunk is mostly empty. */
    hsize_t row = rank == 2 ? d1 : 1;
    hsize_t max_rows = ((hsize_t)1048576 / elem + row - 1) / row;
    hsize_t nchunks = (d0 + max_rows - 1) / max_rows;
    chunk[0] = (d0 + nchunks - 1) / nchunks;
    hid_t s = H5Screate_simple(rank, dims, NULL);
    hid_t p = H5Pcreate(H5P_DATASET_CREATE);
    H5Pset_chunk(p, rank, chunk);
    H5Pset_fletcher32(p);
    hid_t d = H5Dcreate2(g, name, ft, s, H5P_DEFAULT, p, H5P_DEFAULT);
    int rc = (d >= 0 && H5Dwrite(d, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, v) >= 0) ? 0 : -1;
    if (d >= 0 && H5Dclose(d) < 0) /* writes the chunks into the in-memory file */
        rc = -1;
    H5Pclose(p);
    H5Sclose(s);
    return rc;
}

/* One float32 tensor (~256 Ki floats per chunk). */
static int tensor_write(hid_t g, const char *name, int rank, hsize_t d0, hsize_t d1,
                        const float *v)
{
    return dataset_write(g, name, rank, d0, d1, H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, sizeof(float),
                         v);
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

/* The pruning masks (format 4, docs/shrink.md): /prune/dense_<i>/mask, uint8 [in, out], 1
 * where the kernel's weight is kept, chunked with Fletcher32 like the tensors. mask has
 * n_params bytes in the flat layout; only the kernels' are stored. */
static int masks_write(hid_t f, const nn_layout *lo, const unsigned char *mask)
{
    hid_t g = H5Gcreate2(f, "prune", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    int rc = g >= 0 ? 0 : -1;
    for (int i = 0; rc == 0 && i < lo->n_layers; i++) {
        char lname[32];
        snprintf(lname, sizeof lname, "dense_%d", i);
        hid_t l = H5Gcreate2(g, lname, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
        if (l < 0 || dataset_write(l, "mask", 2, (hsize_t)lo->sizes[i],
                                   (hsize_t)lo->sizes[i + 1], H5T_STD_U8LE, H5T_NATIVE_UCHAR, 1,
                                   mask + lo->w_off[i]) != 0)
            rc = -1;
        if (l >= 0)
            H5Gclose(l);
    }
    if (g >= 0)
        H5Gclose(g);
    return rc;
}

/* Reads /prune/dense_<i>/mask (shapes checked) into out (n_params bytes, the biases' set to
 * 1) or, with out NULL, through scratch (the largest kernel's bytes); each kernel's bytes go
 * into the running checksum *h. -1 when one is missing, misshapen or fails Fletcher32. */
static int masks_read(hid_t f, const nn_layout *lo, unsigned char *out, unsigned char *scratch,
                      uint64_t *h)
{
    for (int i = 0; i < lo->n_layers; i++) {
        char dn[64];
        snprintf(dn, sizeof dn, "/prune/dense_%d/mask", i);
        size_t in = (size_t)lo->sizes[i], o = (size_t)lo->sizes[i + 1];
        unsigned char *dst = out ? out + lo->w_off[i] : scratch;
        hid_t d = H5Dopen2(f, dn, H5P_DEFAULT);
        if (d < 0)
            return -1;
        hid_t sp = H5Dget_space(d), t = H5Dget_type(d);
        hsize_t dims[2] = {0, 0};
        int ok = sp >= 0 && t >= 0 && H5Tget_class(t) == H5T_INTEGER && H5Tget_size(t) == 1 &&
                 H5Sget_simple_extent_ndims(sp) == 2 &&
                 H5Sget_simple_extent_dims(sp, dims, NULL) == 2 && dims[0] == in && dims[1] == o &&
                 H5Dread(d, H5T_NATIVE_UCHAR, H5S_ALL, H5S_ALL, H5P_DEFAULT, dst) >= 0;
        if (t >= 0)
            H5Tclose(t);
        if (sp >= 0)
            H5Sclose(sp);
        H5Dclose(d);
        if (!ok)
            return -1;
        *h = nn_fnv1a(*h, dst, in * o);
        if (out)
            memset(out + lo->b_off[i], 1, o);
    }
    return 0;
}

/* A vector of /preprocess (nn_h5_vec_writer): a tensor, as the model's. */
static int pre_vec(int64_t g, const char *name, size_t n, const float *v)
{
    return tensor_write(g, name, 1, (hsize_t)n, 1, v);
}

/* The groups of a checkpoint: /model, /optimizer with the buffers present (m and v, or m as
 * the momentum buffer), and /preprocess when pre is not NULL. 0, or -1 on any failure. */
static int groups_write(hid_t f, const nn_layout *lo, const float *params, const float *m,
                        const float *v, const nn_preprocess *pre)
{
    int rc = tensors_write(f, "model", lo, params);
    hid_t o = H5Gcreate2(f, "optimizer", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (o >= 0) {
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
    if (pre) /* the scaling nn-predict applies (nn_preprocess.h) */
        rc |= nn_preprocess_write_fid(f, pre, pre_vec);
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

int nn_ckpt_write(const char *path, const nn_layout *lo, const float *params,
                  const nn_opt_hparams *hp, const float *m, const float *v,
                  const nn_ckpt_meta *meta, const nn_preprocess *pre, char *err,
                  size_t errlen)
{
    return nn_ckpt_write_masked(path, lo, params, hp, m, v, NULL, meta, pre, err, errlen);
}

int nn_ckpt_write_masked(const char *path, const nn_layout *lo, const float *params,
                         const nn_opt_hparams *hp, const float *m, const float *v,
                         const unsigned char *mask, const nn_ckpt_meta *meta,
                         const nn_preprocess *pre, char *err, size_t errlen)
{
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp) {
        snprintf(err, errlen, "%s: checkpoint path too long", path);
        return -1;
    }
    /* Built in memory and written in one piece (nn_h5mem.h): every I/O error is ours to see. */
    hid_t f = nn_h5_mem_create(tmp);
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
    /* The state checksum over what the file will hold: the tensors, then every covered
     * attribute's value and /preprocess (nn_ckpt_attrs.h), exactly as they are written. */
    nn_ckpt_meta val = *meta;
    nn_ckpt_meta_finish(&val, lo, hp, when);
    const char *enc = pre ? pre->encoder : NULL; /* /encoder: written whatever the scaling */
    if (!nn_ckpt_pre_present(pre))
        pre = NULL;
    size_t bytes = lo->n_params * sizeof(float);
    uint64_t sum = nn_fnv1a(NN_FNV_OFFSET, params, bytes);
    if (m)
        sum = nn_fnv1a(sum, m, bytes);
    if (v)
        sum = nn_fnv1a(sum, v, bytes);
    /* the masks, when given, after the optimizer buffers */
    for (int i = 0; mask && i < lo->n_layers; i++)
        sum = nn_fnv1a(sum, mask + lo->w_off[i], (size_t)lo->sizes[i] * lo->sizes[i + 1]);
    sum = nn_ckpt_sum_finish(sum, NN_CKPT_FORMAT_VERSION, &val, pre);
    if (enc) /* the encoder's text last, when there is one (older files: the same sum) */
        sum = nn_fnv1a(sum, enc, strlen(enc));

    int rc = groups_write(f, lo, params, m, v, pre);
    if (mask)
        rc |= masks_write(f, lo, mask);
    if (enc)
        rc |= nn_encoder_write_fid(f, enc);
    for (int k = 0; k < NN_A_N; k++)
        rc |= attr_put(f, &nn_ckpt_attrs[k], nn_ckpt_attr_in(&val, k));
    rc |= nn_h5_attr(f, "state_checksum", H5T_NATIVE_UINT64, H5T_NATIVE_UINT64, 0, &sum);
    rc = nn_h5_mem_save(f, rc == 0, tmp);
    if (rc < 0) {
        snprintf(err, errlen, "%s: building the checkpoint failed (out of memory?)", path);
        return -1;
    }
    if (rc != 0) {
        snprintf(err, errlen, "%s: writing the checkpoint failed: %s; any earlier checkpoint is "
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

/* ---------------------------------------------------------------- reading */

static const nn_attr_spec state_checksum_spec = {"/", "state_checksum", NN_AT_U64, 0, 0};

/* Reads attribute a into x (a string: a->len bytes; the layer sizes: an nn_ckpt_sizes). -1
 * when it is missing or not of its type and shape, or a string is longer than the reader
 * keeps: nothing is converted silently but numbers (to their width; nn_h5attr.h). */
static int attr_get(hid_t f, const nn_attr_spec *a, void *x)
{
    hid_t obj = H5Oopen(f, a->group, H5P_DEFAULT);
    if (obj < 0)
        return -1;
    int rc = -1;
    switch (a->type) {
    case NN_AT_I64: rc = nn_h5_attr_get_int(obj, a->name, H5T_NATIVE_INT64, x); break;
    case NN_AT_U64: rc = nn_h5_attr_get_int(obj, a->name, H5T_NATIVE_UINT64, x); break;
    case NN_AT_F64: rc = nn_h5_attr_get_f64(obj, a->name, x); break;
    case NN_AT_STR: rc = nn_h5_attr_get_str(obj, a->name, x, a->len); break;
    case NN_AT_I32S: {
        nn_ckpt_sizes *sz = x;
        rc = nn_h5_attr_get_ints(obj, a->name, sz->a, 2, a->len, &sz->n);
        break;
    }
    }
    H5Oclose(obj);
    return rc;
}

static const char *type_text(const nn_attr_spec *a, char *buf, size_t len)
{
    switch (a->type) {
    case NN_AT_I64: return "an int64 scalar";
    case NN_AT_U64: return "a uint64 scalar";
    case NN_AT_F64: return "a float64 scalar";
    case NN_AT_STR:
        snprintf(buf, len, "a fixed-length string of at most %zu bytes", a->len - 1);
        return buf;
    case NN_AT_I32S:
        snprintf(buf, len, "an int32 array of 2 to %zu sizes", a->len);
        return buf;
    }
    return "";
}

/* Every attribute of the table into info->meta, format_version first: a file of another
 * format may hold others. Then the model and optimizer from them, and the stored
 * state_checksum. */
static int read_info(hid_t f, const char *path, nn_ckpt_info *info, char *err, size_t errlen)
{
    memset(info, 0, sizeof *info);
    nn_ckpt_meta *meta = &info->meta;
    if (attr_get(f, &nn_ckpt_attrs[NN_A_format_version], &meta->format_version) != 0) {
        snprintf(err, errlen, "%s: not an nn-train checkpoint (no format_version attribute)",
                 path);
        return -1;
    }
    long long version = (long long)meta->format_version;
    if (version < NN_CKPT_FORMAT_OLDEST || version > NN_CKPT_FORMAT_VERSION) {
        snprintf(err, errlen, "%s: checkpoint format_version %lld; this nn-train reads versions "
                 "%d to %d", path, version, NN_CKPT_FORMAT_OLDEST, NN_CKPT_FORMAT_VERSION);
        return -1;
    }
    const nn_attr_spec *bad = NULL;
    for (int k = 0; k < NN_A_N && !bad; k++) {
        if (k == NN_A_format_version)
            continue;
        /* The rows new in formats 3 and 4 mean "none" (strings) or 0 (numbers) in an older
         * file (no target scaling, no class weights, no pruning, no teacher: what those runs
         * did); meta was zeroed above. */
        if (nn_ckpt_attr_since(k) > version) {
            if (nn_ckpt_attrs[k].type == NN_AT_STR)
                snprintf(nn_ckpt_attr_at(meta, k), nn_ckpt_attrs[k].len, "none");
            continue;
        }
        if (attr_get(f, &nn_ckpt_attrs[k], nn_ckpt_attr_at(meta, k)) != 0)
            bad = &nn_ckpt_attrs[k];
    }
    uint64_t sum = 0;
    if (!bad && attr_get(f, &state_checksum_spec, &sum) != 0)
        bad = &state_checksum_spec;
    if (bad) {
        char why[96];
        snprintf(err, errlen, "%s: %s: %s is missing or not %s (damaged checkpoint)", path,
                 strcmp(bad->group, "/model") == 0 ? "/model or its attributes are missing or "
                                                     "malformed"
                 : strcmp(bad->group, "/optimizer") == 0 ? "/optimizer or its attributes are "
                                                           "missing or malformed"
                                                         : "a root attribute of the checkpoint is "
                                                           "missing or damaged",
                 bad->name, type_text(bad, why, sizeof why));
        return -1;
    }
    if (nn_ckpt_meta_model(info, path, err, errlen) != 0)
        return -1;
    info->checksum = sum;
    return 0;
}

/* Opens each tensor of group `name` mirroring /model and checks its shape, before anything is
 * allocated for it; -1 when one is missing or misshapen. */
static int tensors_check(hid_t f, const char *name, const nn_layout *lo)
{
    for (int i = 0; i < lo->n_layers; i++) {
        for (int k = 0; k < 2; k++) {
            char dn[96];
            snprintf(dn, sizeof dn, "%s/dense_%d/%s", name, i, k ? "bias" : "kernel");
            hid_t d = H5Lexists(f, name, H5P_DEFAULT) > 0 ? H5Dopen2(f, dn, H5P_DEFAULT) : -1;
            if (d < 0)
                return -1;
            hid_t s = H5Dget_space(d);
            hsize_t dims[2] = {0, 0};
            int nd = s >= 0 ? H5Sget_simple_extent_ndims(s) : -1;
            int ok = nd == 2 - k && H5Sget_simple_extent_dims(s, dims, NULL) == nd &&
                     (k ? dims[0] == (hsize_t)lo->sizes[i + 1]
                        : dims[0] == (hsize_t)lo->sizes[i] && dims[1] == (hsize_t)lo->sizes[i + 1]);
            if (s >= 0)
                H5Sclose(s);
            H5Dclose(d);
            if (!ok)
                return -1;
        }
    }
    return 0;
}

/* Reads group `name` (shapes checked) in the flat buffer's order, kernel then bias layer by
 * layer, into out (n_params floats) or, with out NULL, one tensor at a time through scratch;
 * every tensor's bytes go into the running checksum *h. -1 when a read fails (a Fletcher32
 * mismatch). */
static int tensors_read(hid_t f, const char *name, const nn_layout *lo, float *out,
                        float *scratch, uint64_t *h)
{
    for (int i = 0; i < lo->n_layers; i++) {
        const char *what[2] = {"kernel", "bias"};
        size_t count[2] = {(size_t)lo->sizes[i] * lo->sizes[i + 1], (size_t)lo->sizes[i + 1]};
        size_t off[2] = {lo->w_off[i], lo->b_off[i]};
        for (int k = 0; k < 2; k++) {
            char dn[96];
            snprintf(dn, sizeof dn, "%s/dense_%d/%s", name, i, what[k]);
            float *dst = out ? out + off[k] : scratch;
            hid_t d = H5Dopen2(f, dn, H5P_DEFAULT);
            int ok = d >= 0 &&
                     H5Dread(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, dst) >= 0;
            if (d >= 0)
                H5Dclose(d);
            if (!ok)
                return -1;
            *h = nn_fnv1a(*h, dst, count[k] * sizeof(float));
        }
    }
    return 0;
}

/* The one load: attributes, /preprocess, tensors, then the state checksum over them all. */
static int load_fid(hid_t f, const char *path, nn_ckpt_info *info, float **params, float **m,
                    float **v, unsigned char **mask, nn_preprocess *pre_out, char *err,
                    size_t errlen)
{
    float *buf[3] = {NULL, NULL, NULL}, *scratch = NULL;
    unsigned char *mbuf = NULL;
    if (mask)
        *mask = NULL;
    float **out[3] = {params, m, v};
    nn_preprocess pre;
    nn_preprocess_init(&pre);
    int rc = -1;
    if (read_info(f, path, info, err, errlen) != 0 ||
        nn_preprocess_read_fid(f, path, &pre, err, errlen) != 0)
        goto done;
    if (nn_encoder_read_fid(f, &pre.encoder) != 0) {
        snprintf(err, errlen, "%s: /encoder is not one readable string (damaged checkpoint)",
                 path);
        goto done;
    }
    const nn_layout *lo = &info->lo;
    int has[3] = {1, nn_ckpt_has_m(&info->hp), nn_ckpt_has_v(&info->hp)};
    const char *group[3] = {"/model", has[2] ? "/optimizer/m" : "/optimizer/momentum_buffer",
                            "/optimizer/v"};
    for (int k = 0; k < 3; k++)
        if (has[k] && tensors_check(f, group[k], lo) != 0) {
            snprintf(err, errlen, "%s: a tensor in %s is missing, of the wrong shape, or not "
                     "readable (damaged checkpoint)", path, group[k]);
            goto done;
        }
    size_t bytes = lo->n_params * sizeof(float), most = 1;
    for (int i = 0; i < lo->n_layers; i++)
        if ((size_t)lo->sizes[i] * lo->sizes[i + 1] > most)
            most = (size_t)lo->sizes[i] * lo->sizes[i + 1];
    uint64_t h = NN_FNV_OFFSET;
    for (int k = 0; k < 3; k++) {
        if (!has[k])
            continue;
        if (out[k])
            buf[k] = malloc(bytes ? bytes : 1);
        else if (!scratch)
            scratch = malloc(most * sizeof(float));
        if (out[k] ? !buf[k] : !scratch) {
            snprintf(err, errlen, "%s: out of memory", path);
            goto done;
        }
        if (tensors_read(f, group[k], lo, buf[k], scratch, &h) != 0) {
            snprintf(err, errlen, "%s: a tensor in %s is missing, of the wrong shape, or fails "
                     "its Fletcher32 checksum (damaged checkpoint)", path, group[k]);
            goto done;
        }
    }
    /* format 4: the pruning masks, when the file has them (docs/shrink.md) */
    info->has_mask = info->format_version >= 4 && H5Lexists(f, "/prune", H5P_DEFAULT) > 0;
    if (info->has_mask) {
        unsigned char *ms = NULL;
        if (mask)
            mbuf = malloc(lo->n_params ? lo->n_params : 1);
        else
            ms = malloc(most);
        int ok = (mask ? mbuf != NULL : ms != NULL) && masks_read(f, lo, mbuf, ms, &h) == 0;
        free(ms);
        if (!ok) {
            snprintf(err, errlen, "%s: a mask in /prune is missing, of the wrong shape or type, "
                     "or fails its Fletcher32 checksum (damaged checkpoint)", path);
            goto done;
        }
    }
    uint64_t sum = nn_ckpt_sum_finish(h, info->format_version, &info->meta, &pre);
    if (pre.encoder)
        sum = nn_fnv1a(sum, pre.encoder, strlen(pre.encoder));
    if (sum != info->checksum) {
        snprintf(err, errlen, "%s: state_checksum does not match the contents%s (damaged "
                 "checkpoint)", path, info->format_version >= 2 ? ": a tensor or an attribute "
                 "was changed" : "");
        goto done;
    }
    rc = 0;
done:
    free(scratch);
    if (rc == 0 && mask)
        *mask = mbuf;
    else
        free(mbuf);
    for (int k = 0; k < 3; k++) {
        if (rc == 0 && out[k]) {
            *out[k] = buf[k];
        } else {
            free(buf[k]);
            if (out[k])
                *out[k] = NULL;
        }
    }
    if (rc == 0 && pre_out) {
        *pre_out = pre;
    } else {
        nn_preprocess_free(&pre);
        if (pre_out)
            nn_preprocess_init(pre_out);
    }
    return rc;
}

int nn_ckpt_load(const char *path, nn_ckpt_info *info, float **params, float **m, float **v,
                 nn_preprocess *pre, char *err, size_t errlen)
{
    return nn_ckpt_load_masked(path, info, params, m, v, NULL, pre, err, errlen);
}

int nn_ckpt_load_masked(const char *path, nn_ckpt_info *info, float **params, float **m,
                        float **v, unsigned char **mask, nn_preprocess *pre, char *err,
                        size_t errlen)
{
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    struct stat st;
    if (access(path, R_OK) != 0 || stat(path, &st) != 0) {
        snprintf(err, errlen, "%s: cannot open checkpoint: %s", path, strerror(errno));
        return -1;
    }
    if (S_ISDIR(st.st_mode)) {
        snprintf(err, errlen, "%s: is a directory, not a checkpoint file (for the newest "
                 "checkpoint in a directory, use --checkpoint-dir DIR --resume auto)", path);
        return -1;
    }
    nn_input_guard_arm(path);
    hid_t f = H5Fis_hdf5(path) > 0 ? H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT) : -1;
    if (f < 0) {
        snprintf(err, errlen, "%s: not a readable HDF5 file (truncated or damaged checkpoint?)",
                 path);
        nn_input_guard_disarm();
        return -1;
    }
    int rc = load_fid(f, path, info, params, m, v, mask, pre, err, errlen);
    H5Fclose(f);
    nn_input_guard_disarm();
    return rc;
}

int nn_ckpt_load_fid(int64_t f, const char *path, nn_ckpt_info *info, float **params,
                     float **m, float **v, char *err, size_t errlen)
{
    return load_fid(f, path, info, params, m, v, NULL, NULL, err, errlen);
}

int nn_ckpt_read_model(const char *path, nn_layout *lo, float **params, nn_preprocess *pre,
                       char *err, size_t errlen)
{
    nn_ckpt_info info;
    if (nn_ckpt_load(path, &info, params, NULL, NULL, pre, err, errlen) != 0)
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

int nn_ckpt_precheck(const char *what, const char *path, char *err, size_t errlen)
{
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    struct stat st;
    if (stat(path, &st) != 0 || access(path, R_OK) != 0) {
        snprintf(err, errlen, "%s %s: cannot open the checkpoint: %s", what, path,
                 strerror(errno));
        return -1;
    }
    if (!S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "%s %s: not a regular file (expected a checkpoint file, "
                 "e.g. ckpt/ckpt-e000010-s000000420.h5)",
                 what, path);
        return -1;
    }
    nn_input_guard_arm(path);
    if (H5Fis_hdf5(path) <= 0) {
        snprintf(err, errlen, "%s %s: not an HDF5 file (expected a checkpoint written by "
                 "nn-train)",
                 what, path);
        nn_input_guard_disarm();
        return -1;
    }
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0) {
        snprintf(err, errlen, "%s %s: HDF5 cannot open it (truncated or damaged "
                 "checkpoint?)",
                 what, path);
        nn_input_guard_disarm();
        return -1;
    }
    int rc = -1;
    long long version = 0;
    if (H5Aexists(f, "format_version") <= 0 || H5Lexists(f, "/model", H5P_DEFAULT) <= 0) {
        snprintf(err, errlen, "%s %s: not an nn-train checkpoint (no format_version "
                 "attribute or /model group; see docs/checkpoint.md)",
                 what, path);
    } else {
        hid_t a = H5Aopen(f, "format_version", H5P_DEFAULT);
        if (a < 0 || H5Aread(a, H5T_NATIVE_LLONG, &version) < 0)
            snprintf(err, errlen, "%s %s: the format_version attribute is unreadable",
                     what, path);
        else if (version < NN_CKPT_FORMAT_OLDEST || version > NN_CKPT_FORMAT_VERSION)
            snprintf(err, errlen, "%s %s: checkpoint format_version %lld; this nn-predict "
                     "reads versions %d to %d",
                     what, path, version, NN_CKPT_FORMAT_OLDEST, NN_CKPT_FORMAT_VERSION);
        else
            rc = 0;
        if (a >= 0)
            H5Aclose(a);
    }
    H5Fclose(f);
    nn_input_guard_disarm();
    return rc;
}
