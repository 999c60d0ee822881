/* test_kernels.c: every gradient of the model against central finite differences.
 *
 * For each hidden activation and each loss (softmax cross-entropy with hard labels and with
 * soft targets, MSE with float targets and with one-hot labels), and for the L1/L2 penalties,
 * the analytic gradient of (mean data loss + penalty) is compared, parameter by parameter, with
 * (f(p + h) - f(p - h)) / 2h evaluated in the same float kernels. Also checks the loss of a
 * tiny case computed by hand, the sgemm wrapper's transposes against a naive product, that
 * nn_backward_notify announces each layer only once its gradients are final, and that a row's
 * inference answer is the same bits alone as in a batch. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn_kernels.h"
#include "nn_model.h"
#include "nn_optim.h"
#include "nn_rng.h"

typedef struct {
    nn_layout lo;
    nn_work w;
    float *p, *g;
    float *x, *t;
    int32_t *lab;
    int B;
    float l1, l2;
    float drop; /* dropout rate; the mask is the same at every evaluation (fixed seed) */
} fd_case;

static void forward(fd_case *c)
{
    nn_rng r;
    nn_rng_seed(&r, 77, 5); /* the same mask every time: the objective is a fixed function */
    nn_forward_train(&c->lo, c->p, &c->w, c->x, c->B, c->drop, &r);
}

static nn_batch_y batch_y(const fd_case *c)
{
    return (nn_batch_y){.labels = c->lab, .targets = c->t};
}

/* Mean data loss plus penalty, in double. */
static double objective(fd_case *c)
{
    forward(c);
    double l = nn_loss_only(&c->lo, c->w.act[c->lo.n_layers], batch_y(c), c->B, NULL) / c->B;
    return l + nn_reg_loss(&c->lo, c->p, c->l1, c->l2);
}

static void setup(fd_case *c, const int *sizes, int L, nn_act act, nn_loss loss, int labels,
                  int B, uint64_t seed)
{
    char err[256];
    memset(c, 0, sizeof *c);
    assert_int_equal(nn_layout_init(&c->lo, sizes, L, act, loss, err, sizeof err), 0);
    assert_int_equal(nn_work_init(&c->w, &c->lo, B), 0);
    assert_int_equal(nn_work_enable_dropout(&c->w, &c->lo), 0);
    c->B = B;
    c->p = malloc(c->lo.n_params * sizeof(float));
    c->g = malloc(c->lo.n_params * sizeof(float));
    nn_rng r;
    nn_rng_seed(&r, seed, 99);
    /* Biases too: non-zero everywhere, and at least 0.02 from 0 so that the step h never
     * crosses the kink of |w| in the L1 penalty. */
    for (size_t i = 0; i < c->lo.n_params; i++) {
        float u = (float)(nn_rng_uniform(&r) - 0.5);
        c->p[i] = u + (u < 0 ? -0.02f : 0.02f);
    }
    int D = sizes[0], K = sizes[L];
    c->x = malloc((size_t)B * D * sizeof(float));
    for (int i = 0; i < B * D; i++)
        c->x[i] = (float)(2.0 * nn_rng_uniform(&r) - 1.0);
    if (labels) {
        c->lab = malloc((size_t)B * sizeof(int32_t));
        for (int i = 0; i < B; i++)
            c->lab[i] = (int32_t)nn_rng_below(&r, (uint64_t)K);
    } else {
        c->t = malloc((size_t)B * K * sizeof(float));
        for (int i = 0; i < B; i++) {
            double s = 0;
            for (int k = 0; k < K; k++)
                s += c->t[i * K + k] = (float)nn_rng_uniform(&r);
            if (loss == NN_LOSS_XENT) /* soft targets: a probability vector per sample */
                for (int k = 0; k < K; k++)
                    c->t[i * K + k] /= (float)s;
        }
    }
}

static void teardown(fd_case *c)
{
    nn_work_free(&c->w);
    free(c->p);
    free(c->g);
    free(c->x);
    free(c->t);
    free(c->lab);
}

/* Analytic gradient of the objective, as the trainer forms it: backward sums over samples,
 * then scaled by 1/B, plus the penalty's gradient. */
