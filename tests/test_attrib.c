/* test_attrib.c: nn_attrib.h against independent references. The gradient of the attributed
 * value with respect to the raw input (through /preprocess's scaling, the softmax probability
 * of a class or a regression output in the targets' units) against central differences of
 * the same value; integrated gradients' completeness (attributions add up to f(x) - f(b))
 * within 1% at 64 steps; exact IG of relu models complete to float rounding and equal to a
 * very fine midpoint rule; and on a linear model, IG (both methods) equal to the hand-computed
 * (x - b) * w. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "nn_attrib.h"
#include "nn_rng.h"

typedef struct {
    nn_layout lo;
    float *params;
    nn_preprocess pre;
    nn_work w;
    float *xs;
    nn_attr_model m;
} model;

/* A random model of the given sizes; zscore scaling with shifts and scales away from 0 and 1,
 * and for regression a target map. Room for passes of max_rows rows. */
static void setup(model *t, const int *sizes, int n_layers, nn_act act, nn_loss loss,
                  int max_rows, uint64_t seed)
{
    char err[256];
    memset(t, 0, sizeof *t);
    assert_int_equal(nn_layout_init(&t->lo, sizes, n_layers, act, loss, err, sizeof err), 0);
    t->params = malloc(t->lo.n_params * sizeof(float));
    nn_params_init(&t->lo, t->params, seed);
    nn_rng r;
    nn_rng_seed(&r, seed, 99);
    for (int i = 0; i < n_layers; i++) /* nonzero biases, so no kink sits at x = 0 */
        for (int j = 0; j < sizes[i + 1]; j++)
            t->params[t->lo.b_off[i] + j] = (float)(nn_rng_uniform(&r) - 0.5) * 0.4f;
    const int D = sizes[0], K = sizes[n_layers];
    assert_int_equal(nn_preprocess_alloc(&t->pre, "zscore", D, loss == NN_LOSS_MSE ? K : 0), 0);
    for (int j = 0; j < D; j++) {
        t->pre.x_shift[j] = (float)(nn_rng_uniform(&r) * 4.0 - 2.0);
        t->pre.x_scale[j] = (float)(0.5 + nn_rng_uniform(&r) * 2.5);
    }
    for (int j = 0; t->pre.y_shift && j < K; j++) {
        t->pre.y_shift[j] = (float)(100.0 * nn_rng_uniform(&r));
        t->pre.y_scale[j] = (float)(5.0 + 20.0 * nn_rng_uniform(&r));
    }
    assert_int_equal(nn_work_init(&t->w, &t->lo, max_rows), 0);
    t->xs = malloc((size_t)max_rows * D * sizeof(float));
    t->m = (nn_attr_model){&t->lo, t->params, &t->pre, &t->w, t->xs};
}

static void teardown(model *t)
{
    free(t->params);
    free(t->xs);
    nn_work_free(&t->w);
    nn_preprocess_free(&t->pre);
}

/* x (n, D) around the scaling's shifts, a few of its scales away */
static float *inputs(const model *t, int n, uint64_t seed)
{
    const int D = t->lo.sizes[0];
    float *x = malloc((size_t)n * D * sizeof(float));
    nn_rng r;
    nn_rng_seed(&r, seed, 7);
    for (int i = 0; i < n * D; i++)
        x[i] = t->pre.x_shift[i % D] +
               t->pre.x_scale[i % D] * (float)(nn_rng_uniform(&r) * 3.0 - 1.5);
    return x;
}

/* f of one row for class k, as a one-row pass */
static double value(model *t, const float *row, int k)
{
    float f;
    nn_attr_grad(&t->m, row, 1, &k, NULL, &f, NULL);
    return f;
}

/* df/dx of every input of n rows against central differences in each raw feature. */
static void check_fd(const char *what, nn_act act, nn_loss loss, int given_class)
{
    static const int sizes[] = {6, 9, 7, 4};
    model t;
    const int n = 5, D = sizes[0], K = sizes[3];
    setup(&t, sizes, 3, act, loss, n, 1234);
    float *x = inputs(&t, n, 5), *g = malloc((size_t)n * D * sizeof(float)), f[5];
    int cls[5], pred[5];
    for (int i = 0; i < n; i++)
        cls[i] = (i + 1) % K;
    nn_attr_grad(&t.m, x, n, given_class ? cls : NULL, pred, f, g);
    double max_abs = 0.0;
    for (int i = 0; i < n; i++) {
        int k = given_class ? cls[i] : pred[i];
        if (given_class)
            assert_int_equal(pred[i], cls[i]);
        float *row = x + (size_t)i * D;
        double f1 = value(&t, row, k);
        if (fabs(f1 - f[i]) > 1e-5 * fmax(1.0, fabs(f1)))
            fail_msg("%s: row %d: f %.9g in a pass of %d, %.9g alone", what, i, f[i], n, f1);
        for (int j = 0; j < D; j++) {
            /* a step of 1e-3 of the feature's scale, in float32 as the data would be */
            float keep = row[j], h = 1e-3f * t.pre.x_scale[j] * (loss == NN_LOSS_MSE ? 1 : 4);
            row[j] = keep + h;
            double fp = value(&t, row, k);
            row[j] = keep - h;
            double fm = value(&t, row, k);
            row[j] = keep;
            double hh = ((double)(keep + h) - (double)(keep - h)) / 2.0;
            double num = (fp - fm) / (2.0 * hh), ana = g[(size_t)i * D + j];
            double scale = loss == NN_LOSS_MSE ? t.pre.y_scale[k] : 1.0;
            if (fabs(num - ana) > 2e-2 * fmax(fabs(num), fabs(ana)) + 2e-3 * scale)
                fail_msg("%s: row %d feature %d: analytic %.6g, finite difference %.6g", what,
                         i, j, ana, num);
            max_abs = fmax(max_abs, fabs(ana) / scale);
        }
    }
    if (max_abs < 1e-3)
        fail_msg("%s: the gradient is (nearly) zero everywhere (max %g)", what, max_abs);
    free(x);
    free(g);
    teardown(&t);
}

