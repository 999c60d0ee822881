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
/* Allocates room for n rows of this shape; 0 or -1. */
int nn_rows_alloc(nn_rows *r, size_t n, int d, int y_is_label, int k);

#endif
