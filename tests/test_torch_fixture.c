/* test_torch_fixture.c: checks the C math core against an independent reference, PyTorch.
 *
 * tests/fixtures/torch_mlp.h5 (written by scripts/make_torch_fixture.py) holds, for a few
 * tiny MLPs with seeded weights, torch's loss and gradients at init and the parameters after
 * 3 steps of Adam, AdamW (kernels decayed, biases not) and SGD with momentum. For each case
 * this test rebuilds the same network through nn_layout_init, runs nn_forward /
 * nn_loss_and_grad / nn_backward and the nn_optim updates, and compares element by element
 * (|got - want| <= 1e-5 + 1e-5 * |want|). The unit tests check each kernel against itself;
 * this one catches a convention drifting from the framework users compare against
 * (kernel orientation, mean vs sum, MSE's 1/K, Adam's bias correction, AdamW's decay).
 *
 * Usage: test_torch_fixture [fixture.h5] (CTest passes the path in the source tree).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn_kernels.h"
#include "nn_model.h"
#include "nn_optim.h"

#ifndef NN_TORCH_FIXTURE
#define NN_TORCH_FIXTURE "tests/fixtures/torch_mlp.h5"
#endif

#define ATOL 1e-5
#define RTOL 1e-5
#define N_STEPS 3

static const char *g_path = NN_TORCH_FIXTURE;
static hid_t g_file = H5I_INVALID_HID;

/* ------------------------------------------------------------------------------------ */
/* One test = one case (a group of the fixture) and what to check in it.               */

typedef enum { CHECK_GRAD, CHECK_ADAM, CHECK_ADAMW, CHECK_SGDM } check_kind;

typedef struct {
    const char *case_name;
    check_kind check;
} test_spec;

/* A case loaded from the fixture. */
typedef struct {
    const char *name;
    hid_t g;
    nn_layout lo;
    int B;
    float *x;          /* (B, D) */
    int32_t *labels;   /* (B) for xent, else NULL */
    float *targets;    /* (B, K) for mse, else NULL */
    float *init;       /* flat params in nn_layout order */
    nn_work w;
} fx_case;

/* ------------------------------------------------------------------------------------ */
/* HDF5 helpers. Each fails the running test with the path it could not read, so that a
 * malformed fixture is reported as such rather than as a numeric mismatch.             */

static hid_t open_dataset(hid_t loc, const char *cname, const char *path)
{
    hid_t d = H5Dopen2(loc, path, H5P_DEFAULT);
    if (d < 0)
        fail_msg("%s: no dataset '%s' in %s", cname, path, g_path);
    return d;
}

/* Reads exactly n elements of type mem_type; a size mismatch is a fixture/layout error. */
static void read_exact(hid_t loc, const char *cname, const char *path, hid_t mem_type,
                       void *out, size_t n)
{
    hid_t d = open_dataset(loc, cname, path);
    hid_t sp = H5Dget_space(d);
    hssize_t np = H5Sget_simple_extent_npoints(sp);
    H5Sclose(sp);
    if (np < 0 || (size_t)np != n) {
        H5Dclose(d);
        fail_msg("%s: '%s' has %lld elements, the layout expects %zu", cname, path,
                 (long long)np, n);
    }
    herr_t rc = H5Dread(d, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, out);
    H5Dclose(d);
    if (rc < 0)
        fail_msg("%s: reading '%s' failed", cname, path);
}

/* Rank and dims of a dataset (at most 2 dims, all the fixture uses). */
static int dataset_dims(hid_t loc, const char *cname, const char *path, hsize_t dims[2])
{
    hid_t d = open_dataset(loc, cname, path);
    hid_t sp = H5Dget_space(d);
    int rank = H5Sget_simple_extent_ndims(sp);
    if (rank >= 0 && rank <= 2)
        H5Sget_simple_extent_dims(sp, dims, NULL);
    H5Sclose(sp);
    H5Dclose(d);
    if (rank < 0 || rank > 2)
        fail_msg("%s: '%s' has rank %d, expected 0..2", cname, path, rank);
    return rank;
}

