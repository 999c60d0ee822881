/* predict_tool.c: edits data files and checkpoints for nn-predict's end-to-end tests
 * (tests/e2e_predict.sh), with the HDF5 C API so the tests need no h5py.
 *
 *   predict_tool copy-split SRC SPLIT DST NEWSPLIT [x-only]
 *       copies SRC's /SPLIT into DST (created if missing) as /NEWSPLIT; x-only drops y.
 *       Data files are written by nn-data's writer (nn_h5w, nn_h5write.h), which makes whole
 *       files: DST is rewritten with its /train, /val and /test and the new split (nothing
 *       else of DST is kept). A split without y, which that writer does not make, is added
 *       to DST in place with the HDF5 C API.
 *   predict_tool affine SRC DST XA XB [YA YB]
 *       writes DST with every split of SRC mapped to "raw" units: x[:, j] * sx_j + hx_j, and
 *       with YA YB float targets y[:, c] * sy_c + hy_c, where h_j = A + 0.5 j, s_j = B (1 + 0.25 j)
 *   predict_tool add-preprocess CKPT METHOD D XA XB [K YA YB]
 *       gives a checkpoint a /preprocess with the same vectors (replacing any it had), so that
 *       nn-predict's (x - h) / s undoes `affine` (and y = out * s + h redoes it for targets)
 *   predict_tool set-version CKPT V
 *       rewrites the root attribute format_version
 */
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn_checkpoint.h"
#include "nn_h5data.h"
#define TOOL_NAME "predict_tool"
#include "tool_h5w.h"
#include "nn_preprocess.h"

static float shift_of(double a, int j) { return (float)(a + 0.5 * j); }
static float scale_of(double b, int j) { return (float)(b * (1.0 + 0.25 * j)); }

/* Reads a whole split (x and y) into r. */
static void read_split(const char *path, const char *split, nn_rows *r, nn_split_info *info)
{
    char err[512];
    if (nn_h5_probe(path, split, info, err, sizeof err) != 0 ||
        nn_h5_read_block(path, split, info, 0, info->n, r, err, sizeof err) != 0)
        die(err);
}

static int exists(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f)
        fclose(f);
    return f != NULL;
}

