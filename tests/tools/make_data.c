/* make_data.c: writes the small HDF5 data sets the end-to-end tests train on, and broken ones
 * for the bad-input tests. Uses nn-data's writer (nn_h5w, nn_h5write.h: chunked and compressed
 * datasets, written to FILE.tmp and renamed) for valid files and the raw HDF5 API for the
 * broken ones, which that writer cannot make.
 *
 *   make_data blobs   FILE N D K SEED [VAL [NOISE]]  Gaussian clusters (spread NOISE, default
 *                                            0.5), integer labels, optional /val rows
 *   make_data regress FILE N D K SEED        smooth nonlinear targets, float32 [N, K]
 *   make_data rowid   FILE N                 x[i] = (i, 0), labels i % 2: tracks where rows go
 *   make_data bad-xint | bad-label | bad-nan | bad-noy | bad-rows | bad-ystr  FILE
 */
#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TOOL_NAME "make_data"
#include "tool_h5w.h"
#include "nn_rows.h"
#include "nn_rng.h"

static double gauss(nn_rng *r)
{
    double u = nn_rng_uniform(r) + 1e-300, v = nn_rng_uniform(r);
    return sqrt(-2.0 * log(u)) * cos(2.0 * M_PI * v);
}

static void blobs(nn_rows *r, size_t n, int d, int k, nn_rng *g, const float *centers,
                  double noise)
{
    for (size_t i = 0; i < n; i++) {
        int c = (int)nn_rng_below(g, (uint64_t)k);
        r->labels[i] = c;
        for (int j = 0; j < d; j++)
            r->x[i * d + j] = (float)(centers[c * d + j] + noise * gauss(g));
    }
}

/* Writes a file of one split, /train. */
static void write_train(const char *path, const nn_rows *r)
{
    nn_h5w *w = create_or_die(path);
    add_or_die(w, "train", r);
    commit_or_die(w);
}