/* A string attribute, fixed-length or variable-length (h5py writes either, depending on
 * how the value was given), into buf. */
static void read_str_attr(hid_t g, const char *cname, const char *name, char *buf, size_t len)
{
    hid_t a = H5Aopen(g, name, H5P_DEFAULT);
    if (a < 0)
        fail_msg("%s: no attribute '%s'", cname, name);
    hid_t ft = H5Aget_type(a);
    int ok = H5Tget_class(ft) == H5T_STRING;
    if (ok && H5Tis_variable_str(ft) > 0) {
        char *s = NULL;
        hid_t mt = H5Tcopy(H5T_C_S1);
        H5Tset_size(mt, H5T_VARIABLE);
        ok = H5Aread(a, mt, &s) >= 0 && s != NULL;
        if (ok)
            snprintf(buf, len, "%s", s);
        H5free_memory(s); /* HDF5 allocated it; free with its allocator */
        H5Tclose(mt);
    } else if (ok) {
        /* One byte more than stored: the memory type is NUL-terminated, and converting a
         * NUL-padded "relu" into 4 NUL-terminated bytes would drop the last letter. */
        size_t sz = H5Tget_size(ft) + 1;
        char *tmp = calloc(sz, 1);
        hid_t mt = H5Tcopy(H5T_C_S1);
        H5Tset_size(mt, sz);
        H5Tset_strpad(mt, H5T_STR_NULLTERM);
        ok = tmp != NULL && H5Aread(a, mt, tmp) >= 0;
        if (ok)
            snprintf(buf, len, "%s", tmp);
        free(tmp);
        H5Tclose(mt);
    }
    H5Tclose(ft);
    H5Aclose(a);
    if (!ok)
        fail_msg("%s: attribute '%s' is not a readable string", cname, name);
}

/* The `layers` attribute into sizes; returns the number of entries (L + 1). */
static int read_layers_attr(hid_t g, const char *cname, int *sizes)
{
    hid_t a = H5Aopen(g, "layers", H5P_DEFAULT);
    if (a < 0)
        fail_msg("%s: no attribute 'layers'", cname);
    hid_t sp = H5Aget_space(a);
    hssize_t n = H5Sget_simple_extent_npoints(sp);
    H5Sclose(sp);
    int ok = n >= 2 && n <= NN_MAX_LAYERS + 1 && H5Aread(a, H5T_NATIVE_INT, sizes) >= 0;
    H5Aclose(a);
    if (!ok)
        fail_msg("%s: bad 'layers' attribute (%lld entries)", cname, (long long)n);
    return (int)n;
}

/* <prefix>/dense_<i>/{kernel,bias} for every layer into a flat buffer at the layout's
 * offsets: the fixture's kernels are already [in, out], as nn_model.h stores them. */
static void read_params(const fx_case *c, const char *prefix, float *flat)
{
    char path[128];
    for (int i = 0; i < c->lo.n_layers; i++) {
        size_t in = (size_t)c->lo.sizes[i], out = (size_t)c->lo.sizes[i + 1];
        snprintf(path, sizeof path, "%s/dense_%d/kernel", prefix, i);
        read_exact(c->g, c->name, path, H5T_NATIVE_FLOAT, flat + c->lo.w_off[i], in * out);
        snprintf(path, sizeof path, "%s/dense_%d/bias", prefix, i);
        read_exact(c->g, c->name, path, H5T_NATIVE_FLOAT, flat + c->lo.b_off[i], out);
    }
}

static float *alloc_floats(size_t n)
{
    float *p = calloc(n ? n : 1, sizeof(float));
    assert_non_null(p);
    return p;
}

/* ------------------------------------------------------------------------------------ */
/* Comparisons. Each mismatch names case, tensor and index, and FAILS the test.          */

