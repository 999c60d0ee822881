/* h5write.c: the streamed, chunked, compressed data-file writer of nn_h5write.h. A split keeps
 * one chunk of rows in memory; when it fills, the datasets grow by a chunk (H5Dset_extent) and
 * the rows go out in one hyperslab write, aligned to the chunk grid so HDF5 compresses each
 * chunk exactly once. */
#include <errno.h>
#include <fcntl.h>
#include <hdf5.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nn_fileio.h"
#include "nn_h5write.h"

#define MAX_SPLITS 4

struct nn_h5w_split {
    nn_h5w *w;
    char name[32];
    size_t d, k;          /* k == 0: int32 labels */
    size_t chunk;         /* rows per chunk and per buffer */
    size_t nbuf, nrows;   /* rows buffered; rows written */
    float *xbuf;          /* (chunk, d) */
    void *ybuf;           /* (chunk) int32 or (chunk, k) float */
    hid_t dx, dy;
};

struct nn_h5w {
    char *path, *tmp;
    hid_t f;
    nn_h5w_split *splits[MAX_SPLITS];
    int nsplits;
};

nn_h5w *nn_h5w_create(const char *path, char *err, size_t errlen)
{
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL); /* errors are reported in one line, by us */
    nn_h5w *w = calloc(1, sizeof *w);
    size_t n = strlen(path) + 5;
    if (w) {
        w->path = strdup(path);
        w->tmp = malloc(n);
    }
    if (!w || !w->path || !w->tmp) {
        snprintf(err, errlen, "%s: out of memory", path);
        nn_h5w_abort(w);
        return NULL;
    }
    snprintf(w->tmp, n, "%s.tmp", path);
    w->f = H5Fcreate(w->tmp, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    if (w->f < 0) {
        /* HDF5 does not say why; errno from open(2) usually does. */
        int fd = open(w->tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        const char *why = fd < 0 ? strerror(errno) : "HDF5 cannot create it";
        snprintf(err, errlen, "%s: cannot create the output (as %s): %s", path, w->tmp, why);
        if (fd >= 0) {
            close(fd);
            unlink(w->tmp);
        }
        free(w->path);
        free(w->tmp);
        free(w);
        return NULL;
    }
    return w;
}

const char *nn_h5w_tmp_path(const nn_h5w *w) { return w->tmp; }

/* An extendible dataset [0, cols] (2-D) or [0] (1-D, cols == 0), chunked and compressed. */
static hid_t create_dset(hid_t g, const char *name, hid_t type, size_t cols, size_t chunk)
{
    int rank = cols ? 2 : 1;
    hsize_t dims[2] = {0, cols}, maxdims[2] = {H5S_UNLIMITED, cols}, cdims[2] = {chunk, cols};
    hid_t s = H5Screate_simple(rank, dims, maxdims);
    hid_t p = H5Pcreate(H5P_DATASET_CREATE);
    hid_t d = -1;
    if (s >= 0 && p >= 0 && H5Pset_chunk(p, rank, cdims) >= 0 && H5Pset_shuffle(p) >= 0 &&
        H5Pset_deflate(p, 4) >= 0)
        d = H5Dcreate2(g, name, type, s, H5P_DEFAULT, p, H5P_DEFAULT);
    if (p >= 0)
        H5Pclose(p);
    if (s >= 0)
        H5Sclose(s);
    return d;
}

static void split_free(nn_h5w_split *s)
{
    if (!s)
        return;
    if (s->dx >= 0)
        H5Dclose(s->dx);
    if (s->dy >= 0)
        H5Dclose(s->dy);
    free(s->xbuf);
    free(s->ybuf);
    free(s);
}

nn_h5w_split *nn_h5w_add_split(nn_h5w *w, const char *name, size_t d, size_t k, char *err,
                               size_t errlen)
{
    if (w->nsplits == MAX_SPLITS || strlen(name) >= sizeof w->splits[0]->name || d == 0) {
        snprintf(err, errlen, "%s: cannot add split /%s", w->path, name);
        return NULL;
    }
    nn_h5w_split *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "%s: out of memory", w->path);
        return NULL;
    }
    s->w = w;
    s->dx = s->dy = -1;
    snprintf(s->name, sizeof s->name, "%s", name);
    s->d = d;
    s->k = k;
    s->chunk = NN_H5W_CHUNK_BYTES / (d * sizeof(float));
    if (s->chunk > NN_H5W_CHUNK_ROWS)
        s->chunk = NN_H5W_CHUNK_ROWS;
    if (s->chunk < 1)
        s->chunk = 1;
    s->xbuf = malloc(s->chunk * d * sizeof(float));
    s->ybuf = malloc(s->chunk * (k ? k * sizeof(float) : sizeof(int32_t)));
    hid_t g = -1;
    if (s->xbuf && s->ybuf)
        g = H5Gcreate2(w->f, name, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (g >= 0) {
        s->dx = create_dset(g, "x", H5T_IEEE_F32LE, d, s->chunk);
        s->dy = k ? create_dset(g, "y", H5T_IEEE_F32LE, k, s->chunk)
                  : create_dset(g, "y", H5T_STD_I32LE, 0, s->chunk);
        H5Gclose(g);
    }
    if (s->dx < 0 || s->dy < 0) {
        snprintf(err, errlen, "%s: cannot create /%s/x and /%s/y in %s", w->path, name, name,
                 w->tmp);
        split_free(s);
        return NULL;
    }
    w->splits[w->nsplits++] = s;
    return s;
}

