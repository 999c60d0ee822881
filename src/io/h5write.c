/* h5write.c: the streamed, chunked, compressed data-file writer of nn_h5write.h. A split keeps
 * one chunk of rows in memory; when it fills, the datasets grow by a chunk (H5Dset_extent) and
 * the rows go out in one hyperslab write, aligned to the chunk grid so HDF5 compresses each
 * chunk exactly once. */
#define _GNU_SOURCE /* memfd_create */
#include <errno.h>
#include <fcntl.h>
#include <hdf5.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "nn_fileio.h"
#include "nn_h5attr.h"
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
    int detached; /* the file's writes go to memory now (see detach) */
    int err_no;   /* the errno behind the last failed write, 0 if unknown */
    nn_h5w_split *splits[MAX_SPLITS];
    int nsplits;
};

/* The errno behind the HDF5 call that just failed ("No space left on device"), from the
 * error stack, where the sec2 driver records it; 0 when the stack has none. */
static herr_t find_errno(unsigned n, const H5E_error2_t *e, void *data)
{
    (void)n;
    const char *p = e->desc ? strstr(e->desc, "errno = ") : NULL;
    if (p && *(int *)data == 0)
        *(int *)data = atoi(p + 8);
    return 0;
}

/* Records the errno of the HDF5 call that just failed, before another call clears the stack. */
static void note_errno(nn_h5w *w)
{
    int e = 0;
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, find_errno, &e);
    if (e > 0)
        w->err_no = e;
}

/* Why the last write failed, as far as we know. */
static const char *why(const nn_h5w *w)
{
    return w->err_no > 0 ? strerror(w->err_no) : "HDF5 write error";
}

/* Gives up on the file's contents: its descriptor is pointed at an anonymous in-memory file,
 * so every later flush and close has somewhere to write and succeeds. Needed because HDF5
 * 1.10 cannot close a file whose flush fails: H5Fclose (and H5Dclose) then free the object
 * but leave its id registered, and HDF5's exit-time cleanup closes it again, a use after free
 * (SIGSEGV in H5F__close_cb; HDFGroup/hdf5#2257, fixed in 1.14.1 by #2291). So nothing is
 * closed while a write may still fail: datasets and the file are flushed first, and after a
 * failed flush the file is detached before anything is closed. The caller removes the
 * temporary file. */
static void detach(nn_h5w *w)
{
    int *fd = NULL;
    if (w->detached || w->f < 0)
        return;
    w->detached = 1;
    hid_t fapl = H5Fget_access_plist(w->f);
    int sec2 = fapl >= 0 && H5Pget_driver(fapl) == H5FD_SEC2;
    if (fapl >= 0)
        H5Pclose(fapl);
    if (!sec2 || H5Fget_vfd_handle(w->f, H5P_DEFAULT, (void **)&fd) < 0 || !fd || *fd < 0)
        return;
    int m = memfd_create("nn-h5w-discarded", MFD_CLOEXEC);
    if (m >= 0) {
        dup2(m, *fd);
        close(m);
    }
}

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

/* Flushes a split's datasets (their last chunks sit in HDF5's chunk cache until then); on
 * failure the file is detached. 0, or -1 with one line in err. */
static int split_flush_cache(nn_h5w_split *s, char *err, size_t errlen)
{
    if ((s->dx >= 0 && H5Dflush(s->dx) < 0) || (s->dy >= 0 && H5Dflush(s->dy) < 0)) {
        note_errno(s->w);
        snprintf(err, errlen, "%s: writing /%s failed: %s", s->w->path, s->name, why(s->w));
        detach(s->w);
        return -1;
    }
    return 0;
}

/* Closes a split's datasets (flushed, or the file detached) and frees it. 0, or -1 if a close
 * failed. */
static int split_free(nn_h5w_split *s)
{
    if (!s)
        return 0;
    int rc = 0;
    if (s->dx >= 0 && H5Dclose(s->dx) < 0)
        rc = -1;
    if (s->dy >= 0 && H5Dclose(s->dy) < 0)
        rc = -1;
    free(s->xbuf);
    free(s->ybuf);
    free(s);
    return rc;
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
        detach(w); /* the file is given up: closing must not write */
        split_free(s);
        return NULL;
    }
    w->splits[w->nsplits++] = s;
    return s;
}

/* A fixed-size dataset, contiguous (not chunked, not compressed), holding buf whole. */
static int put_dset(nn_h5w *w, hid_t g, const char *name, hid_t type, int rank,
                    const hsize_t *dims, const void *buf)
{
    hid_t s = H5Screate_simple(rank, dims, NULL);
    hid_t d = s >= 0 ? H5Dcreate2(g, name, type, s, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT) : -1;
    int rc = d >= 0 && (dims[0] == 0 || H5Dwrite(d, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) >= 0)
                 ? 0
                 : -1;
    if (rc != 0)
        note_errno(w);
    if (d >= 0)
        H5Dclose(d);
    if (s >= 0)
        H5Sclose(s);
    return rc;
}

