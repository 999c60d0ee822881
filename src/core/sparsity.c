/* sparsity.c: the cubic pruning schedule, masks by magnitude and their application
 * (nn_sparsity.h). */
#include <math.h>
#include <string.h>

#include "nn_sparsity.h"

double nn_sparsity_at(double S, long t0, long t1, long t)
{
    if (t < t0)
        return 0.0;
    if (t >= t1)
        return S;
    double r = 1.0 - (double)(t - t0) / (double)(t1 - t0);
    return S * (1.0 - r * r * r);
}

size_t nn_sparsity_count(double s, size_t n)
{
    double k = floor(s * (double)n);
    return k <= 0.0 ? 0 : k >= (double)n ? n : (size_t)k;
}

/* The value the k-th smallest (0-based) of x[0 .. n) would have in sorted order; reorders x.
 * Quickselect with a median-of-three pivot and a three-way partition, no randomness. */
static float kth_smallest(float *x, long n, long k)
{
    long lo = 0, hi = n - 1;
    for (;;) {
        if (lo >= hi)
            return x[k];
        float a = x[lo], b = x[lo + (hi - lo) / 2], c = x[hi];
        float p = a < b ? (b < c ? b : a < c ? c : a) : (a < c ? a : b < c ? c : b);
        long lt = lo, i = lo, gt = hi;
        while (i <= gt) { /* x[lo, lt) < p, x[lt, i) == p, x(gt, hi] > p */
            float v = x[i];
            if (v < p) {
                x[i++] = x[lt];
                x[lt++] = v;
            } else if (v > p) {
                x[i] = x[gt];
                x[gt--] = v;
            } else {
                i++;
            }
        }
        if (k < lt)
            hi = lt - 1;
        else if (k > gt)
            lo = gt + 1;
        else
            return p;
    }
}

static float key_of(const float *w, const unsigned char *mask, size_t i)
{
    return mask[i] ? fabsf(w[i]) : -1.0f;
}

size_t nn_mask_select(const float *w, unsigned char *mask, const size_t *off, const size_t *cnt,
                      int n_ranges, size_t k, float *keys)
{
    size_t n = 0;
    for (int r = 0; r < n_ranges; r++)
        for (size_t i = off[r]; i < off[r] + cnt[r]; i++)
            keys[n++] = key_of(w, mask, i);
    if (k > n)
        k = n;
    if (k == 0) { /* nothing pruned: every position kept */
        for (int r = 0; r < n_ranges; r++)
            memset(mask + off[r], 1, cnt[r]);
        return 0;
    }
    float tau = kth_smallest(keys, (long)n, (long)k - 1);
    /* all keys below tau go; of those equal to it, the lowest positions until k are gone */
    size_t below = 0;
    for (int r = 0; r < n_ranges; r++)
        for (size_t i = off[r]; i < off[r] + cnt[r]; i++)
            below += key_of(w, mask, i) < tau;
    size_t ties = k - below;
    for (int r = 0; r < n_ranges; r++)
        for (size_t i = off[r]; i < off[r] + cnt[r]; i++) {
            float key = key_of(w, mask, i);
            unsigned char keep = key > tau || (key == tau && ties == 0);
            if (key == tau && ties > 0)
                ties--;
            mask[i] = keep;
        }
    return k;
}

void nn_mask_apply(float *p, float *m, float *v, const unsigned char *mask, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!mask[i]) {
            p[i] = 0.0f;
            if (m)
                m[i] = 0.0f;
            if (v)
                v[i] = 0.0f;
        }
}

size_t nn_mask_zeros(const unsigned char *mask, size_t n)
{
    size_t z = 0;
    for (size_t i = 0; i < n; i++)
        z += mask[i] == 0;
    return z;
}