static int close_enough(double got, double want)
{
    /* Written so that a NaN on either side counts as a mismatch. */
    return fabs(got - want) <= ATOL + RTOL * fabs(want);
}

/* got[k] * scale against want[k] over one tensor; cols > 1 prints [row,col] indices. */
static void check_tensor(const char *cname, const char *what, const float *got, double scale,
                         const float *want, size_t n, size_t cols)
{
    for (size_t k = 0; k < n; k++) {
        double g = (double)got[k] * scale, w = want[k];
        if (!close_enough(g, w)) {
            char idx[64];
            if (cols > 1)
                snprintf(idx, sizeof idx, "[%zu,%zu]", k / cols, k % cols);
            else
                snprintf(idx, sizeof idx, "[%zu]", k);
            fail_msg("%s: %s%s: expected %.9g, got %.9g (|diff| %.3g > tol %.3g)", cname, what,
                     idx, w, g, fabs(g - w), ATOL + RTOL * fabs(w));
        }
    }
}

/* Every kernel and bias of a flat buffer against the fixture's <tag>/dense_<i>/... */
static void check_params(const fx_case *c, const char *tag, const float *got, double scale,
                         const float *want)
{
    char what[96];
    for (int i = 0; i < c->lo.n_layers; i++) {
        size_t in = (size_t)c->lo.sizes[i], out = (size_t)c->lo.sizes[i + 1];
        snprintf(what, sizeof what, "%s/dense_%d/kernel", tag, i);
        check_tensor(c->name, what, got + c->lo.w_off[i], scale, want + c->lo.w_off[i],
                     in * out, out);
        snprintf(what, sizeof what, "%s/dense_%d/bias", tag, i);
        check_tensor(c->name, what, got + c->lo.b_off[i], scale, want + c->lo.b_off[i], out, 1);
    }
}

static double max_abs_diff(const float *a, const float *b, size_t n)
{
    double m = 0.0;
    for (size_t k = 0; k < n; k++) {
        double d = fabs((double)a[k] - (b ? (double)b[k] : 0.0));
        if (d > m)
            m = d;
    }
    return m;
}

/* Guards against a test that passes because nothing happens: every tensor of `a` must
 * differ from `b` (or from zero when b is NULL) by well over the tolerance somewhere. */
static void check_each_tensor_nontrivial(const fx_case *c, const char *what, const float *a,
                                         const float *b, double scale)
{
    const double floor = 10.0 * ATOL;
    for (int i = 0; i < c->lo.n_layers; i++) {
        size_t nk = (size_t)c->lo.sizes[i] * (size_t)c->lo.sizes[i + 1];
        size_t nb = (size_t)c->lo.sizes[i + 1];
        double dk = scale * max_abs_diff(a + c->lo.w_off[i], b ? b + c->lo.w_off[i] : NULL, nk);
        double db = scale * max_abs_diff(a + c->lo.b_off[i], b ? b + c->lo.b_off[i] : NULL, nb);
        if (!(dk > floor) || !(db > floor))
            fail_msg("%s: %s of dense_%d is trivial (max change kernel %.3g, bias %.3g <= %.3g)",
                     c->name, what, i, dk, db, floor);
    }
}

/* ------------------------------------------------------------------------------------ */
/* Loading a case and running the passes.                                               */

