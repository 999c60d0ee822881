/* rows.c: rows of a data set in memory (nn_rows.h). */
#include <stdlib.h>
#include <string.h>

#include "nn_rows.h"

void nn_rows_free(nn_rows *r)
{
    if (!r)
        return;
    free(r->x);
    free(r->labels);
    free(r->targets);
    memset(r, 0, sizeof *r);
}

int nn_rows_alloc(nn_rows *r, size_t n, int d, int y_is_label, int k)
{
    memset(r, 0, sizeof *r);
    r->n = n;
    r->d = d;
    r->k = k;
    size_t m = n ? n : 1;
    r->x = malloc(m * (size_t)d * sizeof(float));
    if (y_is_label)
        r->labels = malloc(m * sizeof(int32_t));
    else
        r->targets = malloc(m * (size_t)k * sizeof(float));
    if (!r->x || (!r->labels && !r->targets)) {
        nn_rows_free(r);
        return -1;
    }
    return 0;
}
