/* attrib.c: gradients of the attributed value with respect to the raw inputs, and integrated
 * gradients (nn_attrib.h). Built on nn_forward and nn_backward_input. */
#include <math.h>
#include <string.h>

#include "nn_attrib.h"

double nn_attr_value(const nn_layout *lo, const nn_preprocess *pre, const float *z, int k)
{
    const int K = lo->sizes[lo->n_layers];
    if (lo->loss == NN_LOSS_XENT) {
        double zmax = z[0], sum = 0.0;
        for (int j = 1; j < K; j++)
            zmax = z[j] > zmax ? z[j] : zmax;
        for (int j = 0; j < K; j++)
            sum += exp((double)z[j] - zmax);
        return exp((double)z[k] - zmax) / sum;
    }
    if (pre->y_shift) /* y = out * y_scale + y_shift, in float32 as nn_preprocess_unapply_y */
        return (double)(z[k] * pre->y_scale[k] + pre->y_shift[k]);
    return (double)z[k];
}

static int argmax(const float *z, int K)
{
    int best = 0;
    for (int j = 1; j < K; j++)
        if (z[j] > z[best])
            best = j;
    return best;
}

/* nn_attr_grad with the class of row i in cls[i / rep] (rep >= 1); f may be NULL. */
static void grad_rep(const nn_attr_model *m, const float *x, int B, const int *cls, int rep,
                     int *pred, float *f, float *g)
{
    const nn_layout *lo = m->lo;
    const int D = lo->sizes[0], K = lo->sizes[lo->n_layers], L = lo->n_layers;
    memcpy(m->xs, x, (size_t)B * (size_t)D * sizeof(float));
    nn_preprocess_apply_x(m->pre, m->xs, (size_t)B, D);
    nn_forward(lo, m->params, m->w, m->xs, B);
    const float *z = m->w->act[L]; /* (B, K) logits or outputs */
    for (int i = 0; i < B; i++) {
        const float *zi = z + (size_t)i * K;
        int k = cls ? cls[i / rep] : argmax(zi, K);
        if (pred)
            pred[i] = k;
        double fi = nn_attr_value(lo, m->pre, zi, k);
        if (f)
            f[i] = (float)fi;
        if (!g)
            continue;
        float *dz = m->w->delta_a + (size_t)i * K; /* df/dz of row i (K) */
        if (lo->loss == NN_LOSS_XENT) {
            double zmax = zi[argmax(zi, K)], sum = 0.0;
            for (int j = 0; j < K; j++)
                sum += exp((double)zi[j] - zmax);
            for (int j = 0; j < K; j++) /* dp_k/dz_j = p_k (delta_kj - p_j) */
                dz[j] = (float)(fi * ((j == k) - exp((double)zi[j] - zmax) / sum));
        } else {
            memset(dz, 0, (size_t)K * sizeof(float));
            dz[k] = m->pre->y_shift ? m->pre->y_scale[k] : 1.0f;
        }
    }
    if (!g)
        return;
    nn_backward_input(lo, m->params, m->w, B, g); /* df/dx' (B, D) */
    if (m->pre->x_shift) /* x' = (x - x_shift) / x_scale: df/dx = df/dx' / x_scale */
        for (int i = 0; i < B; i++)
            for (int j = 0; j < D; j++)
                g[(size_t)i * D + j] /= m->pre->x_scale[j];
}

void nn_attr_grad(const nn_attr_model *m, const float *x, int B, const int *cls, int *pred,
                  float *f, float *g)
{
    grad_rep(m, x, B, cls, 1, pred, f, g);
}

void nn_attr_ig(const nn_attr_model *m, const float *x, const float *b, int n, int steps,
                const int *cls, float *xpath, double *acc, float *attr)
{
    const int D = m->lo->sizes[0];
    const size_t S = (size_t)steps;
    for (int i = 0; i < n; i++) /* row i's path: rows i*steps .. (i+1)*steps - 1 */
        for (size_t s = 0; s < S; s++) {
            float a = (float)(((double)s + 0.5) / (double)steps);
            const float *xi = x + (size_t)i * D;
            float *r = xpath + ((size_t)i * S + s) * D;
            for (int j = 0; j < D; j++)
                r[j] = b[j] + a * (xi[j] - b[j]);
        }
    /* the gradients overwrite the path, row for row (grad_rep copied it into m->xs first) */
    grad_rep(m, xpath, n * steps, cls, steps, NULL, NULL, xpath);
    for (int i = 0; i < n; i++) {
        memset(acc, 0, (size_t)D * sizeof(double));
        for (size_t s = 0; s < S; s++) {
            const float *gr = xpath + ((size_t)i * S + s) * D;
            for (int j = 0; j < D; j++)
                acc[j] += gr[j];
        }
        const float *xi = x + (size_t)i * D;
        for (int j = 0; j < D; j++)
            attr[(size_t)i * D + j] = (float)(((double)xi[j] - b[j]) * acc[j] / (double)steps);
    }
}
