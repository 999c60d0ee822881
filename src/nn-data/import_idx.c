/* import_idx.c: nn-data import-idx, MNIST-style IDX images and labels (nn_idx.h, gzipped or
 * not) to an nn-train data file: /train, and /test when test files are given, with pixels
 * scaled to x/255 in [0, 1] and int32 labels. Each images/labels pair is streamed a chunk of
 * rows at a time; the summary names the files, the image shape and the labels seen. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn_clock.h"
#include "nn_data_cmd.h"
#include "nn_h5write.h"
#include "nn_idx.h"

/* Streams one images/labels pair into a split, a chunk of rows at a time. */
static int idx_copy(nn_idx *im, nn_idx *lb, nn_h5w_split *s, size_t counts[256], char *err,
                    size_t errlen)
{
    size_t n = nn_idx_count(im), d = nn_idx_item_size(im), block = nn_h5w_chunk_rows(s);
    unsigned char *pix = malloc(block * d), *lab = malloc(block);
    float *x = malloc(d * sizeof(float));
    int rc = pix && lab && x ? 0 : -1;
    if (rc)
        snprintf(err, errlen, "out of memory for %zu rows of %zu pixels", block, d);
    for (size_t done = 0; rc == 0 && done < n; done += block) {
        size_t m = n - done < block ? n - done : block;
        rc = nn_idx_read(im, pix, m, err, errlen);
        if (rc == 0)
            rc = nn_idx_read(lb, lab, m, err, errlen);
        for (size_t i = 0; rc == 0 && i < m; i++) {
            for (size_t j = 0; j < d; j++)
                x[j] = (float)pix[i * d + j] / 255.0f;
            int32_t y = lab[i];
            counts[lab[i]]++;
            rc = nn_h5w_append(s, x, &y, err, errlen);
        }
    }
    if (rc == 0)
        rc = nn_idx_finish(im, err, errlen);
    if (rc == 0)
        rc = nn_idx_finish(lb, err, errlen);
    free(pix);
    free(lab);
    free(x);
    return rc;
}

static void shape_text(const nn_idx *f, char *buf, size_t len)
{
    buf[0] = '\0';
    for (int i = 1; i < nn_idx_ndim(f); i++)
        snprintf(buf + strlen(buf), len - strlen(buf), "%s%u", i > 1 ? "x" : "",
                 (unsigned)nn_idx_dim(f, i));
}

static void class_summary(const size_t counts[256], char *buf, size_t len)
{
    int lo = -1, hi = -1, k = 0;
    for (int i = 0; i < 256; i++)
        if (counts[i]) {
            if (lo < 0)
                lo = i;
            hi = i;
            k++;
        }
    if (k)
        snprintf(buf, len, "labels %d..%d (%d distinct)", lo, hi, k);
    else
        snprintf(buf, len, "no labels");
}

/* The usage errors: test files in pairs, no input named as the output, a regular output.
 * 0, or EXIT_USAGE after printing the error. */
static int idx_check_args(const dopts *o, const char *const inputs[4])
{
    if (!o->test_images != !o->test_labels) {
        data_error("--%s needs --%s as well", o->test_images ? "test-images" : "test-labels",
                   o->test_images ? "test-labels" : "test-images");
        return EXIT_USAGE;
    }
    return check_output(o->output, inputs, 4) ? EXIT_USAGE : 0;
}

/* Opens the nf inputs (images, labels, then the test pair) into f and checks that they fit
 * together: one label per image, at least one image, test images of the training shape,
 * which is left in shape ("28x28"). 0, or -1 with one line in err. */
static int idx_open_inputs(const char *const inputs[4], int nf, nn_idx *f[4], char *shape,
                           size_t shapelen, char *err, size_t errlen)
{
    for (int i = 0; i < nf; i++)
        if (!(f[i] = nn_idx_open(inputs[i], i % 2 ? 1 : 0, err, errlen)))
            return -1;
    for (int i = 0; i < nf; i += 2)
        if (nn_idx_count(f[i]) != nn_idx_count(f[i + 1])) {
            snprintf(err, errlen, "%s has %zu labels but %s has %zu images; expected one "
                     "label per image", inputs[i + 1], nn_idx_count(f[i + 1]), inputs[i],
                     nn_idx_count(f[i]));
            return -1;
        }
    if (nn_idx_count(f[0]) == 0) {
        snprintf(err, errlen, "%s: 0 images; expected at least one", inputs[0]);
        return -1;
    }
    shape_text(f[0], shape, shapelen);
    if (nf == 4) {
        char tshape[64];
        shape_text(f[2], tshape, sizeof tshape);
        if (strcmp(shape, tshape) != 0) {
            snprintf(err, errlen, "%s: images of %s; expected %s as in %s", inputs[2],
                     tshape, shape, inputs[0]);
            return -1;
        }
    }
    return 0;
}

