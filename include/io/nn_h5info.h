/* nn_h5info.h: the metadata `nn-data info` shows: a dataset's type, shape, chunking and
 * filters, string datasets (/meta/class_names) and attributes. The values themselves are read
 * with nn_h5_read_rows (nn_h5data.h). */
#ifndef NN_H5INFO_H
#define NN_H5INFO_H

#include <stddef.h>

typedef struct {
    char type[32];                /* "float32", "int32", "uint8", "string", ... */
    int rank;                     /* dimensions (shape below holds the first two) */
    unsigned long long dims[2];
    int chunked;
    unsigned long long chunk[2];
    char filters[64];             /* e.g. "shuffle+deflate(4)", or "" */
} nn_h5_dset_desc;

/* Describes dataset dset of the file at path. 0, 1 when it does not exist, -1 on error. */
int nn_h5_describe(const char *path, const char *dset, nn_h5_dset_desc *d);

/* Reads a 1-D dataset of strings (variable or fixed length) into *out, n malloc'ed strings.
 * 0, 1 when it does not exist, -1 on error. Free with nn_h5_strings_free. */
int nn_h5_read_strings(const char *path, const char *dset, char ***out, size_t *n);
void nn_h5_strings_free(char **s, size_t n);

/* A scalar attribute (string, integer or float) of object obj, as text in buf. 0, 1 when
 * missing, -1 on error. */
int nn_h5_attr_text(const char *path, const char *obj, const char *name, char *buf,
                    size_t len);

#endif