static void load_case(fx_case *c, const char *name)
{
    memset(c, 0, sizeof *c);
    c->name = name;
    c->g = H5Gopen2(g_file, name, H5P_DEFAULT);
    if (c->g < 0)
        fail_msg("no group '%s' in %s", name, g_path);

    int sizes[NN_MAX_LAYERS + 1];
    int n_sizes = read_layers_attr(c->g, name, sizes);
    char act_name[32], loss_name[32];
    read_str_attr(c->g, name, "activation", act_name, sizeof act_name);
    read_str_attr(c->g, name, "loss", loss_name, sizeof loss_name);
    int act = nn_act_from_name(act_name);
    if (act < 0)
        fail_msg("%s: nn_act_from_name(\"%s\") does not know the activation", name, act_name);
    nn_loss loss = NN_LOSS_MSE;
    if (strcmp(loss_name, "xent") == 0)
        loss = NN_LOSS_XENT;
    else if (strcmp(loss_name, "mse") == 0)
        loss = NN_LOSS_MSE;
    else
        fail_msg("%s: unknown loss \"%s\"", name, loss_name);

    char err[256] = "";
    if (nn_layout_init(&c->lo, sizes, n_sizes - 1, (nn_act)act, loss, err, sizeof err) != 0)
        fail_msg("%s: nn_layout_init failed: %s", name, err);

    int D = sizes[0], K = sizes[n_sizes - 1];
    hsize_t dims[2] = {0, 0};
    if (dataset_dims(c->g, name, "x", dims) != 2 || dims[1] != (hsize_t)D || dims[0] < 1)
        fail_msg("%s: x must be [B, %d]", name, D);
    c->B = (int)dims[0];
    c->x = alloc_floats((size_t)c->B * (size_t)D);
    read_exact(c->g, name, "x", H5T_NATIVE_FLOAT, c->x, (size_t)c->B * (size_t)D);

    if (loss == NN_LOSS_XENT) {
        c->labels = calloc((size_t)c->B, sizeof(int32_t));
        assert_non_null(c->labels);
        read_exact(c->g, name, "y", H5T_NATIVE_INT32, c->labels, (size_t)c->B);
        for (int b = 0; b < c->B; b++)
            if (c->labels[b] < 0 || c->labels[b] >= K)
                fail_msg("%s: label y[%d] = %d is outside [0, %d)", name, b, c->labels[b], K);
    } else {
        c->targets = alloc_floats((size_t)c->B * (size_t)K);
        read_exact(c->g, name, "y", H5T_NATIVE_FLOAT, c->targets, (size_t)c->B * (size_t)K);
    }

    c->init = alloc_floats(c->lo.n_params);
    read_params(c, "init", c->init);
    assert_int_equal(nn_work_init(&c->w, &c->lo, c->B), 0);
}

static void free_case(fx_case *c)
{
    nn_work_free(&c->w);
    free(c->x);
    free(c->labels);
    free(c->targets);
    free(c->init);
    if (c->g >= 0)
        H5Gclose(c->g);
    memset(c, 0, sizeof *c);
}

/* Mean loss at params; grads receives dL/dparams of the SUMMED loss (the core's contract),
 * which the caller scales by 1/B to compare with torch's mean-loss gradients. */
static double loss_and_grads(fx_case *c, const float *params, float *grads)
{
    memset(grads, 0, c->lo.n_params * sizeof(float));
    nn_forward_train(&c->lo, params, &c->w, c->x, c->B, 0.0f, NULL); /* kept for backward */
    nn_batch_y y = {.labels = c->labels, .targets = c->targets};
    double sum = nn_loss_and_grad(&c->lo, &c->w, y, c->B, NULL);
    nn_backward(&c->lo, params, grads, &c->w, c->B);
    return sum / c->B;
}

static void check_loss(const fx_case *c, const char *what, double got, double want)
{
    if (!close_enough(got, want))
        fail_msg("%s: %s: expected %.9g, got %.9g (|diff| %.3g)", c->name, what, want, got,
                 fabs(got - want));
}

/* ------------------------------------------------------------------------------------ */
/* The tests.                                                                           */

static void test_loss_grad(void **state)
{
    const test_spec *spec = *state;
    fx_case c;
    load_case(&c, spec->case_name);
    size_t n = c.lo.n_params;
    float *grads = alloc_floats(n), *want = alloc_floats(n);

    double want_loss;
    read_exact(c.g, c.name, "loss", H5T_NATIVE_DOUBLE, &want_loss, 1);
    double loss = loss_and_grads(&c, c.init, grads);
    check_loss(&c, "loss at init", loss, want_loss);

    read_params(&c, "grad", want);
    /* Both the fixture's and our gradients must carry signal in every tensor, or the
     * element-wise comparison below would prove nothing. */
    check_each_tensor_nontrivial(&c, "fixture gradient", want, NULL, 1.0);
    check_each_tensor_nontrivial(&c, "computed gradient", grads, NULL, 1.0 / c.B);
    check_params(&c, "grad", grads, 1.0 / c.B, want);

    free(grads);
    free(want);
    free_case(&c);
}

