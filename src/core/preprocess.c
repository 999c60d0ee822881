/* preprocess.c: the pure half of nn_preprocess.h: lifecycle, checks and the affine maps.
 * No HDF5 here; the reader is in preprocess_h5.c. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn_preprocess.h"

void nn_preprocess_init(nn_preprocess *p)
{
    memset(p, 0, sizeof *p);
    snprintf(p->method, sizeof p->method, "none");
}

void nn_preprocess_free(nn_preprocess *p)
{
    if (!p)
        return;
    free(p->x_shift);
    free(p->x_scale);
    free(p->y_shift);
    free(p->y_scale);
    free(p->class_weight);
    free(p->x_min);
    free(p->x_max);
    free(p->encoder);
    nn_preprocess_init(p);
}

int nn_preprocess_alloc_class_weight(nn_preprocess *p, int nc)
{
    free(p->class_weight);
    p->nc = 0;
    p->class_weight = nc > 0 ? malloc((size_t)nc * sizeof(float)) : NULL;
    if (!p->class_weight)
        return -1;
    p->nc = nc;
    return 0;
}

int nn_preprocess_alloc(nn_preprocess *p, const char *method, int d, int k)
{
    nn_preprocess_init(p);
    if (d < 1 || k < 0)
        return -1;
    snprintf(p->method, sizeof p->method, "%s", method);
    p->d = d;
    p->k = k;
    p->x_shift = malloc((size_t)d * sizeof(float));
    p->x_scale = malloc((size_t)d * sizeof(float));
    if (k > 0) {
        p->y_shift = malloc((size_t)k * sizeof(float));
        p->y_scale = malloc((size_t)k * sizeof(float));
    }
    if (!p->x_shift || !p->x_scale || (k > 0 && (!p->y_shift || !p->y_scale))) {
        nn_preprocess_free(p);
        return -1;
    }
    return 0;
}

/* Every shift finite, every scale finite and non-zero; names the first bad entry. */
static int check_pair(const float *shift, const float *scale, int n, const char *what,
                      char *err, size_t errlen)
{
    for (int j = 0; j < n; j++) {
        if (!isfinite(shift[j])) {
            snprintf(err, errlen, "/preprocess/%s_shift[%d] is %g; expected a finite value", what,
                     j, (double)shift[j]);
            return -1;
        }
        if (!isfinite(scale[j]) || scale[j] == 0.0f) {
            snprintf(err, errlen, "/preprocess/%s_scale[%d] is %g; expected a finite, non-zero "
                     "value",
                     what, j, (double)scale[j]);
            return -1;
        }
    }
    return 0;
}

int nn_preprocess_check(const nn_preprocess *p, int d, int k, char *err, size_t errlen)
{
    if (!p->x_shift)
        return 0;
    if (p->d != d) {
        snprintf(err, errlen, "/preprocess/x_shift and x_scale have %d entries but the model "
                 "has %d inputs; expected equal",
                 p->d, d);
        return -1;
    }
    if (p->y_shift && p->k != k) {
        snprintf(err, errlen, "/preprocess/y_shift and y_scale have %d entries but the model "
                 "has %d outputs; expected equal",
                 p->k, k);
        return -1;
    }
    if (check_pair(p->x_shift, p->x_scale, p->d, "x", err, errlen) != 0)
        return -1;
    if (p->y_shift && check_pair(p->y_shift, p->y_scale, p->k, "y", err, errlen) != 0)
        return -1;
    if (p->class_weight && p->nc != k) {
        snprintf(err, errlen, "/preprocess/class_weight has %d entries but the model has %d "
                 "outputs; expected one weight per class",
                 p->nc, k);
        return -1;
    }
    for (int j = 0; p->class_weight && j < p->nc; j++)
        if (!isfinite(p->class_weight[j]) || p->class_weight[j] < 0.0f) {
            snprintf(err, errlen, "/preprocess/class_weight[%d] is %g; expected a finite weight "
                     ">= 0", j, (double)p->class_weight[j]);
            return -1;
        }
    return 0;
}

void nn_preprocess_apply_x(const nn_preprocess *p, float *x, size_t n, int d)
{
    if (!p->x_shift)
        return;
    for (size_t i = 0; i < n; i++) {
        float *row = x + i * (size_t)d; /* (d) */
        for (int j = 0; j < d; j++)
            row[j] = (row[j] - p->x_shift[j]) / p->x_scale[j];
    }
}

void nn_preprocess_unapply_y(const nn_preprocess *p, float *y, size_t n, int k)
{
    if (!p->y_shift)
        return;
    for (size_t i = 0; i < n; i++) {
        float *row = y + i * (size_t)k; /* (k) */
        for (int j = 0; j < k; j++)
            row[j] = row[j] * p->y_scale[j] + p->y_shift[j];
    }
}

void nn_preprocess_apply_y(const nn_preprocess *p, float *y, size_t n, int k)
{
    if (!p->y_shift)
        return;
    for (size_t i = 0; i < n; i++) {
        float *row = y + i * (size_t)k; /* (k) */
        for (int j = 0; j < k; j++)
            row[j] = (row[j] - p->y_shift[j]) / p->y_scale[j];
    }
}
