/* optim.c: SGD (with momentum) and Adam/AdamW, each one pass over a tensor's floats. */
#include <math.h>
#include <string.h>

#include "nn_args.h"
#include "nn_model.h"
#include "nn_optim.h"

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define NN_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define NN_CLONES
#endif

static const char *const opt_names[] = {"sgd", "gd", "adam", "adamw"};

const char *nn_opt_name(nn_opt_kind k) { return opt_names[k]; }

int nn_opt_from_name(const char *s)
{
    return nn_name_index(opt_names, (int)(sizeof opt_names / sizeof *opt_names), s);
}

void nn_sgd_update(float *p, const float *g, float *buf, size_t n, float grad_scale,
                   const nn_opt_hparams *hp, nn_opt_decay d)
{
    const float lr = hp->lr, mu = hp->momentum;
    if (buf && mu != 0.0f) {
        for (size_t i = 0; i < n; i++) {
            float gi = g[i] * grad_scale + nn_reg_term(p[i], d.l1, d.l2);
            buf[i] = mu * buf[i] + gi;
            p[i] -= lr * buf[i];
        }
    } else {
        for (size_t i = 0; i < n; i++)
            p[i] -= lr * (g[i] * grad_scale + nn_reg_term(p[i], d.l1, d.l2));
    }
}

nn_adam_corr nn_adam_corrections(const nn_opt_hparams *hp, long t)
{
    /* In double: b^t for large t must not lose the small difference from 1. */
    nn_adam_corr c = {(float)(1.0 / (1.0 - pow(hp->beta1, (double)t))),
                      (float)(1.0 / (1.0 - pow(hp->beta2, (double)t)))};
    return c;
}

void nn_adam_update(float *p, const float *g, float *m, float *v, size_t n, float grad_scale,
                    const nn_opt_hparams *hp, nn_opt_decay d, long t)
{
    nn_adam_apply(p, g, m, v, n, grad_scale, hp, d, nn_adam_corrections(hp, t));
}

/* One pass over the floats; compiled for AVX2 as well as the baseline, and the loader picks
 * the best the CPU has (GCC target_clones): in cache, the 8-wide sqrt and division halve the
 * time of the 4-wide SSE2 baseline. The results are the same bits either way: IEEE sqrt and
 * division are exact, and ISO C mode does not contract a*b+c into an FMA. */
NN_CLONES void nn_adam_apply(float *restrict p, const float *restrict g, float *restrict m,
                   float *restrict v, size_t n, float grad_scale, const nn_opt_hparams *hp,
                   nn_opt_decay d, nn_adam_corr corr)
{
    const float b1 = hp->beta1, b2 = hp->beta2, eps = hp->eps, lr = hp->lr;
    const float c1 = corr.c1, c2 = corr.c2;
    const float decay = 1.0f - lr * d.weight_decay; /* AdamW, decoupled from the gradient */
    for (size_t i = 0; i < n; i++) {
        float gi = g[i] * grad_scale + nn_reg_term(p[i], d.l1, d.l2);
        float mi = b1 * m[i] + (1.0f - b1) * gi;
        float vi = b2 * v[i] + (1.0f - b2) * gi * gi;
        m[i] = mi;
        v[i] = vi;
        p[i] = p[i] * decay - lr * (mi * c1) / (sqrtf(vi * c2) + eps);
    }
}

void nn_reg_grad(const nn_layout *lo, const float *params, float *grads, float l1, float l2)
{
    for (int i = 0; i < lo->n_layers; i++) {
        const float *w = params + lo->w_off[i];
        float *g = grads + lo->w_off[i];
        size_t n = (size_t)lo->sizes[i] * lo->sizes[i + 1];
        for (size_t j = 0; j < n; j++)
            g[j] += nn_reg_term(w[j], l1, l2);
    }
}