/* Writes rows [start, start + n) of a dataset with `cols` columns (0: 1-D) from buf. */
static int write_rows(hid_t d, hid_t memtype, size_t cols, hsize_t start, hsize_t n,
                      const void *buf)
{
    int rank = cols ? 2 : 1;
    hsize_t ext[2] = {start + n, cols}, off[2] = {start, 0}, cnt[2] = {n, cols};
    if (H5Dset_extent(d, ext) < 0)
        return -1;
    hid_t fs = H5Dget_space(d), ms = H5Screate_simple(rank, cnt, NULL);
    int rc = -1;
    if (fs >= 0 && ms >= 0 &&
        H5Sselect_hyperslab(fs, H5S_SELECT_SET, off, NULL, cnt, NULL) >= 0 &&
        H5Dwrite(d, memtype, ms, fs, H5P_DEFAULT, buf) >= 0)
        rc = 0;
    if (ms >= 0)
        H5Sclose(ms);
    if (fs >= 0)
        H5Sclose(fs);
    return rc;
}

static int flush_split(nn_h5w_split *s, char *err, size_t errlen)
{
    if (s->nbuf == 0)
        return 0;
    if (write_rows(s->dx, H5T_NATIVE_FLOAT, s->d, s->nrows, s->nbuf, s->xbuf) != 0 ||
        write_rows(s->dy, s->k ? H5T_NATIVE_FLOAT : H5T_NATIVE_INT32, s->k, s->nrows, s->nbuf,
                   s->ybuf) != 0) {
        snprintf(err, errlen, "%s: writing rows %zu to %zu of /%s failed (disk full?)",
                 s->w->tmp, s->nrows, s->nrows + s->nbuf - 1, s->name);
        return -1;
    }
    s->nrows += s->nbuf;
    s->nbuf = 0;
    return 0;
}

int nn_h5w_append(nn_h5w_split *s, const float *x, const void *y, char *err, size_t errlen)
{
    memcpy(s->xbuf + s->nbuf * s->d, x, s->d * sizeof(float));
    if (s->k)
        memcpy((float *)s->ybuf + s->nbuf * s->k, y, s->k * sizeof(float));
    else
        ((int32_t *)s->ybuf)[s->nbuf] = *(const int32_t *)y;
    s->nbuf++;
    return s->nbuf == s->chunk ? flush_split(s, err, errlen) : 0;
}

size_t nn_h5w_rows(const nn_h5w_split *s) { return s->nrows + s->nbuf; }
size_t nn_h5w_chunk_rows(const nn_h5w_split *s) { return s->chunk; }

/* Opens obj for attributes, creating a group there if nothing exists yet. */
static hid_t open_obj(nn_h5w *w, const char *obj)
{
    if (strcmp(obj, "/") != 0 && H5Lexists(w->f, obj, H5P_DEFAULT) <= 0) {
        hid_t lc = H5Pcreate(H5P_LINK_CREATE);
        H5Pset_create_intermediate_group(lc, 1);
        hid_t g = H5Gcreate2(w->f, obj, lc, H5P_DEFAULT, H5P_DEFAULT);
        H5Pclose(lc);
        return g;
    }
    return H5Oopen(w->f, obj, H5P_DEFAULT);
}

