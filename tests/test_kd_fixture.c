/* test_kd_fixture.c: the distillation loss (nn_kd.h) through a student's forward and backward
 * passes against PyTorch: tests/fixtures/torch_kd.h5 (written by scripts/make_kd_fixture.py)
 * holds, per case, a tiny MLP, a batch with labels, a teacher's logits, the temperature, alpha
 * and optional class weights, and torch's loss (summed over the batch) and gradient of every
 * parameter. Here the same batch goes through nn_forward_train, nn_loss_and_grad, nn_kd_mix
 * and nn_backward, as a training step does.
 * Usage: test_kd_fixture FIXTURE.h5 (CTest passes the path in the source tree). */
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

#include "nn_kd.h"
#include "nn_kernels.h"
#include "nn_model.h"

static const char *g_path = "tests/fixtures/torch_kd.h5";

/* Reads dataset `name` of group g (n values of mem_type) into out; fails the test when it is
 * missing or of another size. */
static void get(hid_t g, const char *name, hid_t mem_type, void *out, size_t n)
{
    hid_t d = H5Dopen2(g, name, H5P_DEFAULT);
    if (d < 0)
        fail_msg("%s: no dataset %s", g_path, name);
    hid_t s = H5Dget_space(d);
    hssize_t np = H5Sget_simple_extent_npoints(s);
    H5Sclose(s);
    if ((size_t)np != n)
        fail_msg("%s: %s has %lld values, expected %zu", g_path, name, (long long)np, n);
    assert_true(H5Dread(d, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, out) >= 0);
    H5Dclose(d);
}

static double attr_f64(hid_t g, const char *name)
{
    double v = 0;
    hid_t a = H5Aopen(g, name, H5P_DEFAULT);
    assert_true(a >= 0 && H5Aread(a, H5T_NATIVE_DOUBLE, &v) >= 0);
    H5Aclose(a);
    return v;
}

/* the flat buffer of group g (mirroring /model) */
static void get_flat(hid_t g, const nn_layout *lo, float *out)
{
    for (int i = 0; i < lo->n_layers; i++) {
        char k[64], b[64];
        snprintf(k, sizeof k, "dense_%d/kernel", i);
        snprintf(b, sizeof b, "dense_%d/bias", i);
        get(g, k, H5T_NATIVE_FLOAT, out + lo->w_off[i], (size_t)lo->sizes[i] * lo->sizes[i + 1]);
        get(g, b, H5T_NATIVE_FLOAT, out + lo->b_off[i], (size_t)lo->sizes[i + 1]);
    }
}

static int g_cases;

static void run_case(hid_t file, const char *name)
{
    hid_t c = H5Gopen2(file, name, H5P_DEFAULT);
    int sizes[NN_MAX_LAYERS + 1];
    hid_t a = H5Aopen(c, "layers", H5P_DEFAULT);
    hid_t s = H5Aget_space(a);
    int n = (int)H5Sget_simple_extent_npoints(s);
    H5Sclose(s);
    assert_true(n >= 2 && n <= NN_MAX_LAYERS + 1 && H5Aread(a, H5T_NATIVE_INT, sizes) >= 0);
    H5Aclose(a);
    char act[32] = "";
    a = H5Aopen(c, "activation", H5P_DEFAULT);
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, sizeof act);
    H5Tset_strpad(t, H5T_STR_NULLTERM);
    hid_t ft = H5Aget_type(a);
    if (H5Tis_variable_str(ft) > 0) {
        char *vs = NULL;
        hid_t vt = H5Tcopy(H5T_C_S1);
        H5Tset_size(vt, H5T_VARIABLE);
        assert_true(H5Aread(a, vt, &vs) >= 0);
        snprintf(act, sizeof act, "%s", vs);
        H5free_memory(vs);
        H5Tclose(vt);
    } else {
        assert_true(H5Aread(a, t, act) >= 0);
    }
    H5Tclose(ft);
    H5Tclose(t);
    H5Aclose(a);
    float T = (float)attr_f64(c, "temperature"), alpha = (float)attr_f64(c, "alpha");

    nn_layout lo;
    char err[256];
    assert_int_equal(nn_layout_init(&lo, sizes, n - 1, (nn_act)nn_act_from_name(act),
                                    NN_LOSS_XENT, err, sizeof err), 0);
    hid_t xd = H5Dopen2(c, "x", H5P_DEFAULT);
    hid_t xs = H5Dget_space(xd);
    int B = (int)(H5Sget_simple_extent_npoints(xs) / sizes[0]);
    H5Sclose(xs);
    H5Dclose(xd);
    int D = sizes[0], K = sizes[n - 1];
    float *x = malloc((size_t)B * D * sizeof *x), *zt = malloc((size_t)B * K * sizeof *zt);
    float *params = malloc(lo.n_params * sizeof *params), *grads = malloc(lo.n_params * 4);
    float *want = malloc(lo.n_params * sizeof *want), cw[64];
    int32_t labels[64];
    double want_loss = 0;
    get(c, "x", H5T_NATIVE_FLOAT, x, (size_t)B * D);
    get(c, "labels", H5T_NATIVE_INT32, labels, (size_t)B);
    get(c, "teacher_logits", H5T_NATIVE_FLOAT, zt, (size_t)B * K);
    int weighted = H5Lexists(c, "class_weight", H5P_DEFAULT) > 0;
    if (weighted)
        get(c, "class_weight", H5T_NATIVE_FLOAT, cw, (size_t)K);
    get(c, "loss", H5T_NATIVE_DOUBLE, &want_loss, 1);
    hid_t pg = H5Gopen2(c, "params", H5P_DEFAULT), gg = H5Gopen2(c, "grads", H5P_DEFAULT);
    get_flat(pg, &lo, params);
    get_flat(gg, &lo, want);
    H5Gclose(pg);
    H5Gclose(gg);

    /* the step's recipe */
    nn_work w;
    assert_int_equal(nn_work_init(&w, &lo, B), 0);
    nn_rng r;
    nn_rng_seed(&r, 1, 0);
    nn_forward_train(&lo, params, &w, x, B, 0.0f, &r);
    nn_batch_y y = {labels, NULL, weighted ? cw : NULL, NULL};
    double ce = nn_loss_and_grad(&lo, &w, y, B, NULL);
    double loss = nn_kd_mix(w.act[lo.n_layers], zt, B, K, T, alpha, labels,
                            weighted ? cw : NULL, ce, w.delta_a);
    nn_backward(&lo, params, grads, &w, B);

    double lerr = fabs(loss - want_loss) / fmax(1.0, fabs(want_loss));
    double gmax = 0, gerr = 0;
    for (size_t i = 0; i < lo.n_params; i++) {
        gmax = fmax(gmax, fabs(want[i]));
        gerr = fmax(gerr, fabs((double)grads[i] - want[i]));
    }
    printf("  %-14s T %g alpha %g%s: loss %.9g (torch %.9g), max |grad - torch| %.2e of max "
           "|grad| %.3g\n", name, (double)T, (double)alpha, weighted ? " weighted" : "", loss,
           want_loss, gerr, gmax);
    assert_true(lerr < 1e-5);
    assert_true(gmax > 1e-3); /* not a trivially zero gradient */
    assert_true(gerr <= 1e-4 * fmax(1.0, gmax));
    nn_work_free(&w);
    free(x);
    free(zt);
    free(params);
    free(grads);
    free(want);
    H5Gclose(c);
    g_cases++;
}

