/* kd.c: the distillation loss over logits (nn_kd.h). */
#include <math.h>
#include <stddef.h>

#include "nn_kd.h"

/* p (K) = softmax(z / T) in double; returns log of its normaliser, so log p_j = z_j/T - lse. */
static double soft(const float *z, int K, double T, double *p)
{
    double m = (double)z[0] / T;
    for (int j = 1; j < K; j++)
        if ((double)z[j] / T > m)
            m = (double)z[j] / T;
    double sum = 0.0;
    for (int j = 0; j < K; j++)
        sum += p[j] = exp((double)z[j] / T - m);
    for (int j = 0; j < K; j++)
        p[j] /= sum;
    return m + log(sum);
}

double nn_kd_mix(const float *zs, const float *zt, int B, int K, float T, float alpha,
                 const int32_t *labels, const float *class_w, double ce_sum, float *dz)
{
    double ps[256], pt[256]; /* K <= 256 (checked by the caller at set-up) */
    const double t = (double)T, a = (double)alpha;
    double kd = 0.0;
    for (int i = 0; i < B; i++) {
        const float *s = zs + (size_t)i * K, *u = zt + (size_t)i * K;
        float *g = dz + (size_t)i * K;
        double ls = soft(s, K, t, ps), lt = soft(u, K, t, pt);
        double w = class_w ? (double)class_w[labels[i]] : 1.0, kl = 0.0;
        for (int j = 0; j < K; j++) {
            if (pt[j] > 0.0) /* 0 log 0 = 0 */
                kl += pt[j] * (((double)u[j] / t - lt) - ((double)s[j] / t - ls));
            g[j] = (float)((1.0 - a) * (double)g[j] + a * w * t * (ps[j] - pt[j]));
        }
        kd += w * kl;
    }
    return (1.0 - a) * ce_sum + a * t * t * kd;
}
