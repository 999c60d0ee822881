/* nn_rows.h: rows of a data set in memory, and the shape of a split they come from. */
#ifndef NN_ROWS_H
#define NN_ROWS_H

#include <stddef.h>
#include <stdint.h>

/* What a split (/train, /val or /test) of a file holds, read from its metadata only. */
typedef struct {
    size_t n;        /* samples */
    int d;           /* features per sample: x is (n, d) float32 */
    int y_is_label;  /* 1: y is integer class labels (n); 0: y is float32 targets (n, k) */
    int k;           /* columns of y when y_is_label == 0, else 1 */
    int x_only;      /* 1: the split has no y (only a probe that allows it says so; then
                      * y_is_label and k are 0) */
} nn_split_info;

/* Rows of x and y held in memory. */
typedef struct {
    size_t n;
    int d, k;           /* k: columns of targets (targets != NULL) */
    float *x;           /* (n, d) */
    int32_t *labels;    /* (n) or NULL */
    float *targets;     /* (n, k) or NULL */
} nn_rows;

void nn_rows_free(nn_rows *r);
/* Allocates room for n rows of this shape: x, and labels (y_is_label), targets (n, k) (k > 0),
 * or no y (k == 0). 0 or -1. */
int nn_rows_alloc(nn_rows *r, size_t n, int d, int y_is_label, int k);

/* Where rows came from and who reads them, for nn_rows_check's messages (nn-train and
 * nn-predict word two of them differently). */
typedef struct {
    const char *path, *split;  /* the data file, and the split without its slash ("train") */
    const size_t *file_rows;   /* row i of the rows is file row file_rows[i]; NULL: first + i */
    size_t first;
    const char *x_expect;      /* follows "is not finite; " in the message on x */
    const char *outputs_of;    /* what has `classes` outputs: "the last layer", "the model" */
} nn_rows_source;

/* Checks rows read from a file: finite x and targets, labels in [0, classes). 0, or -1 with
 * one line in err naming the file, the split and the file row of the first bad value. */
int nn_rows_check(const nn_rows *r, int classes, const nn_rows_source *src, char *err,
                  size_t errlen);

#endif
