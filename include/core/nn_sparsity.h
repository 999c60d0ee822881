/* nn_sparsity.h: magnitude pruning's pure parts (src/core/sparsity.c): the cubic sparsity
 * schedule of Zhu & Gupta (2017), masks that keep the largest magnitudes, and the mask
 * applied to a tensor and its optimizer state. No I/O, no MPI; docs/shrink.md.
 *
 * A mask is one byte per float of the flat parameter buffer: 1 keep, 0 pruned. */
#ifndef NN_SPARSITY_H
#define NN_SPARSITY_H

#include <stddef.h>

/* The target sparsity at optimizer step t of a schedule from step t0 (sparsity 0) to t1
 * (sparsity S): S (1 - (1 - (t - t0) / (t1 - t0))^3) inside, 0 before t0, S from t1 on
 * (Zhu & Gupta's s_t = s_f + (s_i - s_f)(1 - (t - t0)/(n dt))^3 with s_i = 0). */
double nn_sparsity_at(double S, long t0, long t1, long t);

/* How many of n weights a sparsity s prunes: floor(s n), computed in double. */
size_t nn_sparsity_count(double s, size_t n);

/* The mask over the n_ranges ranges [off[r], off[r] + cnt[r]) of w, chosen together: the k
 * positions of smallest key are pruned (mask 0) and the others kept (mask 1), where a key is
 * |w| for a kept weight and -1 for one the mask already prunes (so a pruned weight stays
 * pruned while k does not shrink). Ties at the k-th key go to the lower position, so the
 * result is a pure function of (w, mask): every rank that holds the same weights derives the
 * same mask. keys is scratch for sum(cnt) floats. Returns the number pruned (k, or sum(cnt)
 * if k is larger). */
size_t nn_mask_select(const float *w, unsigned char *mask, const size_t *off, const size_t *cnt,
                      int n_ranges, size_t k, float *keys);

/* p, m and v (m, v may be NULL) set to exactly 0 wherever mask is 0, over n floats. */
void nn_mask_apply(float *p, float *m, float *v, const unsigned char *mask, size_t n);

/* The zeros of mask over [off, off + n). */
size_t nn_mask_zeros(const unsigned char *mask, size_t n);

#endif