static void analytic(fd_case *c)
{
    /* Garbage in the buffer: backward must overwrite every gradient, not add to it. */
    for (size_t i = 0; i < c->lo.n_params; i++)
        c->g[i] = NAN;
    forward(c);
    nn_loss_and_grad(&c->lo, &c->w, batch_y(c), c->B, NULL);
    nn_backward(&c->lo, c->p, c->g, &c->w, c->B);
    for (size_t i = 0; i < c->lo.n_params; i++)
        c->g[i] /= (float)c->B;
    nn_reg_grad(&c->lo, c->p, c->g, c->l1, c->l2);
}

static void check_fd(fd_case *c, const char *what)
{
    analytic(c);
    const float h = 1e-3f; /* small enough to rarely cross a relu kink; float noise ~1e-4 */
    double max_abs = 0;
    for (size_t i = 0; i < c->lo.n_params; i++) {
        float keep = c->p[i];
        c->p[i] = keep + h;
        double fp = objective(c);
        c->p[i] = keep - h;
        double fm = objective(c);
        c->p[i] = keep;
        double num = (fp - fm) / (2.0 * h), ana = c->g[i];
        double tol = 2e-2 * fmax(fabs(num), fabs(ana)) + 2e-3;
        if (fabs(num - ana) > tol)
            fail_msg("%s: parameter %zu: analytic %.6g, finite difference %.6g", what, i, ana,
                     num);
        max_abs = fmax(max_abs, fabs(ana));
    }
    if (max_abs < 1e-3) /* a gradient of all zeros would pass the comparison trivially */
        fail_msg("%s: gradient is (nearly) zero everywhere (max |g| = %g)", what, max_abs);
}

static void run_drop(const char *name, nn_act act, nn_loss loss, int labels, float l1, float l2,
                     float drop)
{
    static const int sizes[] = {4, 6, 5, 3};
    fd_case c;
    setup(&c, sizes, 3, act, loss, labels, 7, 1234);
    c.l1 = l1;
    c.l2 = l2;
    c.drop = drop;
    check_fd(&c, name);
    if (drop > 0.0f) { /* the mask really dropped something, and kept the rest scaled */
        int zeros = 0, scaled = 0;
        for (int i = 0; i < c.B * 6; i++) {
            zeros += c.w.mask[1][i] == 0.0f;
            scaled += fabsf(c.w.mask[1][i] - 1.0f / (1.0f - drop)) < 1e-6f;
        }
        assert_true(zeros > 0 && scaled > 0 && zeros + scaled == c.B * 6);
    }
    teardown(&c);
}

static void run_case(const char *name, nn_act act, nn_loss loss, int labels, float l1, float l2)
{
    run_drop(name, act, loss, labels, l1, l2, 0.0f);
}

static void test_fd_relu_xent(void **s) { (void)s; run_case("relu/xent", NN_ACT_RELU, NN_LOSS_XENT, 1, 0, 0); }
static void test_fd_tanh_xent(void **s) { (void)s; run_case("tanh/xent", NN_ACT_TANH, NN_LOSS_XENT, 1, 0, 0); }
static void test_fd_sigmoid_xent(void **s) { (void)s; run_case("sigmoid/xent", NN_ACT_SIGMOID, NN_LOSS_XENT, 1, 0, 0); }
static void test_fd_linear_xent(void **s) { (void)s; run_case("linear/xent", NN_ACT_LINEAR, NN_LOSS_XENT, 1, 0, 0); }
static void test_fd_soft_xent(void **s) { (void)s; run_case("tanh/xent soft targets", NN_ACT_TANH, NN_LOSS_XENT, 0, 0, 0); }
static void test_fd_relu_mse(void **s) { (void)s; run_case("relu/mse", NN_ACT_RELU, NN_LOSS_MSE, 0, 0, 0); }
static void test_fd_tanh_mse(void **s) { (void)s; run_case("tanh/mse", NN_ACT_TANH, NN_LOSS_MSE, 0, 0, 0); }
static void test_fd_sigmoid_mse(void **s) { (void)s; run_case("sigmoid/mse", NN_ACT_SIGMOID, NN_LOSS_MSE, 0, 0, 0); }
static void test_fd_linear_mse(void **s) { (void)s; run_case("linear/mse", NN_ACT_LINEAR, NN_LOSS_MSE, 0, 0, 0); }
static void test_fd_mse_onehot(void **s) { (void)s; run_case("tanh/mse one-hot labels", NN_ACT_TANH, NN_LOSS_MSE, 1, 0, 0); }
static void test_fd_l1(void **s) { (void)s; run_case("tanh/xent + l1", NN_ACT_TANH, NN_LOSS_XENT, 1, 0.05f, 0); }
static void test_fd_l2(void **s) { (void)s; run_case("sigmoid/mse + l2", NN_ACT_SIGMOID, NN_LOSS_MSE, 0, 0, 0.3f); }
static void test_fd_dropout_relu(void **s) { (void)s; run_drop("relu/xent + dropout 0.3", NN_ACT_RELU, NN_LOSS_XENT, 1, 0, 0, 0.3f); }
static void test_fd_dropout_tanh(void **s) { (void)s; run_drop("tanh/mse + dropout 0.5", NN_ACT_TANH, NN_LOSS_MSE, 0, 0, 0, 0.5f); }
static void test_fd_dropout_sigmoid(void **s) { (void)s; run_drop("sigmoid/xent + dropout 0.2", NN_ACT_SIGMOID, NN_LOSS_XENT, 1, 0, 0.1f, 0.2f); }
static void test_fd_l1_l2(void **s) { (void)s; run_case("relu/xent + l1 + l2", NN_ACT_RELU, NN_LOSS_XENT, 1, 0.02f, 0.2f); }