/* Writes /train with x of the given HDF5 type and shape, and y as labels or strings. */
static void write_raw(const char *path, hid_t xtype, const void *x, hsize_t xn, hsize_t xd,
                      int ystr, const int *y, hsize_t yn, int with_y)
{
    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    hid_t g = H5Gcreate2(f, "train", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    hsize_t xdims[2] = {xn, xd};
    hid_t s = H5Screate_simple(2, xdims, NULL);
    hid_t d = H5Dcreate2(g, "x", xtype, s, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    H5Dwrite(d, xtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, x);
    H5Dclose(d);
    H5Sclose(s);
    if (with_y) {
        s = H5Screate_simple(1, &yn, NULL);
        if (ystr) {
            hid_t t = H5Tcopy(H5T_C_S1);
            H5Tset_size(t, 4);
            char *buf = calloc(yn, 4);
            for (hsize_t i = 0; i < yn; i++)
                snprintf(buf + 4 * i, 4, "c%d", (int)(i % 3));
            d = H5Dcreate2(g, "y", t, s, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
            H5Dwrite(d, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf);
            free(buf);
            H5Tclose(t);
        } else {
            d = H5Dcreate2(g, "y", H5T_NATIVE_INT, s, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
            H5Dwrite(d, H5T_NATIVE_INT, H5S_ALL, H5S_ALL, H5P_DEFAULT, y);
        }
        H5Dclose(d);
        H5Sclose(s);
    }
    H5Gclose(g);
    H5Fclose(f);
}

/* The broken files bad-KIND: 16 rows of 4 features, 3 classes. 0, or 2 for an unknown KIND. */
static int write_bad(const char *path, const char *kind)
{
    enum { N = 16, D = 4 };
    float x[N * D];
    int xi[N * D], y[N];
    for (int i = 0; i < N * D; i++) {
        x[i] = (float)i / 10.0f;
        xi[i] = i;
    }
    for (int i = 0; i < N; i++)
        y[i] = i % 3;
    if (strcmp(kind, "bad-xint") == 0)
        write_raw(path, H5T_NATIVE_INT, xi, N, D, 0, y, N, 1);
    else if (strcmp(kind, "bad-label") == 0) {
        y[11] = 7; /* three classes, label 7 */
        write_raw(path, H5T_NATIVE_FLOAT, x, N, D, 0, y, N, 1);
    } else if (strcmp(kind, "bad-nan") == 0) {
        x[5 * D + 2] = NAN;
        write_raw(path, H5T_NATIVE_FLOAT, x, N, D, 0, y, N, 1);
    } else if (strcmp(kind, "bad-noy") == 0)
        write_raw(path, H5T_NATIVE_FLOAT, x, N, D, 0, y, N, 0);
    else if (strcmp(kind, "bad-rows") == 0)
        write_raw(path, H5T_NATIVE_FLOAT, x, N, D, 0, y, N - 3, 1);
    else if (strcmp(kind, "bad-ystr") == 0)
        write_raw(path, H5T_NATIVE_FLOAT, x, N, D, 1, y, N, 1);
    else {
        fprintf(stderr, "make_data: unknown kind %s\n", kind);
        return 2;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: make_data KIND FILE [args]\n");
        return 2;
    }
    const char *kind = argv[1], *path = argv[2];
    size_t n = argc > 3 ? strtoul(argv[3], NULL, 10) : 64;
    int d = argc > 4 ? atoi(argv[4]) : 4, k = argc > 5 ? atoi(argv[5]) : 3;
    uint64_t seed = argc > 6 ? strtoull(argv[6], NULL, 10) : 1;
    nn_rng g;
    nn_rng_seed(&g, seed, 7);
    nn_rows r;
    if (strcmp(kind, "blobs") == 0) {
        size_t nval = argc > 7 ? strtoul(argv[7], NULL, 10) : 0;
        double noise = argc > 8 ? atof(argv[8]) : 0.5;
        float *centers = malloc((size_t)k * d * sizeof(float));
        for (int i = 0; i < k * d; i++)
            centers[i] = (float)(2.0 * gauss(&g));
        nn_h5w *w = create_or_die(path);
        nn_rows_alloc(&r, n, d, 1, 1);
        blobs(&r, n, d, k, &g, centers, noise);
        add_or_die(w, "train", &r);
        nn_rows_free(&r);
        if (nval) {
            nn_rows_alloc(&r, nval, d, 1, 1);
            blobs(&r, nval, d, k, &g, centers, noise);
            add_or_die(w, "val", &r);
            nn_rows_free(&r);
        }
        commit_or_die(w);
        free(centers);
    } else if (strcmp(kind, "regress") == 0) {
        nn_rows_alloc(&r, n, d, 0, k);
        for (size_t i = 0; i < n; i++) {
            for (int j = 0; j < d; j++)
                r.x[i * d + j] = (float)(2.0 * nn_rng_uniform(&g) - 1.0);
            for (int c = 0; c < k; c++) {
                double s = 0;
                for (int j = 0; j < d; j++)
                    s += sin(1.0 + c + j) * r.x[i * d + j];
                r.targets[i * k + c] = (float)tanh(s);
            }
        }
        write_train(path, &r);
        nn_rows_free(&r);
    } else if (strcmp(kind, "rowid") == 0) {
        nn_rows_alloc(&r, n, 2, 1, 1);
        for (size_t i = 0; i < n; i++) {
            r.x[2 * i] = (float)i;
            r.x[2 * i + 1] = 0.0f;
            r.labels[i] = (int32_t)(i % 2);
        }
        write_train(path, &r);
        nn_rows_free(&r);
    } else if (strncmp(kind, "bad-", 4) == 0) {
        return write_bad(path, kind);
    } else {
        fprintf(stderr, "make_data: unknown kind %s\n", kind);
        return 2;
    }
    return 0;
}