/* Provenance and /meta. 0, or nonzero on failure. */
static int idx_write_meta(nn_h5w *w, const char *const inputs[4], int with_test,
                          const char *shape, int argc, char **argv)
{
    return write_provenance(w, argc, argv) |
           nn_h5w_attr_str(w, "/meta", "source_format", "idx") |
           nn_h5w_attr_str(w, "/meta", "train_images", inputs[0]) |
           nn_h5w_attr_str(w, "/meta", "train_labels", inputs[1]) |
           (with_test ? nn_h5w_attr_str(w, "/meta", "test_images", inputs[2]) |
                            nn_h5w_attr_str(w, "/meta", "test_labels", inputs[3])
                      : 0) |
           nn_h5w_attr_str(w, "/meta", "image_shape", shape) |
           nn_h5w_attr_str(w, "/meta", "x_scaling", "pixel / 255 (float32 in [0, 1])") |
           nn_h5w_attr_str(w, "/meta", "task", "classify");
}

static void print_idx_summary(const dopts *o, const char *const inputs[4], nn_idx *const f[4],
                              int nf, size_t counts[2][256], const char *shape, size_t ntrain,
                              size_t ntest, double secs)
{
    int gz[4];
    for (int i = 0; i < nf; i++)
        gz[i] = nn_idx_is_gzip(f[i]);
    char cs[64];
    class_summary(counts[0], cs, sizeof cs);
    printf("%s%s: %zu images of %s pixels, scaled to x/255 in [0, 1]; %s%s: %s\n", inputs[0],
           gz[0] ? " (gzip)" : "", ntrain, shape, inputs[1], gz[1] ? " (gzip)" : "", cs);
    if (nf == 4) {
        class_summary(counts[1], cs, sizeof cs);
        printf("%s%s: %zu test images; %s%s: %s\n", inputs[2], gz[2] ? " (gzip)" : "", ntest,
               inputs[3], gz[3] ? " (gzip)" : "", cs);
    }
    printf("wrote %s: /train %zu rows", o->output, ntrain);
    if (nf == 4)
        printf(", /test %zu rows", ntest);
    printf(", %zu features, int32 labels, in %.2f s\n", nn_idx_item_size(f[0]), secs);
}

int cmd_import_idx(const dopts *o, int argc, char **argv)
{
    const char *const inputs[4] = {o->images, o->labels, o->test_images, o->test_labels};
    int rc = idx_check_args(o, inputs);
    if (rc != 0)
        return rc;
    char err[1024] = "", shape[64];
    double t0 = nn_now();
    nn_idx *f[4] = {NULL, NULL, NULL, NULL};
    nn_h5w *w = NULL;
    rc = EXIT_DATA;
    int nf = o->test_images ? 4 : 2;
    if (idx_open_inputs(inputs, nf, f, shape, sizeof shape, err, sizeof err) != 0)
        goto done;
    size_t d = nn_idx_item_size(f[0]);
    if (!(w = open_output(o->output, err, sizeof err)))
        goto done;
    nn_h5w_split *train = nn_h5w_add_split(w, "train", d, 0, err, sizeof err), *test = NULL;
    if (!train || (nf == 4 && !(test = nn_h5w_add_split(w, "test", d, 0, err, sizeof err))))
        goto done;
    size_t counts[2][256];
    memset(counts, 0, sizeof counts);
    if (idx_copy(f[0], f[1], train, counts[0], err, sizeof err) != 0 ||
        (test && idx_copy(f[2], f[3], test, counts[1], err, sizeof err) != 0))
        goto done;
    if (idx_write_meta(w, inputs, test != NULL, shape, argc, argv)) {
        snprintf(err, sizeof err, "%s: writing the attributes failed", nn_h5w_tmp_path(w));
        goto done;
    }
    size_t ntrain = nn_h5w_rows(train), ntest = test ? nn_h5w_rows(test) : 0;
    nn_h5w *pending = w;
    w = NULL;
    if (commit_output(pending, err, sizeof err) != 0)
        goto done;
    print_idx_summary(o, inputs, f, nf, counts, shape, ntrain, ntest, nn_now() - t0);
    rc = 0;
done:
    if (rc != 0)
        data_error("%s", err);
    abort_output(w);
    for (int i = 0; i < 4; i++)
        nn_idx_close(f[i]);
    return rc;
}