/* A single-layer model small enough to do by hand. */
static void test_loss_by_hand(void **s)
{
    (void)s;
    char err[128];
    nn_layout lo;
    int sizes[] = {1, 2};
    nn_work w;
    /* W = [1, -1], b = [0, 0], x = 1: logits (1, -1). Softmax cross-entropy for label 0 is
     * log(1 + e^-2) = 0.126928011; the gradient is (p0 - 1, p1) = (-0.119202922, 0.119202922). */
    float p[4] = {1.0f, -1.0f, 0.0f, 0.0f}, x[1] = {1.0f};
    int32_t lab[1] = {0};
    assert_int_equal(nn_layout_init(&lo, sizes, 1, NN_ACT_RELU, NN_LOSS_XENT, err, sizeof err), 0);
    assert_int_equal(nn_work_init(&w, &lo, 1), 0);
    nn_forward(&lo, p, &w, x, 1);
    long correct = 0;
    double l = nn_loss_and_grad(&lo, &w, (nn_batch_y){.labels = lab}, 1, &correct);
    assert_true(fabs(l - 0.126928011) < 1e-6);
    assert_true(fabs(w.delta_a[0] + 0.119202922) < 1e-6);
    assert_true(fabs(w.delta_a[1] - 0.119202922) < 1e-6);
    assert_int_equal(correct, 1);
    /* Large logits must not overflow: (1000, -1000) for label 1 costs exactly 2000. */
    p[0] = 1000.0f;
    p[1] = -1000.0f;
    lab[0] = 1;
    nn_forward(&lo, p, &w, x, 1);
    l = nn_loss_and_grad(&lo, &w, (nn_batch_y){.labels = lab}, 1, NULL);
    assert_true(fabs(l - 2000.0) < 1e-3);
    assert_true(isfinite(w.delta_a[0]) && isfinite(w.delta_a[1]));
    /* MSE with targets (3, 1) for outputs (1, -1): ((1-3)^2 + (-1-1)^2) / 2 = 4. */
    nn_layout lm;
    assert_int_equal(nn_layout_init(&lm, sizes, 1, NN_ACT_RELU, NN_LOSS_MSE, err, sizeof err), 0);
    p[0] = 1.0f;
    p[1] = -1.0f;
    float t[2] = {3.0f, 1.0f};
    nn_forward(&lm, p, &w, x, 1);
    l = nn_loss_and_grad(&lm, &w, (nn_batch_y){.targets = t}, 1, NULL);
    assert_true(fabs(l - 4.0) < 1e-6);
    assert_true(fabs(w.delta_a[0] + 2.0) < 1e-6); /* 2 (1 - 3) / 2 */
    nn_work_free(&w);
}

