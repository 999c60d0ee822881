/* preprocess_h5.c: reads and writes a checkpoint's /preprocess group (nn_preprocess.h) with
 * the HDF5 C API, and its /encoder. Strings may be fixed-length (nn-train's writer) or
 * variable-length (h5py's default). */
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn_fileio.h"
#include "nn_h5attr.h"
#include "nn_preprocess_h5.h"

/* Reads a scalar string attribute, fixed- or variable-length, into buf; 0 or -1. */
static int attr_string(hid_t obj, const char *name, char *buf, size_t len)
{
    if (H5Aexists(obj, name) <= 0)
        return -1;
    hid_t a = H5Aopen(obj, name, H5P_DEFAULT);
    if (a < 0)
        return -1;
    hid_t ft = H5Aget_type(a);
    int rc = -1;
    memset(buf, 0, len);
    if (ft >= 0 && H5Tget_class(ft) == H5T_STRING) {
        hid_t mt = H5Tcopy(H5T_C_S1);
        if (H5Tis_variable_str(ft) > 0) {
            char *s = NULL;
            H5Tset_size(mt, H5T_VARIABLE);
            if (H5Aread(a, mt, &s) >= 0 && s) {
                snprintf(buf, len, "%s", s);
                H5free_memory(s);
                rc = 0;
            }
        } else {
            H5Tset_size(mt, len);
            H5Tset_strpad(mt, H5T_STR_NULLTERM);
            rc = H5Aread(a, mt, buf) >= 0 ? 0 : -1;
            buf[len - 1] = '\0';
        }
        H5Tclose(mt);
    }
    if (ft >= 0)
        H5Tclose(ft);
    H5Aclose(a);
    return rc;
}

/* Length of a 1-D float dataset, or -1 if it is missing, not float or not 1-D. */
static long vec_len(hid_t g, const char *name)
{
    if (H5Lexists(g, name, H5P_DEFAULT) <= 0)
        return -1;
    hid_t d = H5Dopen2(g, name, H5P_DEFAULT);
    if (d < 0)
        return -1;
    hid_t t = H5Dget_type(d), s = H5Dget_space(d);
    long n = -1;
    if (H5Tget_class(t) == H5T_FLOAT && H5Sget_simple_extent_ndims(s) == 1)
        n = (long)H5Sget_simple_extent_npoints(s);
    H5Tclose(t);
    H5Sclose(s);
    H5Dclose(d);
    return n;
}

static int vec_read(hid_t g, const char *name, float *out)
{
    hid_t d = H5Dopen2(g, name, H5P_DEFAULT);
    int rc = (d >= 0 && H5Dread(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, out) >= 0)
                 ? 0
                 : -1;
    if (d >= 0)
        H5Dclose(d);
    return rc;
}

int nn_preprocess_read(const char *ckpt, nn_preprocess *p, char *err, size_t errlen)
{
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    nn_preprocess_init(p);
    nn_input_guard_arm(ckpt);
    hid_t f = H5Fis_hdf5(ckpt) > 0 ? H5Fopen(ckpt, H5F_ACC_RDONLY, H5P_DEFAULT) : -1;
    if (f < 0) {
        snprintf(err, errlen, "%s: not a readable HDF5 checkpoint", ckpt);
        nn_input_guard_disarm();
        return -1;
    }
    int rc = nn_preprocess_read_fid(f, ckpt, p, err, errlen);
    H5Fclose(f);
    nn_input_guard_disarm();
    return rc;
}

