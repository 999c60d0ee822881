/* test_qmodel.c: the int8 model of nn_qmodel.h. Quantisation against the formula computed
 * here element by element (scales, codes, dequantised weights, bit for bit); the forward pass
 * against a plain scalar version of the documented arithmetic (bit for bit), against the float
 * model (close), alike in every batch and for dense and CSC storage; the storage auto picks;
 * and the checks a damaged model fails. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn_hash.h"
#include "nn_model.h"
#include "nn_qmodel.h"
#include "nn_rng.h"

/* A model 9-17-12-4 (relu, xent) with random parameters, the smallest `zero` fraction of
 * layer 0's kernel set to exactly 0 (a pruned layer), one column of layer 1 all zero. */
static float *make_model(nn_layout *lo, double zero, uint64_t seed)
{
    int sizes[] = {9, 17, 12, 4};
    char err[128];
    assert_int_equal(nn_layout_init(lo, sizes, 3, NN_ACT_RELU, NN_LOSS_XENT, err, sizeof err), 0);
    float *p = malloc(lo->n_params * sizeof(float));
    nn_params_init(lo, p, seed);
    nn_rng r;
    nn_rng_seed(&r, seed, 1);
    for (int i = 0; i < lo->n_layers; i++)
        for (int j = 0; j < lo->sizes[i + 1]; j++)
            p[lo->b_off[i] + j] = (float)(0.2 * (nn_rng_uniform(&r) - 0.5));
    size_t n0 = (size_t)sizes[0] * sizes[1];
    for (size_t k = 0; k < n0; k++)
        if (nn_rng_uniform(&r) < zero)
            p[lo->w_off[0] + k] = 0.0f;
    for (int i = 0; i < sizes[1]; i++)
        p[lo->w_off[1] + (size_t)i * sizes[2] + 5] = 0.0f;
    return p;
}

static void random_rows(float *x, int B, int D, uint64_t seed)
{
    nn_rng r;
    nn_rng_seed(&r, seed, 2);
    for (int k = 0; k < B * D; k++)
        x[k] = (float)(4.0 * (nn_rng_uniform(&r) - 0.5));
    for (int j = 0; j < D; j++) /* an all-zero row: scale 0 */
        x[(size_t)(B - 1) * D + j] = 0.0f;
}

/* Scales, codes and dequantised weights are the formula's, element by element. */
static void test_quantize_formula(void **state)
{
    (void)state;
    nn_layout lo;
    float *p = make_model(&lo, 0.9, 7);
    for (int pick = NN_QPICK_INT8; pick <= NN_QPICK_CSC; pick++) {
        nn_qmodel q;
        char err[256];
        assert_int_equal(nn_qmodel_quantize(&q, &lo, p, (nn_qpick)pick, err, sizeof err), 0);
        assert_int_equal(nn_qmodel_check(&q, err, sizeof err), 0);
        float *dq = malloc(lo.n_params * sizeof(float));
        nn_qmodel_dequantize(&q, dq);
        for (int i = 0; i < lo.n_layers; i++) {
            int in = lo.sizes[i], out = lo.sizes[i + 1];
            const float *w = p + lo.w_off[i];
            for (int j = 0; j < out; j++) {
                float m = 0.0f;
                for (int k = 0; k < in; k++)
                    m = fmaxf(m, fabsf(w[(size_t)k * out + j]));
                float s = m / 127.0f;
                if (nn_qlayer_scale(&q, i)[j] != s)
                    fail_msg("layer %d col %d: scale %.9g, expected %.9g", i, j,
                             (double)nn_qlayer_scale(&q, i)[j], (double)s);
                for (int k = 0; k < in; k++) {
                    float c = s > 0.0f ? nearbyintf(w[(size_t)k * out + j] / s) : 0.0f;
                    assert_true(c >= -127.0f && c <= 127.0f);
                    float want = (float)(int)c * s, got = dq[lo.w_off[i] + (size_t)k * out + j];
                    if (memcmp(&want, &got, sizeof want) != 0)
                        fail_msg("layer %d [%d,%d]: dequantised %.9g, expected %.9g", i, k, j,
                                 (double)got, (double)want);
                }
            }
            assert_memory_equal(dq + lo.b_off[i], p + lo.b_off[i], (size_t)out * sizeof(float));
        }
        free(dq);
        nn_qmodel_free(&q);
    }
    free(p);
}

