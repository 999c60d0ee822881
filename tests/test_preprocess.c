/* test_preprocess.c: the /preprocess reader and the affine maps of nn_preprocess.h, against
 * hand-computed values, on small files written here with the HDF5 C API (fixed-length and
 * variable-length method strings, as nn-train's C writer and h5py write them). */
#include <hdf5.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "nn_preprocess.h"
#include "nn_preprocess_h5.h"

#define FILE_NAME "test_preprocess_tmp.h5"

/* What to put into the test file's /preprocess. NULL vectors are left out. */
typedef struct {
    int group;            /* 0: no /preprocess at all */
    const char *method;   /* NULL: no attribute */
    int vlen;             /* method as a variable-length string (h5py's default) */
    const float *xs, *xc; /* x_shift, x_scale */
    int nxs, nxc;
    const float *ys, *yc;
    int ny;
} spec;

static void vec(hid_t g, const char *name, const float *v, int n)
{
    if (!v)
        return;
    hsize_t dim = (hsize_t)n;
    hid_t s = H5Screate_simple(1, &dim, NULL);
    hid_t d = H5Dcreate2(g, name, H5T_IEEE_F32LE, s, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    H5Dwrite(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, v);
    H5Dclose(d);
    H5Sclose(s);
}

static void write_file(const spec *sp)
{
    hid_t f = H5Fcreate(FILE_NAME, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    assert_true(f >= 0);
    if (sp->group) {
        hid_t g = H5Gcreate2(f, "preprocess", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
        if (sp->method) {
            hid_t t = H5Tcopy(H5T_C_S1);
            H5Tset_size(t, sp->vlen ? H5T_VARIABLE : strlen(sp->method) + 1);
            hid_t s = H5Screate(H5S_SCALAR);
            hid_t a = H5Acreate2(g, "method", t, s, H5P_DEFAULT, H5P_DEFAULT);
            if (sp->vlen)
                H5Awrite(a, t, &sp->method);
            else
                H5Awrite(a, t, sp->method);
            H5Aclose(a);
            H5Sclose(s);
            H5Tclose(t);
        }
        vec(g, "x_shift", sp->xs, sp->nxs);
        vec(g, "x_scale", sp->xc, sp->nxc);
        vec(g, "y_shift", sp->ys, sp->ny);
        vec(g, "y_scale", sp->yc, sp->ny);
        H5Gclose(g);
    }
    H5Fclose(f);
}

static const float XS[3] = {1.0f, -2.0f, 0.5f}, XC[3] = {2.0f, 4.0f, 0.25f};
static const float YS[2] = {10.0f, -1.0f}, YC[2] = {3.0f, 0.5f};

static void test_apply_by_hand(void **state)
{
    (void)state;
    nn_preprocess p;
    assert_int_equal(nn_preprocess_alloc(&p, "standard", 3, 2), 0);
    memcpy(p.x_shift, XS, sizeof XS);
    memcpy(p.x_scale, XC, sizeof XC);
    memcpy(p.y_shift, YS, sizeof YS);
    memcpy(p.y_scale, YC, sizeof YC);
    float x[6] = {3, 2, 1.5f, 1, -2, 0.5f}; /* (2, 3) */
    nn_preprocess_apply_x(&p, x, 2, 3);
    const float want_x[6] = {1, 1, 4, 0, 0, 0};
    assert_memory_equal(x, want_x, sizeof x);
    float y[4] = {1, 2, 0, -4}; /* (2, 2) */
    nn_preprocess_unapply_y(&p, y, 2, 2);
    const float want_y[4] = {13, 0, 10, -3};
    assert_memory_equal(y, want_y, sizeof y);
    char err[256];
    assert_int_equal(nn_preprocess_check(&p, 3, 2, err, sizeof err), 0);
    assert_int_equal(nn_preprocess_check(&p, 4, 2, err, sizeof err), -1);
    assert_non_null(strstr(err, "3 entries but the model has 4 inputs"));
    assert_int_equal(nn_preprocess_check(&p, 3, 1, err, sizeof err), -1);
    p.x_scale[1] = 0.0f;
    assert_int_equal(nn_preprocess_check(&p, 3, 2, err, sizeof err), -1);
    assert_non_null(strstr(err, "x_scale[1] is 0"));
    nn_preprocess_free(&p);
    assert_string_equal(p.method, "none");
    nn_preprocess_free(NULL);
}

static void test_none_is_identity(void **state)
{
    (void)state;
    nn_preprocess p;
    nn_preprocess_init(&p);
    float x[2] = {3, 4};
    nn_preprocess_apply_x(&p, x, 1, 2);
    nn_preprocess_unapply_y(&p, x, 1, 2);
    assert_true(x[0] == 3 && x[1] == 4);
    char err[64];
    assert_int_equal(nn_preprocess_check(&p, 2, 7, err, sizeof err), 0);
}

static void read_ok(const spec *sp, nn_preprocess *p)
{
    char err[256] = "";
    write_file(sp);
    int rc = nn_preprocess_read(FILE_NAME, p, err, sizeof err);
    if (rc != 0)
        fail_msg("nn_preprocess_read: %s", err);
}

static void read_fails(const spec *sp, const char *want)
{
    char err[256] = "";
    nn_preprocess p;
    write_file(sp);
    assert_int_equal(nn_preprocess_read(FILE_NAME, &p, err, sizeof err), -1);
    if (!strstr(err, want))
        fail_msg("message '%s' lacks '%s'", err, want);
    assert_string_equal(p.method, "none");
    assert_null(p.x_shift);
}

static void test_read(void **state)
{
    (void)state;
    nn_preprocess p;
    spec none = {0};
    read_ok(&none, &p);
    assert_string_equal(p.method, "none");
    assert_null(p.x_shift);

    spec fixed = {1, "standard", 0, XS, XC, 3, 3, YS, YC, 2};
    read_ok(&fixed, &p);
    assert_string_equal(p.method, "standard");
    assert_int_equal(p.d, 3);
    assert_int_equal(p.k, 2);
    assert_memory_equal(p.x_shift, XS, sizeof XS);
    assert_memory_equal(p.x_scale, XC, sizeof XC);
    assert_memory_equal(p.y_shift, YS, sizeof YS);
    assert_memory_equal(p.y_scale, YC, sizeof YC);
    nn_preprocess_free(&p);

    spec vlen = {1, "minmax", 1, XS, XC, 3, 3, NULL, NULL, 0};
    read_ok(&vlen, &p);
    assert_string_equal(p.method, "minmax");
    assert_int_equal(p.k, 0);
    assert_null(p.y_shift);
    nn_preprocess_free(&p);

    spec off = {1, "none", 0, NULL, NULL, 0, 0, NULL, NULL, 0};
    read_ok(&off, &p);
    assert_string_equal(p.method, "none");
    assert_null(p.x_shift);
}

static void test_read_malformed(void **state)
{
    (void)state;
    spec no_method = {1, NULL, 0, XS, XC, 3, 3, NULL, NULL, 0};
    read_fails(&no_method, "no string attribute 'method'");
    spec no_scale = {1, "standard", 0, XS, NULL, 3, 0, NULL, NULL, 0};
    read_fails(&no_scale, "needs x_shift and x_scale");
    spec lengths = {1, "standard", 0, XS, XC, 3, 2, NULL, NULL, 0};
    read_fails(&lengths, "got lengths 3 and 2");
    spec y_half = {1, "standard", 0, XS, XC, 3, 3, YS, NULL, 2};
    read_fails(&y_half, "has y_shift but not y_scale");
    char err[256];
    nn_preprocess p;
    assert_int_equal(nn_preprocess_read("no-such-file.h5", &p, err, sizeof err), -1);
    assert_non_null(strstr(err, "not a readable HDF5 checkpoint"));
    unlink(FILE_NAME);
}

int main(void)
{
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_apply_by_hand),
        cmocka_unit_test(test_none_is_identity),
        cmocka_unit_test(test_read),
        cmocka_unit_test(test_read_malformed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