int nn_preprocess_read_fid(int64_t f, const char *ckpt, nn_preprocess *p, char *err,
                           size_t errlen)
{
    nn_preprocess_init(p);
    if (H5Lexists(f, "/preprocess", H5P_DEFAULT) <= 0)
        return 0; /* no group: nothing to apply */
    int rc = -1;
    char method[32];
    hid_t g = H5Gopen2(f, "/preprocess", H5P_DEFAULT);
    if (g < 0) {
        snprintf(err, errlen, "%s: /preprocess is not a group", ckpt);
        goto done;
    }
    if (attr_string(g, "method", method, sizeof method) != 0) {
        snprintf(err, errlen, "%s: /preprocess has no string attribute 'method'", ckpt);
        goto done;
    }
    if (strcmp(method, "none") == 0) {
        rc = 0;
        goto done;
    }
    long d = vec_len(g, "x_shift"), ds = vec_len(g, "x_scale");
    long k = vec_len(g, "y_shift"), ks = vec_len(g, "y_scale");
    int has_ys = H5Lexists(g, "y_shift", H5P_DEFAULT) > 0;
    int has_yc = H5Lexists(g, "y_scale", H5P_DEFAULT) > 0;
    if (d < 1 || ds != d || d > 100000000) {
        snprintf(err, errlen, "%s: /preprocess (method '%s') needs x_shift and x_scale as "
                 "float32 vectors of the same length D >= 1; got lengths %ld and %ld",
                 ckpt, method, d, ds);
        goto done;
    }
    if (has_ys != has_yc) {
        snprintf(err, errlen, "%s: /preprocess has %s but not %s; expected both or neither", ckpt,
                 has_ys ? "y_shift" : "y_scale", has_ys ? "y_scale" : "y_shift");
        goto done;
    }
    if (has_ys && (k < 1 || ks != k || k > 100000000)) {
        snprintf(err, errlen, "%s: /preprocess/y_shift and y_scale must be float32 vectors of "
                 "the same length K >= 1; got lengths %ld and %ld",
                 ckpt, k, ks);
        goto done;
    }
    if (nn_preprocess_alloc(p, method, (int)d, has_ys ? (int)k : 0) != 0) {
        snprintf(err, errlen, "%s: out of memory for /preprocess", ckpt);
        goto done;
    }
    long nc = vec_len(g, "class_weight");
    if (H5Lexists(g, "class_weight", H5P_DEFAULT) > 0 && (nc < 1 || nc > 100000000)) {
        snprintf(err, errlen, "%s: /preprocess/class_weight must be a float32 vector of length "
                 ">= 1; got length %ld",
                 ckpt, nc);
        nn_preprocess_free(p);
        goto done;
    }
    if (nc > 0 && (nn_preprocess_alloc_class_weight(p, (int)nc) != 0 ||
                   vec_read(g, "class_weight", p->class_weight) != 0)) {
        snprintf(err, errlen, "%s: reading /preprocess/class_weight failed (damaged file?)",
                 ckpt);
        nn_preprocess_free(p);
        goto done;
    }
    /* format 4: the training range, both or neither, of length D */
    int has_lo = H5Lexists(g, "x_min", H5P_DEFAULT) > 0, has_hi = H5Lexists(g, "x_max", H5P_DEFAULT) > 0;
    if (has_lo != has_hi || (has_lo && (vec_len(g, "x_min") != d || vec_len(g, "x_max") != d))) {
        snprintf(err, errlen, "%s: /preprocess/x_min and x_max must be float32 vectors of the "
                 "features' length %ld, both or neither; got lengths %ld and %ld",
                 ckpt, d, has_lo ? vec_len(g, "x_min") : -1L, has_hi ? vec_len(g, "x_max") : -1L);
        nn_preprocess_free(p);
        goto done;
    }
    if (has_lo) {
        p->x_min = malloc((size_t)d * sizeof(float));
        p->x_max = malloc((size_t)d * sizeof(float));
        if (!p->x_min || !p->x_max || vec_read(g, "x_min", p->x_min) != 0 ||
            vec_read(g, "x_max", p->x_max) != 0) {
            snprintf(err, errlen, "%s: reading /preprocess/x_min and x_max failed (damaged "
                     "file?)", ckpt);
            nn_preprocess_free(p);
            goto done;
        }
    }
    if (vec_read(g, "x_shift", p->x_shift) != 0 || vec_read(g, "x_scale", p->x_scale) != 0 ||
        (has_ys && (vec_read(g, "y_shift", p->y_shift) != 0 ||
                    vec_read(g, "y_scale", p->y_scale) != 0))) {
        snprintf(err, errlen, "%s: reading /preprocess failed (damaged file?)", ckpt);
        nn_preprocess_free(p);
        goto done;
    }
    rc = 0;
done:
    if (g >= 0)
        H5Gclose(g);
    return rc;
}

int nn_preprocess_write_fid(int64_t f, const nn_preprocess *pre, nn_h5_vec_writer vec)
{
    hid_t g = H5Gcreate2(f, "preprocess", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (g < 0)
        return -1;
    int rc = nn_h5_attr_str(g, "method", pre->method, 0);
    rc |= vec(g, "x_shift", (size_t)pre->d, pre->x_shift);
    rc |= vec(g, "x_scale", (size_t)pre->d, pre->x_scale);
    if (pre->k > 0 && pre->y_shift) {
        rc |= vec(g, "y_shift", (size_t)pre->k, pre->y_shift);
        rc |= vec(g, "y_scale", (size_t)pre->k, pre->y_scale);
    }
    if (pre->nc > 0 && pre->class_weight)
        rc |= vec(g, "class_weight", (size_t)pre->nc, pre->class_weight);
    if (pre->x_min && pre->x_max) { /* format 4: the training range (raw units) */
        rc |= vec(g, "x_min", (size_t)pre->d, pre->x_min);
        rc |= vec(g, "x_max", (size_t)pre->d, pre->x_max);
    }
    H5Gclose(g);
    return rc;
}

/* ---- /encoder (checkpoints and exported models alike) ---- */

int nn_encoder_write_fid(int64_t f, const char *text)
{
    hsize_t one = 1;
    hid_t t = H5Tcopy(H5T_C_S1), sp = H5Screate_simple(1, &one, NULL);
    H5Tset_size(t, H5T_VARIABLE);
    H5Tset_cset(t, H5T_CSET_UTF8);
    hid_t d = H5Dcreate2(f, "encoder", t, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    int rc = d >= 0 && H5Dwrite(d, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, &text) >= 0 ? 0 : -1;
    if (d >= 0 && H5Dclose(d) < 0)
        rc = -1;
    H5Sclose(sp);
    H5Tclose(t);
    return rc;
}

int nn_encoder_read_fid(int64_t f, char **out)
{
    *out = NULL;
    if (H5Lexists(f, "/encoder", H5P_DEFAULT) <= 0)
        return 0;
    hid_t d = H5Dopen2(f, "/encoder", H5P_DEFAULT);
    if (d < 0)
        return -1;
    hid_t ft = H5Dget_type(d), sp = H5Dget_space(d), t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, H5T_VARIABLE);
    if (ft >= 0 && H5Tget_class(ft) == H5T_STRING)
        H5Tset_cset(t, H5Tget_cset(ft)); /* HDF5 converts no character set to another */
    char *s = NULL;
    int ok = ft >= 0 && H5Tget_class(ft) == H5T_STRING && H5Tis_variable_str(ft) > 0 &&
             sp >= 0 && H5Sget_simple_extent_npoints(sp) == 1 &&
             H5Dread(d, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, &s) >= 0 && s;
    if (ok && !(*out = strdup(s)))
        ok = 0;
    if (s)
        H5free_memory(s);
    H5Tclose(t);
    if (sp >= 0)
        H5Sclose(sp);
    if (ft >= 0)
        H5Tclose(ft);
    H5Dclose(d);
    return ok ? 0 : -1;
}