/* The documented forward pass, written out plainly (int64 sums over the dequantised codes'
 * integers): nn_qforward must give the same bits. */
static void reference(const nn_layout *lo, const float *p, const float *x, int B, float *out)
{
    float *a = malloc((size_t)B * lo->max_width * sizeof(float));
    float *z = malloc((size_t)B * lo->max_width * sizeof(float));
    memcpy(a, x, (size_t)B * lo->sizes[0] * sizeof(float));
    for (int i = 0; i < lo->n_layers; i++) {
        int in = lo->sizes[i], out = lo->sizes[i + 1];
        const float *w = p + lo->w_off[i], *b = p + lo->b_off[i];
        for (int r = 0; r < B; r++) {
            const float *xr = a + (size_t)r * in;
            float m = 0.0f;
            for (int k = 0; k < in; k++)
                m = fmaxf(m, fabsf(xr[k]));
            float as = m / 127.0f;
            for (int j = 0; j < out; j++) {
                float cm = 0.0f;
                for (int k = 0; k < in; k++)
                    cm = fmaxf(cm, fabsf(w[(size_t)k * out + j]));
                float s = cm / 127.0f;
                long long sum = 0;
                for (int k = 0; k < in; k++) {
                    long long xq = as > 0.0f ? (long long)nearbyintf(xr[k] / as) : 0;
                    long long wq = s > 0.0f ? (long long)nearbyintf(w[(size_t)k * out + j] / s)
                                            : 0;
                    sum += xq * wq;
                }
                float v = (float)sum * (as * s) + b[j];
                if (i + 1 < lo->n_layers && v < 0.0f)
                    v = 0.0f;
                z[(size_t)r * out + j] = v;
            }
        }
        memcpy(a, z, (size_t)B * out * sizeof(float));
    }
    memcpy(out, a, (size_t)B * lo->sizes[lo->n_layers] * sizeof(float));
    free(a);
    free(z);
}

/* Bit for bit the reference, for INT8 and CSC storage and one row at a time; close to the
 * float model. */
static void test_forward(void **state)
{
    (void)state;
    nn_layout lo;
    float *p = make_model(&lo, 0.9, 11);
    const int B = 23, D = lo.sizes[0], K = lo.sizes[lo.n_layers];
    float *x = malloc((size_t)B * D * sizeof(float));
    random_rows(x, B, D, 3);
    float *want = malloc((size_t)B * K * sizeof(float)), *got[2];
    reference(&lo, p, x, B, want);
    for (int pick = NN_QPICK_INT8; pick <= NN_QPICK_CSC; pick++) {
        nn_qmodel q;
        char err[256];
        assert_int_equal(nn_qmodel_quantize(&q, &lo, p, (nn_qpick)pick, err, sizeof err), 0);
        for (int i = 0; i < lo.n_layers; i++)
            assert_int_equal(q.layer[i].storage,
                             pick == NN_QPICK_CSC ? NN_QSTORE_CSC : NN_QSTORE_INT8);
        nn_work w;
        assert_int_equal(nn_work_init(&w, &lo, B), 0);
        nn_qforward(&q, &w, x, B);
        got[pick - 1] = malloc((size_t)B * K * sizeof(float));
        memcpy(got[pick - 1], w.act[lo.n_layers], (size_t)B * K * sizeof(float));
        for (int r = 0; r < B * K; r++)
            if (memcmp(&got[pick - 1][r], &want[r], sizeof(float)) != 0)
                fail_msg("%s: output %d is %.9g, the reference %.9g",
                         nn_qstore_name(q.layer[0].storage), r, (double)got[pick - 1][r],
                         (double)want[r]);
        for (int r = 0; r < B; r++) { /* one row alone: the same bits */
            nn_qforward(&q, &w, x + (size_t)r * D, 1);
            assert_memory_equal(w.act[lo.n_layers], want + (size_t)r * K, K * sizeof(float));
        }
        /* close to the float model of the same (dequantised) weights */
        float *dq = malloc(lo.n_params * sizeof(float));
        nn_qmodel_dequantize(&q, dq);
        nn_forward(&lo, dq, &w, x, B);
        double worst = 0.0, big = 0.0;
        for (int r = 0; r < B * K; r++) {
            worst = fmax(worst, fabs((double)w.act[lo.n_layers][r] - (double)want[r]));
            big = fmax(big, fabs((double)w.act[lo.n_layers][r]));
        }
        if (!(worst <= 0.03 * big && big > 0.0))
            fail_msg("int8 outputs differ from the float model's by %g (largest output %g)",
                     worst, big);
        free(dq);
        nn_work_free(&w);
        nn_qmodel_free(&q);
    }
    assert_memory_equal(got[0], got[1], (size_t)B * K * sizeof(float));
    free(got[0]);
    free(got[1]);
    free(want);
    free(x);
    free(p);
}