/* The hyperparameters scripts/make_torch_fixture.py uses for check, the fixture's tag, and
 * the kernels' decoupled weight decay (torch param group 1: kernels decayed, biases not). */
static const char *optimizer_of(int check, nn_opt_hparams *out, float *kernel_wd_out)
{
    nn_opt_hparams hp = {0};
    hp.beta1 = 0.9f;
    hp.beta2 = 0.999f;
    hp.eps = 1e-8f;
    float kernel_wd = 0.0f;
    const char *tag = NULL;
    switch (check) {
    case CHECK_ADAM:
        tag = "adam3";
        hp.kind = NN_OPT_ADAM;
        hp.lr = 0.01f;
        break;
    case CHECK_ADAMW:
        tag = "adamw3";
        hp.kind = NN_OPT_ADAMW;
        hp.lr = 0.01f;
        hp.weight_decay = 0.1f;
        kernel_wd = 0.1f;
        break;
    case CHECK_SGDM:
        tag = "sgdm3";
        hp.kind = NN_OPT_SGD;
        hp.lr = 0.05f;
        hp.momentum = 0.9f;
        break;
    default:
        fail_msg("bad optimizer spec");
    }
    *out = hp;
    *kernel_wd_out = kernel_wd;
    return tag;
}

static void test_optimizer(void **state)
{
    const test_spec *spec = *state;
    fx_case c;
    load_case(&c, spec->case_name);
    size_t n = c.lo.n_params;
    nn_opt_hparams hp;
    float kernel_wd;
    const char *tag = optimizer_of(spec->check, &hp, &kernel_wd);
    const nn_opt_decay dk = {0.0f, 0.0f, kernel_wd}, db = {0.0f, 0.0f, 0.0f};

    float *p = alloc_floats(n), *g = alloc_floats(n), *want = alloc_floats(n);
    float *m = alloc_floats(n), *v = alloc_floats(n); /* moments (or the momentum buffer) */
    memcpy(p, c.init, n * sizeof(float));
    const float scale = 1.0f / (float)c.B; /* raw gradients are sums over the batch */

    char what[64];
    double want_losses[N_STEPS];
    snprintf(what, sizeof what, "%s_losses", tag);
    read_exact(c.g, c.name, what, H5T_NATIVE_DOUBLE, want_losses, N_STEPS);

    for (long t = 1; t <= N_STEPS; t++) {
        /* torch recomputes loss and gradient at the current parameters before each step */
        double loss = loss_and_grads(&c, p, g);
        snprintf(what, sizeof what, "%s_losses[%ld] (before step %ld)", tag, t - 1, t);
        check_loss(&c, what, loss, want_losses[t - 1]);
        for (int i = 0; i < c.lo.n_layers; i++) {
            size_t ow = c.lo.w_off[i], ob = c.lo.b_off[i];
            size_t nk = (size_t)c.lo.sizes[i] * (size_t)c.lo.sizes[i + 1];
            size_t nb = (size_t)c.lo.sizes[i + 1];
            if (hp.kind == NN_OPT_SGD) {
                nn_sgd_update(p + ow, g + ow, m + ow, nk, scale, &hp, dk);
                nn_sgd_update(p + ob, g + ob, m + ob, nb, scale, &hp, db);
            } else {
                nn_adam_update(p + ow, g + ow, m + ow, v + ow, nk, scale, &hp, dk, t);
                nn_adam_update(p + ob, g + ob, m + ob, v + ob, nb, scale, &hp, db, t);
            }
        }
    }

    read_params(&c, tag, want);
    /* The expected and the computed parameters must both have left init by far more than
     * the tolerance, or a no-op optimizer could pass. */
    check_each_tensor_nontrivial(&c, "fixture update", want, c.init, 1.0);
    check_each_tensor_nontrivial(&c, "computed update", p, c.init, 1.0);
    if (spec->check == CHECK_ADAMW) {
        /* ...and AdamW's decay must matter: its kernels end away from plain Adam's. */
        float *adam = alloc_floats(n);
        read_params(&c, "adam3", adam);
        for (int i = 0; i < c.lo.n_layers; i++) {
            size_t nk = (size_t)c.lo.sizes[i] * (size_t)c.lo.sizes[i + 1];
            double d = max_abs_diff(want + c.lo.w_off[i], adam + c.lo.w_off[i], nk);
            if (!(d > 10.0 * ATOL))
                fail_msg("%s: adamw3 and adam3 kernels of dense_%d differ by only %.3g", c.name,
                         i, d);
        }
        free(adam);
    }
    check_params(&c, tag, p, 1.0, want);

    free(p);
    free(g);
    free(want);
    free(m);
    free(v);
    free_case(&c);
}