/* Writes x only, as /split/x float32 [n, d]. */
static void write_x_only(const char *path, const char *split, const nn_rows *r)
{
    hid_t f = exists(path) ? H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT)
                           : H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    if (f < 0)
        die("cannot open the destination");
    hid_t g = H5Gcreate2(f, split, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    hsize_t dims[2] = {r->n, (hsize_t)r->d};
    hid_t s = H5Screate_simple(2, dims, NULL);
    hid_t d = H5Dcreate2(g, "x", H5T_IEEE_F32LE, s, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (g < 0 || d < 0 || H5Dwrite(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, r->x) < 0)
        die("writing x failed");
    H5Dclose(d);
    H5Sclose(s);
    H5Gclose(g);
    H5Fclose(f);
}

static const char *const splits[] = {"train", "val", "test"};

/* Rewrites dst with its splits (if it exists) and r as /to, which dst must not have yet. */
static void add_split(const char *dst, const char *to, const nn_rows *r)
{
    char err[512];
    int old = exists(dst);
    nn_h5w *w = create_or_die(dst);
    for (int s = 0; old && s < 3; s++) {
        nn_split_info info;
        int rc = nn_h5_probe(dst, splits[s], &info, err, sizeof err);
        if (rc == 1)
            continue; /* dst has no such split */
        if (rc == 0 && strcmp(splits[s], to) == 0) {
            snprintf(err, sizeof err, "%s already has /%s", dst, to);
            rc = -1;
        }
        if (rc != 0) {
            nn_h5w_abort(w);
            die(err);
        }
        nn_rows keep;
        read_split(dst, splits[s], &keep, &info);
        add_or_die(w, splits[s], &keep);
        nn_rows_free(&keep);
    }
    add_or_die(w, to, r);
    commit_or_die(w);
}

static void copy_split(const char *src, const char *split, const char *dst, const char *to,
                       int x_only)
{
    nn_rows r;
    nn_split_info info;
    read_split(src, split, &r, &info);
    if (x_only)
        write_x_only(dst, to, &r);
    else
        add_split(dst, to, &r);
    nn_rows_free(&r);
}

static void affine(const char *src, const char *dst, double xa, double xb, int with_y,
                   double ya, double yb)
{
    char err[512];
    nn_h5w *w = NULL;
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    for (int s = 0; s < 3; s++) {
        nn_split_info info;
        if (nn_h5_probe(src, splits[s], &info, err, sizeof err) != 0)
            continue;
        nn_rows r;
        read_split(src, splits[s], &r, &info);
        for (size_t i = 0; i < r.n; i++) {
            for (int j = 0; j < r.d; j++) {
                float *v = &r.x[i * (size_t)r.d + j];
                *v = *v * scale_of(xb, j) + shift_of(xa, j);
            }
            if (with_y && r.targets)
                for (int c = 0; c < r.k; c++) {
                    float *v = &r.targets[i * (size_t)r.k + c];
                    *v = *v * scale_of(yb, c) + shift_of(ya, c);
                }
        }
        if (!w)
            w = create_or_die(dst);
        add_or_die(w, splits[s], &r);
        nn_rows_free(&r);
    }
    if (!w)
        die("the source has no split");
    commit_or_die(w);
}

/* The /preprocess vectors: shift h_j = a + 0.5 j, scale s_j = b (1 + 0.25 j). */
static void fill(float *v, int n, double a, double b, int is_scale)
{
    for (int j = 0; j < n; j++)
        v[j] = is_scale ? scale_of(b, j) : shift_of(a, j);
}

/* Rewrites the checkpoint through nn-train's own reader and writer, so that its state checksum
 * covers the new /preprocess as it would in a checkpoint nn-train wrote with it. */
static void add_preprocess(const char *ckpt, const char *method, int d, double xa, double xb,
                           int k, double ya, double yb)
{
    char err[1024];
    nn_ckpt_info info;
    float *p = NULL, *m = NULL, *v = NULL;
    nn_preprocess pre;
    nn_preprocess_init(&pre);
    if (nn_ckpt_load(ckpt, &info, &p, &m, &v, NULL, err, sizeof err) != 0)
        die(err);
    if (nn_preprocess_alloc(&pre, method, d, k) != 0)
        die("out of memory");
    fill(pre.x_shift, d, xa, xb, 0);
    fill(pre.x_scale, d, xa, xb, 1);
    if (k > 0) {
        fill(pre.y_shift, k, ya, yb, 0);
        fill(pre.y_scale, k, ya, yb, 1);
    }
    if (nn_ckpt_write(ckpt, &info.lo, p, &info.hp, m, v, &info.meta, &pre, err, sizeof err) != 0)
        die(err);
    nn_preprocess_free(&pre);
    free(p);
    free(m);
    free(v);
}

static void set_version(const char *ckpt, long long v)
{
    hid_t f = H5Fopen(ckpt, H5F_ACC_RDWR, H5P_DEFAULT);
    if (f < 0)
        die("cannot open the checkpoint for writing");
    H5Adelete(f, "format_version");
    hid_t s = H5Screate(H5S_SCALAR);
    hid_t a = H5Acreate2(f, "format_version", H5T_STD_I64LE, s, H5P_DEFAULT, H5P_DEFAULT);
    if (a < 0 || H5Awrite(a, H5T_NATIVE_LLONG, &v) < 0)
        die("writing format_version failed");
    H5Aclose(a);
    H5Sclose(s);
    H5Fclose(f);
}

int main(int argc, char **argv)
{
    const char *cmd = argc > 1 ? argv[1] : "";
    if (strcmp(cmd, "copy-split") == 0 && (argc == 6 || argc == 7))
        copy_split(argv[2], argv[3], argv[4], argv[5], argc == 7 && !strcmp(argv[6], "x-only"));
    else if (strcmp(cmd, "affine") == 0 && (argc == 6 || argc == 8))
        affine(argv[2], argv[3], atof(argv[4]), atof(argv[5]), argc == 8,
               argc == 8 ? atof(argv[6]) : 0, argc == 8 ? atof(argv[7]) : 1);
    else if (strcmp(cmd, "add-preprocess") == 0 && (argc == 7 || argc == 10))
        add_preprocess(argv[2], argv[3], atoi(argv[4]), atof(argv[5]), atof(argv[6]),
                       argc == 10 ? atoi(argv[7]) : 0, argc == 10 ? atof(argv[8]) : 0,
                       argc == 10 ? atof(argv[9]) : 1);
    else if (strcmp(cmd, "set-version") == 0 && argc == 4)
        set_version(argv[2], atoll(argv[3]));
    else {
        fprintf(stderr, "usage: predict_tool copy-split SRC SPLIT DST NEWSPLIT [x-only]\n"
                        "       predict_tool affine SRC DST XA XB [YA YB]\n"
                        "       predict_tool add-preprocess CKPT METHOD D XA XB [K YA YB]\n"
                        "       predict_tool set-version CKPT V\n");
        return 2;
    }
    return 0;
}