static void test_sgemm_transposes(void **s)
{
    (void)s;
    /* A (2,3), B (3,2) and their transposes stored explicitly; compare against a naive loop. */
    float A[6] = {1, 2, 3, 4, 5, 6}, B[6] = {7, 8, 9, 10, 11, 12};
    float At[6] = {1, 4, 2, 5, 3, 6}, Bt[6] = {7, 9, 11, 8, 10, 12};
    float want[4] = {58, 64, 139, 154}, C[4];
    for (int ta = 0; ta < 2; ta++)
        for (int tb = 0; tb < 2; tb++) {
            memset(C, 0, sizeof C);
            nn_sgemm(ta, tb, 2, 2, 3, 1.0f, ta ? At : A, tb ? Bt : B, 0.0f, C);
            assert_memory_equal(C, want, sizeof C);
        }
    /* beta = 1 accumulates */
    nn_sgemm(0, 0, 2, 2, 3, 1.0f, A, B, 1.0f, C);
    assert_true(C[0] == 116.0f && C[3] == 308.0f);
}

static void test_parse_layers(void **s)
{
    (void)s;
    int sizes[NN_MAX_LAYERS + 1], L;
    char err[256];
    assert_int_equal(nn_parse_layers("784,256,128,10", sizes, &L, err, sizeof err), 0);
    assert_int_equal(L, 3);
    assert_int_equal(sizes[0], 784);
    assert_int_equal(sizes[3], 10);
    const char *bad[] = {"", "784", "784,,10", "784,10,", "a,b", "784,-3", "784,0", "7.5,2", "1e3,2"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        err[0] = '\0';
        if (nn_parse_layers(bad[i], sizes, &L, err, sizeof err) == 0)
            fail_msg("--layers '%s' was accepted", bad[i]);
        assert_non_null(strstr(err, "--layers"));
    }
}

static void test_init_scale(void **s)
{
    (void)s;
    /* He-uniform for relu: limit sqrt(6/fan_in); Glorot for tanh: sqrt(6/(fan_in+fan_out)).
     * Check the bound holds, is nearly reached, the biases are zero, and the seed decides. */
    int sizes[] = {100, 50, 10};
    char err[64];
    nn_layout lr, lt;
    assert_int_equal(nn_layout_init(&lr, sizes, 2, NN_ACT_RELU, NN_LOSS_XENT, err, sizeof err), 0);
    assert_int_equal(nn_layout_init(&lt, sizes, 2, NN_ACT_TANH, NN_LOSS_XENT, err, sizeof err), 0);
    float *a = malloc(lr.n_params * sizeof(float)), *b = malloc(lr.n_params * sizeof(float));
    nn_params_init(&lr, a, 7);
    double lim = sqrt(6.0 / 100), mx = 0;
    for (size_t i = 0; i < 5000; i++)
        mx = fmax(mx, fabs(a[i]));
    assert_true(mx <= lim && mx > 0.95 * lim);
    for (size_t i = lr.b_off[0]; i < lr.b_off[0] + 50; i++)
        assert_true(a[i] == 0.0f);
    nn_params_init(&lt, b, 7);
    mx = 0;
    for (size_t i = 0; i < 5000; i++)
        mx = fmax(mx, fabs(b[i]));
    assert_true(mx <= sqrt(6.0 / 150) && mx > 0.95 * sqrt(6.0 / 150));
    nn_params_init(&lr, b, 7);
    assert_memory_equal(a, b, lr.n_params * sizeof(float));
    nn_params_init(&lr, b, 8);
    assert_true(memcmp(a, b, lr.n_params * sizeof(float)) != 0);
    free(a);
    free(b);
}

/* nn_backward_input: dL/dX against central differences of the summed loss in each input,
 * for every activation, both losses and dropout (a fixed mask); and the gradient of one logit
 * (a one-hot dL/dZ_L written by the caller), the saliency explanations use. */
static double loss_sum(fd_case *c)
{
    forward(c);
    return nn_loss_only(&c->lo, c->w.act[c->lo.n_layers], batch_y(c), c->B, NULL);
}

