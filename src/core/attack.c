/* attack.c: adversarial inputs within an L-infinity ball (nn_attack.h): the signed step, the
 * projection onto the ball and the range, and the loss gradient with respect to the input. */
#include <string.h>

#include "nn_attack.h"
#include "nn_kernels.h"

static const char *const names[] = {"none", "fgsm", "pgd"};

int nn_attack_from_name(const char *s)
{
    for (int k = 0; k < 3; k++)
        if (strcmp(s, names[k]) == 0)
            return k;
    return -1;
}

const char *nn_attack_name(nn_attack_kind k)
{
    return (unsigned)k < 3 ? names[k] : "?";
}

/* x clamped to [L, U] of feature j of a row whose clean value is c. */
static inline float clamp_j(float x, float c, float e, float lo, float hi)
{
    float l = lo < c ? lo : c, u = hi > c ? hi : c; /* the range, widened to include c */
    float bl = c - e, bu = c + e;
    l = bl > l ? bl : l;
    u = bu < u ? bu : u;
    return x < l ? l : (x > u ? u : x);
}

void nn_attack_step(float *x, const float *x0, const float *g, size_t n, int d, const float *a,
                    const float *e, const float *lo, const float *hi)
{
    for (size_t i = 0; i < n; i++) {
        float *r = x + i * (size_t)d;           /* (d) */
        const float *c = x0 + i * (size_t)d;    /* (d) */
        const float *gr = g + i * (size_t)d;    /* (d) */
        for (int j = 0; j < d; j++) {
            float s = gr[j] > 0.0f ? a[j] : (gr[j] < 0.0f ? -a[j] : 0.0f);
            r[j] = clamp_j(r[j] + s, c[j], e[j], lo[j], hi[j]);
        }
    }
}

void nn_attack_project(float *x, const float *x0, size_t n, int d, const float *e,
                       const float *lo, const float *hi)
{
    for (size_t i = 0; i < n; i++)
        for (int j = 0; j < d; j++) {
            size_t k = i * (size_t)d + (size_t)j;
            x[k] = clamp_j(x[k], x0[k], e[j], lo[j], hi[j]);
        }
}

void nn_attack_row_loss(const nn_layout *lo, const float *out, nn_batch_y y, int n,
                        float *row_loss)
{
    const int K = lo->sizes[lo->n_layers];
    for (int i = 0; i < n; i++) {
        nn_batch_y yi = {y.labels ? y.labels + i : NULL,
                         y.targets ? y.targets + (size_t)i * K : NULL, y.class_w, y.y_scale};
        row_loss[i] = (float)nn_loss_only(lo, out + (size_t)i * K, yi, 1, NULL);
    }
}

/* Softmax cross-entropy with a label y: dL/dz_y = p_y - 1, which float32 rounds to 0 once
 * p_y is within 6e-8 of 1, while the other classes' p_j stay exact; the gradient would then
 * point along the other classes' weights alone instead of away from the label's. As
 * p_y - 1 = -sum_{j != y} p_j (a class weight scales every entry alike), the label's entry
 * is taken as minus the sum of the others, in full relative precision. */
static void label_entries(const nn_layout *lo, nn_work *w, nn_batch_y y, int n)
{
    const int K = lo->sizes[lo->n_layers];
    if (lo->loss != NN_LOSS_XENT || !y.labels)
        return;
    for (int i = 0; i < n; i++) {
        float *d = w->delta_a + (size_t)i * K; /* (K) */
        double s = 0.0;
        for (int j = 0; j < K; j++)
            s += j == y.labels[i] ? 0.0 : (double)d[j];
        d[y.labels[i]] = (float)-s;
    }
}

void nn_attack_grad(const nn_layout *lo, const float *params, nn_work *w, const float *xs,
                    nn_batch_y y, int n, float *g, float *row_loss)
{
    nn_forward_train(lo, params, w, xs, n, 0.0f, NULL);
    nn_loss_and_grad(lo, w, y, n, NULL); /* dL/dZ_L of the sum of the rows' losses */
    label_entries(lo, w, y, n);
    if (row_loss)
        nn_attack_row_loss(lo, w->act[lo->n_layers], y, n, row_loss);
    nn_backward_input(lo, params, w, n, g);
}
