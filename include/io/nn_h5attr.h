/* nn_h5attr.h: writing HDF5 attributes, the one implementation behind checkpoints
 * (checkpoint.c), imported data files (h5write.c) and nn-predict's output files. obj is an
 * open hid_t (file, group or dataset); each call returns 0, or -1 when HDF5 failed. */
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

#endif