static void check_input_fd(const char *what, nn_act act, nn_loss loss, int labels, float drop,
                           int logit)
{
    static const int sizes[] = {5, 7, 6, 3};
    fd_case c;
    setup(&c, sizes, 3, act, loss, labels, 4, 4321);
    c.drop = drop;
    const int D = sizes[0], K = sizes[3], L = 3;
    float *dx = malloc((size_t)c.B * D * sizeof(float));
    for (int i = 0; i < c.B * D; i++)
        dx[i] = NAN; /* written, never added to */
    forward(&c);
    if (logit < 0) {
        nn_loss_and_grad(&c.lo, &c.w, batch_y(&c), c.B, NULL);
    } else {
        memset(c.w.delta_a, 0, (size_t)c.B * K * sizeof(float));
        for (int b = 0; b < c.B; b++)
            c.w.delta_a[b * K + logit] = 1.0f;
    }
    nn_backward_input(&c.lo, c.p, &c.w, c.B, dx);
    const float h = 1e-3f;
    double max_abs = 0;
    for (int i = 0; i < c.B * D; i++) {
        float keep = c.x[i];
        double fp, fm;
        c.x[i] = keep + h;
        if (logit < 0) {
            fp = loss_sum(&c);
        } else {
            forward(&c);
            fp = c.w.act[L][(i / D) * K + logit];
        }
        c.x[i] = keep - h;
        if (logit < 0) {
            fm = loss_sum(&c);
        } else {
            forward(&c);
            fm = c.w.act[L][(i / D) * K + logit];
        }
        c.x[i] = keep;
        double num = (fp - fm) / (2.0 * h), ana = dx[i];
        if (fabs(num - ana) > 2e-2 * fmax(fabs(num), fabs(ana)) + 2e-3)
            fail_msg("%s: input %d: analytic %.6g, finite difference %.6g", what, i, ana, num);
        max_abs = fmax(max_abs, fabs(ana));
    }
    if (max_abs < 1e-3)
        fail_msg("%s: input gradient is (nearly) zero everywhere (max %g)", what, max_abs);
    free(dx);
    teardown(&c);
}

static void test_input_grad(void **s)
{
    (void)s;
    check_input_fd("input: relu/xent", NN_ACT_RELU, NN_LOSS_XENT, 1, 0.0f, -1);
    check_input_fd("input: tanh/mse", NN_ACT_TANH, NN_LOSS_MSE, 0, 0.0f, -1);
    check_input_fd("input: sigmoid/xent + dropout", NN_ACT_SIGMOID, NN_LOSS_XENT, 1, 0.3f, -1);
    check_input_fd("input: linear/mse", NN_ACT_LINEAR, NN_LOSS_MSE, 0, 0.0f, -1);
    check_input_fd("input: tanh, logit 2", NN_ACT_TANH, NN_LOSS_XENT, 1, 0.0f, 2);
}

/* nn_backward_notify: done(from) comes once per layer, last layer first, and each time the
 * gradients from `from` on already hold their final values (a gradient sum may start on
 * them): a snapshot taken in the callback must equal the buffer after the pass. */
typedef struct {
    const fd_case *c;
    float *snap[NN_MAX_LAYERS];
    size_t from[NN_MAX_LAYERS];
    int calls;
} notify_log;

static void on_done(void *ctx, size_t from)
{
    notify_log *l = ctx;
    size_t n = l->c->lo.n_params;
    assert_true(l->calls < l->c->lo.n_layers);
    l->from[l->calls] = from;
    l->snap[l->calls] = malloc((n - from) * sizeof(float));
    memcpy(l->snap[l->calls], l->c->g + from, (n - from) * sizeof(float));
    l->calls++;
}

static void test_backward_notify(void **s)
{
    (void)s;
    fd_case c;
    int sizes[] = {5, 7, 6, 3};
    setup(&c, sizes, 3, NN_ACT_TANH, NN_LOSS_XENT, 1, 4, 11);
    for (size_t i = 0; i < c.lo.n_params; i++)
        c.g[i] = NAN;
    forward(&c);
    nn_loss_and_grad(&c.lo, &c.w, batch_y(&c), c.B, NULL);
    notify_log l = {.c = &c};
    nn_backward_notify(&c.lo, c.p, c.g, &c.w, c.B, on_done, &l);
    assert_int_equal(l.calls, c.lo.n_layers);
    for (int k = 0; k < l.calls; k++) {
        assert_int_equal(l.from[k], c.lo.w_off[c.lo.n_layers - 1 - k]);
        assert_memory_equal(l.snap[k], c.g + l.from[k],
                            (c.lo.n_params - l.from[k]) * sizeof(float));
        free(l.snap[k]);
    }
    assert_int_equal(l.from[l.calls - 1], 0);
    teardown(&c);
}

/* nn_forward of one row gives the bits that row gets in a batch of any size: OpenBLAS rounds a
 * one-row product differently (5e-6 relative at 784-256-128-10 here), which nn-serve's
 * dynamic batching and nn-predict's last block would otherwise show. */