static int attr_write(nn_h5w *w, const char *obj, const char *name, hid_t type, const void *v)
{
    hid_t o = open_obj(w, obj);
    if (o < 0)
        return -1;
    hid_t s = H5Screate(H5S_SCALAR);
    hid_t a = H5Acreate2(o, name, type, s, H5P_DEFAULT, H5P_DEFAULT);
    int rc = (a >= 0 && H5Awrite(a, type, v) >= 0) ? 0 : -1;
    if (a >= 0)
        H5Aclose(a);
    H5Sclose(s);
    H5Oclose(o);
    return rc;
}

int nn_h5w_attr_str(nn_h5w *w, const char *obj, const char *name, const char *value)
{
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, strlen(value) + 1);
    H5Tset_strpad(t, H5T_STR_NULLTERM);
    H5Tset_cset(t, H5T_CSET_UTF8);
    int rc = attr_write(w, obj, name, t, value);
    H5Tclose(t);
    return rc;
}

int nn_h5w_attr_int(nn_h5w *w, const char *obj, const char *name, long long value)
{
    return attr_write(w, obj, name, H5T_NATIVE_LLONG, &value);
}

int nn_h5w_attr_double(nn_h5w *w, const char *obj, const char *name, double value)
{
    return attr_write(w, obj, name, H5T_NATIVE_DOUBLE, &value);
}

int nn_h5w_strings(nn_h5w *w, const char *path, const char *const *s, size_t n)
{
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, H5T_VARIABLE);
    H5Tset_cset(t, H5T_CSET_UTF8);
    hsize_t dims = n;
    hid_t sp = H5Screate_simple(1, &dims, NULL);
    hid_t lc = H5Pcreate(H5P_LINK_CREATE);
    H5Pset_create_intermediate_group(lc, 1);
    hid_t d = H5Dcreate2(w->f, path, t, sp, lc, H5P_DEFAULT, H5P_DEFAULT);
    int rc = (d >= 0 && (n == 0 || H5Dwrite(d, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, s) >= 0)) ? 0
                                                                                          : -1;
    if (d >= 0)
        H5Dclose(d);
    H5Pclose(lc);
    H5Sclose(sp);
    H5Tclose(t);
    return rc;
}

static void free_w(nn_h5w *w)
{
    for (int i = 0; i < w->nsplits; i++)
        split_free(w->splits[i]);
    free(w->path);
    free(w->tmp);
    free(w);
}


int nn_h5w_commit(nn_h5w *w, char *err, size_t errlen)
{
    int rc = 0;
    for (int i = 0; rc == 0 && i < w->nsplits; i++)
        rc = flush_split(w->splits[i], err, errlen);
    for (int i = 0; i < w->nsplits; i++) {
        split_free(w->splits[i]);
        w->splits[i] = NULL;
    }
    w->nsplits = 0;
    if (H5Fclose(w->f) < 0 && rc == 0) {
        snprintf(err, errlen, "%s: closing the output failed (disk full?)", w->tmp);
        rc = -1;
    }
    w->f = -1;
    int e = 0;
    if (rc == 0 && ((e = nn_fsync_file(w->tmp)) != 0 || (e = nn_rename_durable(w->tmp, w->path)) != 0)) {
        snprintf(err, errlen, "%s: cannot sync or rename %s into place: %s", w->path, w->tmp,
                 strerror(e));
        rc = -1;
    }
    if (rc != 0)
        unlink(w->tmp);
    free_w(w);
    return rc;
}

void nn_h5w_abort(nn_h5w *w)
{
    if (!w)
        return;
    for (int i = 0; i < w->nsplits; i++) {
        split_free(w->splits[i]);
        w->splits[i] = NULL;
    }
    w->nsplits = 0;
    if (w->f > 0)
        H5Fclose(w->f);
    if (w->tmp && w->f > 0)
        unlink(w->tmp);
    free_w(w);
}
