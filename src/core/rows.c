/* rows.c: rows of a data set in memory (nn_rows.h), and the check of rows read from a file
 * that nn-train and nn-predict both make. */
#include <math.h>
#include <stdio.h>
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
    else if (k > 0)
        r->targets = malloc(m * (size_t)k * sizeof(float));
    int want_y = y_is_label || k > 0;
    if (!r->x || (want_y && !r->labels && !r->targets)) {
        nn_rows_free(r);
        return -1;
    }
    return 0;
}

int nn_rows_check(const nn_rows *r, int classes, const nn_rows_source *src, char *err,
                  size_t errlen)
{
    for (size_t i = 0; i < r->n; i++) {
        size_t row = src->file_rows ? src->file_rows[i] : src->first + i;
        for (int j = 0; j < r->d; j++)
            if (!isfinite(r->x[i * (size_t)r->d + j])) {
                snprintf(err, errlen, "%s: /%s/x row %zu column %d is not finite; %s", src->path,
                         src->split, row, j, src->x_expect);
                return -1;
            }
        if (r->labels && (r->labels[i] < 0 || r->labels[i] >= classes)) {
            snprintf(err, errlen, "%s: /%s/y row %zu has label %d; expected a class in [0, %d) "
                     "(%s has %d outputs)",
                     src->path, src->split, row, (int)r->labels[i], classes, src->outputs_of,
                     classes);
            return -1;
        }
        if (r->targets)
            for (int j = 0; j < r->k; j++)
                if (!isfinite(r->targets[i * (size_t)r->k + j])) {
                    snprintf(err, errlen, "%s: /%s/y row %zu is not finite", src->path,
                             src->split, row);
                    return -1;
                }
    }
    return 0;
}