int nn_h5w_put_rows(nn_h5w *w, const char *name, const nn_rows *r, char *err, size_t errlen)
{
    hid_t g = H5Gcreate2(w->f, name, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    hsize_t xd[2] = {r->n, (hsize_t)r->d}, yd[2] = {r->n, (hsize_t)r->k};
    int rc = g >= 0 && put_dset(w, g, "x", H5T_NATIVE_FLOAT, 2, xd, r->x) == 0 &&
                     (r->labels    ? put_dset(w, g, "y", H5T_NATIVE_INT32, 1, yd, r->labels)
                      : r->targets ? put_dset(w, g, "y", H5T_NATIVE_FLOAT, 2, yd, r->targets)
                                   : 0) == 0
                 ? 0
                 : -1;
    if (g >= 0)
        H5Gclose(g);
    if (rc != 0) {
        snprintf(err, errlen, "%s: writing /%s failed: %s", w->path, name, why(w));
        detach(w);
    }
    return rc;
}

/* Writes rows [start, start + n) of a dataset with `cols` columns (0: 1-D) from buf. */
static int write_rows(nn_h5w *w, hid_t d, hid_t memtype, size_t cols, hsize_t start,
                      hsize_t n, const void *buf)
{
    int rank = cols ? 2 : 1;
    hsize_t ext[2] = {start + n, cols}, off[2] = {start, 0}, cnt[2] = {n, cols};
    if (H5Dset_extent(d, ext) < 0) {
        note_errno(w);
        return -1;
    }
    hid_t fs = H5Dget_space(d), ms = H5Screate_simple(rank, cnt, NULL);
    int rc = -1;
    if (fs >= 0 && ms >= 0 &&
        H5Sselect_hyperslab(fs, H5S_SELECT_SET, off, NULL, cnt, NULL) >= 0 &&
        H5Dwrite(d, memtype, ms, fs, H5P_DEFAULT, buf) >= 0)
        rc = 0;
    else
        note_errno(w);
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
    if (write_rows(s->w, s->dx, H5T_NATIVE_FLOAT, s->d, s->nrows, s->nbuf, s->xbuf) != 0 ||
        write_rows(s->w, s->dy, s->k ? H5T_NATIVE_FLOAT : H5T_NATIVE_INT32, s->k, s->nrows,
                   s->nbuf, s->ybuf) != 0) {
        snprintf(err, errlen, "%s: writing rows %zu to %zu of /%s failed: %s", s->w->path,
                 s->nrows, s->nrows + s->nbuf - 1, s->name, why(s->w));
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

int nn_h5w_attr_str(nn_h5w *w, const char *obj, const char *name, const char *value)
{
    hid_t o = open_obj(w, obj);
    int rc = o < 0 ? -1 : nn_h5_attr_str(o, name, value, 1);
    if (o >= 0)
        H5Oclose(o);
    return rc;
}

int nn_h5w_attr_int(nn_h5w *w, const char *obj, const char *name, long long value)
{
    hid_t o = open_obj(w, obj);
    int rc = o < 0 ? -1 : nn_h5_attr(o, name, H5T_NATIVE_LLONG, H5T_NATIVE_LLONG, 0, &value);
    if (o >= 0)
        H5Oclose(o);
    return rc;
}

int nn_h5w_attr_double(nn_h5w *w, const char *obj, const char *name, double value)
{
    hid_t o = open_obj(w, obj);
    int rc = o < 0 ? -1 : nn_h5_attr_f64(o, name, value);
    if (o >= 0)
        H5Oclose(o);
    return rc;
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
    int rc = (d >= 0 && (n == 0 || H5Dwrite(d, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, s) >= 0) &&
              H5Dflush(d) >= 0)
                 ? 0
                 : -1;
    if (rc != 0) {
        note_errno(w);
        detach(w); /* before the close, which would write again (see detach) */
    }
    if (d >= 0 && H5Dclose(d) < 0)
        rc = -1;
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

/* Every write happens in a flush, where a failure leaves HDF5 consistent; only then are the
 * datasets and the file closed (see detach). */
int nn_h5w_commit(nn_h5w *w, char *err, size_t errlen)
{
    int rc = 0;
    for (int i = 0; rc == 0 && i < w->nsplits; i++)
        rc = flush_split(w->splits[i], err, errlen);
    for (int i = 0; rc == 0 && i < w->nsplits; i++)
        rc = split_flush_cache(w->splits[i], err, errlen);
    if (rc == 0 && H5Fflush(w->f, H5F_SCOPE_LOCAL) < 0) {
        note_errno(w);
        snprintf(err, errlen, "%s: writing the file's metadata failed: %s", w->path, why(w));
        rc = -1;
    }
    if (rc != 0)
        detach(w);
    for (int i = 0; i < w->nsplits; i++) {
        char name[sizeof w->splits[i]->name];
        memcpy(name, w->splits[i]->name, sizeof name);
        if (split_free(w->splits[i]) != 0 && rc == 0) {
            note_errno(w);
            snprintf(err, errlen, "%s: closing /%s failed: %s", w->path, name, why(w));
            rc = -1;
        }
        w->splits[i] = NULL;
    }
    w->nsplits = 0;
    if (H5Fclose(w->f) < 0 && rc == 0) {
        note_errno(w);
        snprintf(err, errlen, "%s: closing the output failed: %s", w->path, why(w));
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

/* Nothing of an aborted file is kept, so nothing of it is written: detached first. */
void nn_h5w_abort(nn_h5w *w)
{
    if (!w)
        return;
    detach(w);
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
