/* nn_h5write.h: a streamed writer of nn-train data files (layout in docs/data-format.md).
 *
 * Rows are appended one at a time and buffered up to one chunk; every full chunk is written
 * with one H5Dset_extent + H5Dwrite, so memory stays at one chunk of rows per split whatever
 * the file size. Datasets are extendible (maxdims H5S_UNLIMITED), chunked (up to 1024 rows,
 * fewer for wide rows so that a chunk of x stays within 1 MiB, HDF5's default chunk cache) and
 * compressed (shuffle + deflate level 4).
 *
 * Everything goes to "<path>.tmp"; nn_h5w_commit renames it over path only when the whole file
 * is written, and nn_h5w_abort removes it, so path is either untouched or complete. */
#ifndef NN_H5WRITE_H
#define NN_H5WRITE_H

#include <stddef.h>
#include <stdint.h>

#include "nn_rows.h"

typedef struct nn_h5w nn_h5w;
typedef struct nn_h5w_split nn_h5w_split;

/* Most rows per chunk, and the bytes of x one chunk may hold. */
#define NN_H5W_CHUNK_ROWS 1024
#define NN_H5W_CHUNK_BYTES ((size_t)1 << 20)

/* Creates (truncates) "<path>.tmp". NULL with one line in err on failure. */
nn_h5w *nn_h5w_create(const char *path, char *err, size_t errlen);
/* The temporary file's name (e.g. for a signal handler that removes it). */
const char *nn_h5w_tmp_path(const nn_h5w *w);

/* Adds group /name ("train", "test", ...) holding x float32 [0, d] and y: int32 labels [0]
 * when k == 0, else float32 targets [0, k]. The split is owned by w. */
nn_h5w_split *nn_h5w_add_split(nn_h5w *w, const char *name, size_t d, size_t k, char *err,
                               size_t errlen);
/* Appends one row: x[d], and *(const int32_t *)y (k == 0) or ((const float *)y)[0..k). */
int nn_h5w_append(nn_h5w_split *s, const float *x, const void *y, char *err, size_t errlen);
size_t nn_h5w_rows(const nn_h5w_split *s);
/* Adds group /name holding the rows r whole, as fixed-size contiguous datasets (neither
 * chunked nor compressed: the layout h5py and most tools write by default, and the other path
 * of the row reader). For tests and tools that have every row in memory. 0, or -1 with err. */
int nn_h5w_put_rows(nn_h5w *w, const char *name, const nn_rows *r, char *err, size_t errlen);
size_t nn_h5w_chunk_rows(const nn_h5w_split *s);

/* Attributes on the group or dataset obj (a group is created if missing); 0 or -1. */
int nn_h5w_attr_str(nn_h5w *w, const char *obj, const char *name, const char *value);
int nn_h5w_attr_int(nn_h5w *w, const char *obj, const char *name, long long value);
int nn_h5w_attr_double(nn_h5w *w, const char *obj, const char *name, double value);
/* A 1-D dataset of n variable-length UTF-8 strings at path (e.g. "/meta/class_names"),
 * creating missing groups; 0 or -1. */
int nn_h5w_strings(nn_h5w *w, const char *path, const char *const *s, size_t n);

/* Flushes every split, closes the file, syncs it and renames it over the final path. Frees w
 * in every case; on failure the temporary file is removed. 0, or -1 with one line in err. */
int nn_h5w_commit(nn_h5w *w, char *err, size_t errlen);
/* Closes and removes the temporary file and frees w. Accepts NULL. */
void nn_h5w_abort(nn_h5w *w);

#endif