/* ------------------------------------------------------------------------------------ */

static int open_fixture(void **state)
{
    (void)state;
    /* Failures are reported by the helpers with the path at fault; HDF5's own stack dump
     * would only bury that message. */
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    g_file = H5Fopen(g_path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (g_file < 0) {
        print_error("cannot open the torch fixture '%s' "
                    "(regenerate: /usr/bin/python3 scripts/make_torch_fixture.py)\n",
                    g_path);
        return -1;
    }
    return 0;
}

static int close_fixture(void **state)
{
    (void)state;
    if (g_file >= 0)
        H5Fclose(g_file);
    g_file = H5I_INVALID_HID;
    return 0;
}

static test_spec g_specs[] = {
    {"xent_relu", CHECK_GRAD},    {"xent_relu", CHECK_ADAM},    {"xent_relu", CHECK_ADAMW},
    {"xent_relu", CHECK_SGDM},    {"mse_tanh", CHECK_GRAD},     {"mse_tanh", CHECK_ADAM},
    {"mse_tanh", CHECK_ADAMW},    {"mse_tanh", CHECK_SGDM},     {"xent_sigmoid", CHECK_GRAD},
    {"xent_sigmoid", CHECK_ADAM}, {"xent_sigmoid", CHECK_ADAMW}, {"xent_sigmoid", CHECK_SGDM},
};

#define FX_TEST(label, fn, k) \
    { .name = label, .test_func = fn, .initial_state = &g_specs[k] }

int main(int argc, char **argv)
{
    if (argc > 1)
        g_path = argv[1];
    const struct CMUnitTest tests[] = {
        FX_TEST("xent_relu: loss + gradients", test_loss_grad, 0),
        FX_TEST("xent_relu: adam x3", test_optimizer, 1),
        FX_TEST("xent_relu: adamw x3", test_optimizer, 2),
        FX_TEST("xent_relu: sgd momentum x3", test_optimizer, 3),
        FX_TEST("mse_tanh: loss + gradients", test_loss_grad, 4),
        FX_TEST("mse_tanh: adam x3", test_optimizer, 5),
        FX_TEST("mse_tanh: adamw x3", test_optimizer, 6),
        FX_TEST("mse_tanh: sgd momentum x3", test_optimizer, 7),
        FX_TEST("xent_sigmoid: loss + gradients", test_loss_grad, 8),
        FX_TEST("xent_sigmoid: adam x3", test_optimizer, 9),
        FX_TEST("xent_sigmoid: adamw x3", test_optimizer, 10),
        FX_TEST("xent_sigmoid: sgd momentum x3", test_optimizer, 11),
    };
    return cmocka_run_group_tests_name("torch_fixture", tests, open_fixture, close_fixture);
}