static void test_grad_fd(void **s)
{
    (void)s;
    check_fd("tanh, softmax probability of the predicted class", NN_ACT_TANH, NN_LOSS_XENT, 0);
    check_fd("relu, softmax probability of a given class", NN_ACT_RELU, NN_LOSS_XENT, 1);
    check_fd("sigmoid, regression output in target units", NN_ACT_SIGMOID, NN_LOSS_MSE, 1);
    check_fd("relu, regression output in target units", NN_ACT_RELU, NN_LOSS_MSE, 1);
}

/* The attributions of each row add up to f(x) - f(b) within 1% at STEPS steps. */
static void check_complete(const char *what, nn_act act, nn_loss loss, int STEPS)
{
    static const int sizes[] = {8, 12, 10, 3};
    enum { N = 6 };
    const int D = sizes[0];
    model t;
    setup(&t, sizes, 3, act, loss, N * STEPS, 77);
    float *x = inputs(&t, N, 11), *b = inputs(&t, 1, 12);
    float *path = malloc((size_t)N * STEPS * D * sizeof(float));
    float *attr = malloc((size_t)N * D * sizeof(float)), fx[N], fb;
    double acc[8];
    int cls[N];
    nn_attr_grad(&t.m, x, N, NULL, cls, fx, NULL);
    nn_attr_ig(&t.m, x, b, N, STEPS, cls, path, acc, attr);
    for (int i = 0; i < N; i++) {
        nn_attr_grad(&t.m, b, 1, &cls[i], NULL, &fb, NULL);
        double sum = 0.0, delta = (double)fx[i] - fb;
        for (int j = 0; j < D; j++)
            sum += attr[(size_t)i * D + j];
        if (fabs(delta) < 1e-3 * (loss == NN_LOSS_MSE ? t.pre.y_scale[cls[i]] : 1.0))
            fail_msg("%s: row %d: f(x) - f(b) = %g is too small to test", what, i, delta);
        if (fabs(sum - delta) > 0.01 * fabs(delta))
            fail_msg("%s: row %d: attributions sum to %.7g, f(x) - f(b) = %.7g (gap %.3g%%)",
                     what, i, sum, delta, 100.0 * fabs(sum - delta) / fabs(delta));
    }
    free(x);
    free(b);
    free(path);
    free(attr);
    teardown(&t);
}

static void test_ig_complete(void **s)
{
    (void)s;
    check_complete("IG tanh classifier", NN_ACT_TANH, NN_LOSS_XENT, 64);
    check_complete("IG sigmoid regression", NN_ACT_SIGMOID, NN_LOSS_MSE, 64);
    /* relu's kinks: this untrained net's paths cross many (6.1% off at 64 steps, within 1% from
     * 256); tests/e2e_explain.sh checks 64 steps on a trained relu model */
    check_complete("IG relu classifier", NN_ACT_RELU, NN_LOSS_XENT, 256);
}

/* Exact IG (nn_attr_ig_exact) of relu models with 2 and 3 hidden layers, a classifier and a
 * regression: every row's attributions add up to f(x) - f(b) to float rounding (1e-5
 * relative; the midpoint rule is 6.1% off at 64 steps on the first), and each attribution
 * equals the midpoint rule's at 2^15 steps (its error ~1e-4 here) within 2e-3 of the row's
 * largest. A breakpoint left out puts a piece through the wrong pattern: the sum misses. */