/* auto: CSC for the 90%-zero layer 0, dense codes for the others; the arrays' bytes add up. */
static void test_auto_pick(void **state)
{
    (void)state;
    nn_layout lo;
    float *p = make_model(&lo, 0.9, 5);
    nn_qmodel q;
    char err[256];
    assert_int_equal(nn_qmodel_quantize(&q, &lo, p, NN_QPICK_AUTO, err, sizeof err), 0);
    assert_int_equal(q.layer[0].storage, NN_QSTORE_CSC);
    assert_int_equal(q.layer[1].storage, NN_QSTORE_INT8);
    size_t nz = 0;
    for (size_t k = 0; k < (size_t)lo.sizes[0] * lo.sizes[1]; k++)
        nz += p[lo.w_off[0] + k] != 0.0f;
    assert_true(q.layer[0].nnz <= nz && q.layer[0].nnz > 0);
    uint64_t bytes = 0;
    for (int i = 0; i < lo.n_layers; i++) {
        const nn_qlayer *l = &q.layer[i];
        bytes += l->nnz + 8 * (uint64_t)l->out +
                 (l->storage == NN_QSTORE_CSC ? 2 * l->nnz + 4 * ((uint64_t)l->out + 1) : 0);
    }
    assert_int_equal(nn_qmodel_array_bytes(&q), bytes);
    nn_qmodel_free(&q);
    free(p);
}

/* A damaged model fails nn_qmodel_check, and any changed byte changes the hash. */
static void test_check_and_hash(void **state)
{
    (void)state;
    nn_layout lo;
    float *p = make_model(&lo, 0.9, 9);
    nn_qmodel q;
    char err[256];
    assert_int_equal(nn_qmodel_quantize(&q, &lo, p, NN_QPICK_CSC, err, sizeof err), 0);
    uint64_t h = nn_qmodel_hash(&q, NN_FNV_OFFSET);
    int8_t *c = (int8_t *)(q.blob + q.layer[1].codes);
    uint16_t *idx = (uint16_t *)(q.blob + q.layer[0].idx);
    uint32_t *ptr = (uint32_t *)(q.blob + q.layer[0].ptr);
    float *s = (float *)(q.blob + q.layer[2].scale);
    struct {
        void *at;
        size_t n;
        unsigned char bad[4];
        const char *says;
    } cases[] = {
        {c, 1, {0x80}, "code -128"},
        {idx, 2, {0xff, 0x00}, "row 255"},
        {&ptr[10], 4, {0x00, 0x00, 0x00, 0x00}, "ends before it starts"},
        {&ptr[lo.sizes[1]], 4, {0x01, 0x00, 0x00, 0x00}, "CSC columns start at 0 and end at 1"},
        {s, 4, {0x00, 0x00, 0xc0, 0x7f}, "expected a finite scale"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        unsigned char keep[4];
        memcpy(keep, cases[k].at, cases[k].n);
        memcpy(cases[k].at, cases[k].bad, cases[k].n);
        assert_int_not_equal(nn_qmodel_hash(&q, NN_FNV_OFFSET), h);
        if (nn_qmodel_check(&q, err, sizeof err) == 0 || !strstr(err, cases[k].says))
            fail_msg("case %zu: check says '%s', expected '%s'", k, err, cases[k].says);
        memcpy(cases[k].at, keep, cases[k].n);
    }
    assert_int_equal(nn_qmodel_check(&q, err, sizeof err), 0);
    assert_int_equal(nn_qmodel_hash(&q, NN_FNV_OFFSET), h);
    nn_qmodel_free(&q);
    free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_quantize_formula),
        cmocka_unit_test(test_forward),
        cmocka_unit_test(test_auto_pick),
        cmocka_unit_test(test_check_and_hash),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