static void test_row_alone_as_in_batch(void **s)
{
    (void)s;
    char err[128];
    int sizes[] = {784, 256, 128, 10};
    enum { B = 37 };
    nn_layout lo;
    assert_int_equal(nn_layout_init(&lo, sizes, 3, NN_ACT_RELU, NN_LOSS_XENT, err, sizeof err), 0);
    float *p = malloc(lo.n_params * sizeof(float)), *x = malloc((size_t)B * 784 * sizeof(float));
    float *all = malloc((size_t)B * 10 * sizeof(float));
    assert_non_null(p);
    assert_non_null(x);
    assert_non_null(all);
    nn_params_init(&lo, p, 3);
    nn_rng r;
    nn_rng_seed(&r, 9, 1);
    for (size_t i = 0; i < (size_t)B * 784; i++)
        x[i] = (float)nn_rng_uniform(&r);
    nn_work w, one;
    assert_int_equal(nn_work_init(&w, &lo, B), 0);
    assert_int_equal(nn_work_init(&one, &lo, 1), 0); /* --max-batch 1 */
    nn_forward(&lo, p, &w, x, B);
    memcpy(all, w.act[3], (size_t)B * 10 * sizeof(float));
    for (int n = 1; n <= B && w.rows_alike; n += 3) { /* the first n rows as a batch of n */
        nn_forward(&lo, p, &w, x, n);
        assert_memory_equal(w.act[3], all, (size_t)n * 10 * sizeof(float));
    }
    assert_int_equal(w.rows_alike, one.rows_alike); /* the plan depends on the shapes alone */
    if (!w.rows_alike) /* the BLAS kernels compute a row by its position: to rounding only */
        print_message("rows alike: not with these BLAS kernels; compared to 1e-6 of the row\n");
    for (int i = 0; i < B; i++) {
        nn_forward(&lo, p, i % 2 ? &w : &one, x + (size_t)i * 784, 1);
        float *got = (i % 2 ? &w : &one)->act[3];
        const float *want = all + (size_t)i * 10;
        double top = 0.0;
        for (int k = 0; k < 10; k++)
            top = fmax(top, fabs(want[k]));
        for (int k = 0; k < 10; k++)
            if (w.rows_alike ? got[k] != want[k] : fabs(got[k] - want[k]) > 1e-6 * top)
                fail_msg("row %d alone, logit %d: %.9g, in the batch %.9g", i, k, got[k],
                         want[k]);
    }
    /* a work that takes its plans from another (nn-serve's slots) computes alike */
    nn_work copy;
    assert_int_equal(nn_work_init_as(&copy, &lo, 5, &one), 0);
    assert_int_equal(copy.row_multiple, one.row_multiple);
    nn_forward(&lo, p, &copy, x, 5);
    if (w.rows_alike)
        assert_memory_equal(copy.act[3], all, 5 * 10 * sizeof(float));
    nn_work_free(&copy);
    nn_work_free(&w);
    nn_work_free(&one);
    free(p);
    free(x);
    free(all);
}

int main(int argc, char **argv)
{
    (void)argc;
    nn_blas_choose_kernels(argv); /* the kernels the programs run */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fd_relu_xent),    cmocka_unit_test(test_fd_tanh_xent),
        cmocka_unit_test(test_fd_sigmoid_xent), cmocka_unit_test(test_fd_linear_xent),
        cmocka_unit_test(test_fd_soft_xent),    cmocka_unit_test(test_fd_relu_mse),
        cmocka_unit_test(test_fd_tanh_mse),     cmocka_unit_test(test_fd_sigmoid_mse),
        cmocka_unit_test(test_fd_linear_mse),   cmocka_unit_test(test_fd_mse_onehot),
        cmocka_unit_test(test_fd_l1),           cmocka_unit_test(test_fd_l2),
        cmocka_unit_test(test_fd_l1_l2),        cmocka_unit_test(test_loss_by_hand),
        cmocka_unit_test(test_fd_dropout_relu), cmocka_unit_test(test_fd_dropout_tanh),
        cmocka_unit_test(test_fd_dropout_sigmoid), cmocka_unit_test(test_row_alone_as_in_batch),
        cmocka_unit_test(test_sgemm_transposes), cmocka_unit_test(test_parse_layers),
        cmocka_unit_test(test_init_scale),      cmocka_unit_test(test_backward_notify),
        cmocka_unit_test(test_input_grad),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
