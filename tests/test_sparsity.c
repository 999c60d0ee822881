/* test_sparsity.c: the pruning schedule at chosen steps (values worked out by hand), masks by
 * magnitude against a reference that sorts (with ties and already-pruned weights), and the
 * mask applied to weights and optimizer moments. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn_rng.h"
#include "nn_sparsity.h"

#define NEAR(a, b) assert_true(fabs((a) - (b)) < 1e-12)

static void test_schedule(void **s)
{
    (void)s;
    /* S = 0.9 from step 10 to 20: s = 0.9 (1 - (1 - (t - 10)/10)^3) */
    NEAR(nn_sparsity_at(0.9, 10, 20, 0), 0.0);
    NEAR(nn_sparsity_at(0.9, 10, 20, 10), 0.0);
    NEAR(nn_sparsity_at(0.9, 10, 20, 15), 0.9 * (1.0 - 0.125));
    NEAR(nn_sparsity_at(0.9, 10, 20, 19), 0.9 * (1.0 - 0.001));
    NEAR(nn_sparsity_at(0.9, 10, 20, 20), 0.9);
    NEAR(nn_sparsity_at(0.9, 10, 20, 1000), 0.9);
    assert_int_equal(nn_sparsity_count(0.9, 1000), 900);
    assert_int_equal(nn_sparsity_count(0.0, 1000), 0);
    assert_int_equal(nn_sparsity_count(0.5, 3), 1);
    assert_int_equal(nn_sparsity_count(1.0, 7), 7);
}

/* The reference: positions sorted by (key, position), the first k pruned. */
static const float *ref_keys;
static int cmp_pos(const void *a, const void *b)
{
    size_t i = *(const size_t *)a, j = *(const size_t *)b;
    if (ref_keys[i] != ref_keys[j])
        return ref_keys[i] < ref_keys[j] ? -1 : 1;
    return i < j ? -1 : i > j;
}

static void reference(const float *w, const unsigned char *before, unsigned char *mask,
                      const size_t *off, const size_t *cnt, int nr, size_t k, size_t total)
{
    float *key = malloc(total * sizeof *key);
    size_t *pos = malloc(total * sizeof *pos), n = 0;
    for (size_t i = 0; i < total; i++)
        key[i] = before[i] ? fabsf(w[i]) : -1.0f;
    for (int r = 0; r < nr; r++)
        for (size_t i = off[r]; i < off[r] + cnt[r]; i++)
            pos[n++] = i;
    ref_keys = key;
    qsort(pos, n, sizeof *pos, cmp_pos);
    memcpy(mask, before, total);
    for (size_t j = 0; j < n; j++)
        mask[pos[j]] = j >= k;
    free(key);
    free(pos);
}

static void test_select_against_sort(void **s)
{
    (void)s;
    enum { N = 3000 };
    float *w = malloc(N * sizeof *w), *keys = malloc(N * sizeof *keys);
    unsigned char *mask = malloc(N), *want = malloc(N), *before = malloc(N);
    nn_rng r;
    nn_rng_seed(&r, 7, 0);
    /* three "kernels" with a gap between them (a bias) that is never touched */
    size_t off[3] = {0, 1010, 2100}, cnt[3] = {1000, 1080, 900};
    for (int trial = 0; trial < 40; trial++) {
        for (size_t i = 0; i < N; i++) {
            /* coarse values: many ties; some exact zeros; some already pruned */
            w[i] = (float)((int)(nn_rng_uniform(&r) * 50.0) - 25) / 8.0f;
            before[i] = nn_rng_uniform(&r) > 0.2 * (trial % 3);
        }
        size_t total = cnt[0] + cnt[1] + cnt[2];
        size_t k = (size_t)(nn_rng_uniform(&r) * (double)total);
        if (trial == 0)
            k = 0;
        if (trial == 1)
            k = total;
        memcpy(mask, before, N);
        size_t got = nn_mask_select(w, mask, off, cnt, 3, k, keys);
        reference(w, before, want, off, cnt, 3, k, N);
        assert_int_equal(got, k);
        assert_memory_equal(mask, want, N);
        size_t z = nn_mask_zeros(mask + off[0], cnt[0]) + nn_mask_zeros(mask + off[1], cnt[1]) +
                   nn_mask_zeros(mask + off[2], cnt[2]);
        assert_int_equal(z, k);
        /* outside the ranges nothing changed */
        assert_memory_equal(mask + 1000, before + 1000, 10);
        assert_memory_equal(mask + 2090, before + 2090, 10);
        /* a pruned weight stays pruned while k covers the pruned ones */
        size_t was = 0;
        for (int q = 0; q < 3; q++)
            was += nn_mask_zeros(before + off[q], cnt[q]);
        if (k >= was)
            for (size_t i = 0; i < N; i++)
                assert_true(before[i] || !mask[i]);
        /* and the kept weights are the largest: every kept |w| >= every newly pruned |w| */
        float min_kept = INFINITY, max_pruned = -1.0f;
        for (int q = 0; q < 3; q++)
            for (size_t i = off[q]; i < off[q] + cnt[q]; i++) {
                if (mask[i] && fabsf(w[i]) < min_kept)
                    min_kept = fabsf(w[i]);
                if (!mask[i] && before[i] && fabsf(w[i]) > max_pruned)
                    max_pruned = fabsf(w[i]);
            }
        assert_true(max_pruned <= min_kept);
    }
    free(w);
    free(keys);
    free(mask);
    free(want);
    free(before);
}

static void test_apply(void **s)
{
    (void)s;
    float p[6] = {1, -2, 3, -4, 5, -6}, m[6] = {1, 1, 1, 1, 1, 1}, v[6] = {2, 2, 2, 2, 2, 2};
    unsigned char mask[6] = {1, 0, 1, 0, 0, 1};
    nn_mask_apply(p, m, v, mask, 6);
    const float wp[6] = {1, 0, 3, 0, 0, -6}, wm[6] = {1, 0, 1, 0, 0, 1}, wv[6] = {2, 0, 2, 0, 0, 2};
    for (int i = 0; i < 6; i++) {
        uint32_t bits;
        memcpy(&bits, &p[i], 4);
        assert_true(mask[i] || bits == 0); /* exactly +0, not -0 */
        assert_true(p[i] == wp[i] && m[i] == wm[i] && v[i] == wv[i]);
    }
    nn_mask_apply(p, NULL, NULL, mask, 6); /* moments optional */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_schedule),
        cmocka_unit_test(test_select_against_sort),
        cmocka_unit_test(test_apply),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
