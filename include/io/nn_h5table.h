/* nn_h5table.h: a small HDF5 results file (nn-predict's attributions and importances,
 * docs/explain.md): named datasets of float32, int32, int64 or strings, and attributes on the
 * root, built in memory and written in one piece (nn_h5mem.h). */
#ifndef NN_H5TABLE_H
#define NN_H5TABLE_H

#include <stddef.h>

typedef enum { NN_H5T_F32, NN_H5T_I32, NN_H5T_I64, NN_H5T_STR, NN_H5T_F64 } nn_h5t_kind;

/* A dataset: rows x cols values (cols 0: one-dimensional [rows]) of kind at data (float,
 * int32_t, int64_t, or const char * for NN_H5T_STR, stored as variable-length UTF-8 strings). */
typedef struct {
    const char *name;
    nn_h5t_kind kind;
    size_t rows, cols;
    const void *data;
} nn_h5t_dset;

/* An attribute of the root: a string (s not NULL), or a number stored as int64 (kind
 * NN_H5T_I64) or float64 (NN_H5T_F64). */
typedef struct {
    const char *name;
    nn_h5t_kind kind;
    const char *s;
    double num;
} nn_h5t_attr;

/* Writes the datasets and attributes to path (created or replaced whole). 0, the errno of a
 * failed write, or -1 when the file could not be built (out of memory, a bad name). */
int nn_h5_table_write(const char *path, const nn_h5t_dset *d, int nd, const nn_h5t_attr *a,
                      int na);

#endif
