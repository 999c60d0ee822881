/* nn_h5attr.h: writing and reading HDF5 attributes, the one implementation behind
 * checkpoints (checkpoint.c), exported models (qfile.c), imported data files (h5write.c) and
 * nn-predict's output files. obj is an open hid_t (file, group or dataset); each call returns
 * 0, or -1 when HDF5 failed. */
#ifndef NN_H5ATTR_H
#define NN_H5ATTR_H

#include <stddef.h>
#include <stdint.h>

/* n values of memory type mem (an hid_t) at v, stored as file type file: a scalar when
 * n == 0, else a one-dimensional array of n. */
int nn_h5_attr(int64_t obj, const char *name, int64_t file, int64_t mem, size_t n,
               const void *v);
/* A NUL-terminated fixed-length string (ASCII, or UTF-8 when utf8 is set). */
int nn_h5_attr_str(int64_t obj, const char *name, const char *v, int utf8);
int nn_h5_attr_i64(int64_t obj, const char *name, int64_t v); /* 64-bit little-endian */
int nn_h5_attr_f64(int64_t obj, const char *name, double v);

/* Reading attribute name of obj into v: -1 when it is missing or not of the class and shape
 * asked, or a string is longer than the reader keeps; nothing is converted silently but
 * numbers (to their width). */
/* An integer scalar, as memory type mem (an hid_t: NATIVE_INT64, NATIVE_UINT64, ...). */
int nn_h5_attr_get_int(int64_t obj, const char *name, int64_t mem, void *v);
int nn_h5_attr_get_f64(int64_t obj, const char *name, double *v); /* a float scalar */
/* A scalar fixed-length string of at most len bytes, its NUL included, into buf (len). */
int nn_h5_attr_get_str(int64_t obj, const char *name, char *buf, size_t len);
/* A one-dimensional integer array of min to max elements, as int; *n its length. */
int nn_h5_attr_get_ints(int64_t obj, const char *name, int *v, size_t min, size_t max, int *n);

#endif