static void test_against_torch(void **state)
{
    (void)state;
    hid_t f = H5Fopen(g_path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0)
        fail_msg("cannot open %s (regenerate it with scripts/make_kd_fixture.py)", g_path);
    g_cases = 0;
    H5G_info_t gi;
    assert_true(H5Gget_info(f, &gi) >= 0);
    for (hsize_t i = 0; i < gi.nlinks; i++) {
        char name[64];
        assert_true(H5Lget_name_by_idx(f, ".", H5_INDEX_NAME, H5_ITER_INC, i, name, sizeof name,
                                       H5P_DEFAULT) > 0);
        run_case(f, name);
    }
    H5Fclose(f);
    assert_int_equal(g_cases, 4);
}

/* The loss's gradient with respect to the student's logits against central differences of
 * nn_kd_mix's own loss (the cross-entropy part written by nn_loss_and_grad's rule). */
static double kd_loss_at(const float *zs, const float *zt, int B, int K, float T, float a,
                         const int32_t *lab, float *dz)
{
    double ce = 0;
    for (int i = 0; i < B; i++) {
        double m = zs[i * K], s = 0;
        for (int j = 1; j < K; j++)
            m = fmax(m, zs[i * K + j]);
        for (int j = 0; j < K; j++)
            s += exp(zs[i * K + j] - m);
        ce += m + log(s) - zs[i * K + lab[i]];
        for (int j = 0; j < K; j++)
            dz[i * K + j] = (float)(exp(zs[i * K + j] - m) / s) - (j == lab[i]);
    }
    return nn_kd_mix(zs, zt, B, K, T, a, lab, NULL, ce, dz);
}

static void test_finite_differences(void **state)
{
    (void)state;
    enum { B = 3, K = 5 };
    float zs[B * K], zt[B * K], dz[B * K], tmp[B * K];
    int32_t lab[B] = {0, 3, 4};
    for (int i = 0; i < B * K; i++) {
        zs[i] = (float)sin(1.3 * i) * 2.0f;
        zt[i] = (float)cos(0.7 * i) * 3.0f;
    }
    kd_loss_at(zs, zt, B, K, 3.0f, 0.6f, lab, dz);
    for (int i = 0; i < B * K; i++) {
        const float h = 1e-2f;
        float keep = zs[i];
        zs[i] = keep + h;
        double up = kd_loss_at(zs, zt, B, K, 3.0f, 0.6f, lab, tmp);
        zs[i] = keep - h;
        double dn = kd_loss_at(zs, zt, B, K, 3.0f, 0.6f, lab, tmp);
        zs[i] = keep;
        double fd = (up - dn) / (2.0 * h);
        assert_true(fabs(fd - dz[i]) < 2e-3 * fmax(1.0, fabs(fd)));
    }
}

int main(int argc, char **argv)
{
    if (argc > 1)
        g_path = argv[1];
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_against_torch),
        cmocka_unit_test(test_finite_differences),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