static void check_exact(const char *what, const int *sizes, int n_layers, nn_loss loss)
{
    enum { N = 6, STEPS = 1 << 15 };
    const int D = sizes[0];
    model t;
    setup(&t, sizes, n_layers, NN_ACT_RELU, loss, N * STEPS, 77);
    float *x = inputs(&t, N, 11), *b = inputs(&t, 1, 12);
    float *path = malloc((size_t)N * STEPS * D * sizeof(float));
    float *attr = malloc((size_t)N * D * sizeof(float)), *ex = malloc((size_t)D * sizeof(float));
    float fx[N], fb;
    double acc[16];
    int cls[N];
    nn_attr_exact e;
    assert_int_equal(nn_attr_exact_init(&e, &t.lo, 4), 0); /* 4: the scratch must grow */
    assert_true(nn_attr_exact_applies(&t.lo));
    nn_attr_grad(&t.m, x, N, NULL, cls, fx, NULL);
    nn_attr_ig(&t.m, x, b, N, STEPS, cls, path, acc, attr);
    for (int i = 0; i < N; i++) {
        int segs = 0;
        assert_int_equal(nn_attr_ig_exact(&t.m, &e, x + (size_t)i * D, b, cls[i], ex, &segs), 0);
        nn_attr_grad(&t.m, b, 1, &cls[i], NULL, &fb, NULL);
        double sum = 0.0, delta = (double)fx[i] - fb, top = 0.0;
        for (int j = 0; j < D; j++) {
            sum += ex[j];
            top = fmax(top, fabs(attr[(size_t)i * D + j]));
        }
        if (segs < 2)
            fail_msg("%s: row %d: %d linear pieces; expected a path across kinks", what, i, segs);
        if (fabs(sum - delta) > 1e-5 * fabs(delta))
            fail_msg("%s: row %d: exact attributions sum to %.9g, f(x) - f(b) = %.9g (gap %.3g)",
                     what, i, sum, delta, fabs(sum - delta) / fabs(delta));
        for (int j = 0; j < D; j++)
            if (fabs(ex[j] - attr[(size_t)i * D + j]) > 2e-3 * top)
                fail_msg("%s: row %d feature %d: exact %.7g, 2^15 midpoints %.7g", what, i, j,
                         ex[j], attr[(size_t)i * D + j]);
    }
    nn_attr_exact_free(&e);
    free(x);
    free(b);
    free(path);
    free(attr);
    free(ex);
    teardown(&t);
}

static void test_ig_exact(void **s)
{
    (void)s;
    static const int two[] = {8, 12, 10, 3}, three[] = {8, 16, 12, 10, 3};
    check_exact("exact IG relu classifier (2 hidden)", two, 3, NN_LOSS_XENT);
    check_exact("exact IG relu regression (2 hidden)", two, 3, NN_LOSS_MSE);
    check_exact("exact IG relu classifier (3 hidden)", three, 4, NN_LOSS_XENT);
}

/* A linear model: f = y_scale * (((x - s) / c) W1 W2 + ...)_k + y_shift, so IG is exactly
 * (x_j - b_j) * y_scale * (W1 W2)_jk / c_j: computed here by hand in double. */
static void test_ig_linear(void **s)
{
    (void)s;
    static const int sizes[] = {5, 4, 2};
    const int D = 5, H = 4, K = 2, STEPS = 8;
    model t;
    setup(&t, sizes, 2, NN_ACT_LINEAR, NN_LOSS_MSE, 2 * STEPS, 3);
    float *x = inputs(&t, 2, 4), *b = inputs(&t, 1, 6);
    float path[2 * 8 * 5], attr[2 * 5];
    double acc[5];
    int cls[2] = {1, 0};
    float ex[2 * 5];
    nn_attr_exact e;
    assert_int_equal(nn_attr_exact_init(&e, &t.lo, 16), 0);
    for (int i = 0; i < 2; i++)
        assert_int_equal(nn_attr_ig_exact(&t.m, &e, x + i * D, b, cls[i], ex + i * D, NULL), 0);
    nn_attr_exact_free(&e);
    nn_attr_ig(&t.m, x, b, 2, STEPS, cls, path, acc, attr);
    const float *W1 = t.params + t.lo.w_off[0], *W2 = t.params + t.lo.w_off[1];
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < D; j++) {
            double w = 0.0;
            for (int h = 0; h < H; h++)
                w += (double)W1[j * H + h] * W2[h * K + cls[i]];
            double want = ((double)x[i * D + j] - b[j]) * t.pre.y_scale[cls[i]] * w /
                          t.pre.x_scale[j];
            if (fabs(attr[i * D + j] - want) > 1e-4 * fmax(1.0, fabs(want)))
                fail_msg("linear IG row %d feature %d: %.7g, by hand %.7g", i, j,
                         attr[i * D + j], want);
            if (fabs(ex[i * D + j] - want) > 1e-4 * fmax(1.0, fabs(want)))
                fail_msg("linear exact IG row %d feature %d: %.7g, by hand %.7g", i, j,
                         ex[i * D + j], want);
        }
    free(x);
    free(b);
    teardown(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_grad_fd),
        cmocka_unit_test(test_ig_complete),
        cmocka_unit_test(test_ig_exact),
        cmocka_unit_test(test_ig_linear),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
