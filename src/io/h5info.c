/* h5info.c: dataset metadata and strings for `nn-data info` (nn_h5info.h). */
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn_h5data.h"
#include "nn_h5info.h"

/* The data readers' open (nn_h5_open_ro, with the input guard); these callers say "cannot
 * read" themselves, so its message is dropped. */
static hid_t open_ro(const char *path)
{
    char err[8];
    return nn_h5_open_ro(path, err, sizeof err);
}

/* H5Lexists on every prefix: "/a/b" when /a is missing is then 0, not an error. */
static int path_exists(hid_t f, const char *path)
{
    char buf[256];
    if (strlen(path) >= sizeof buf)
        return 0;
    snprintf(buf, sizeof buf, "%s", path);
    for (char *p = buf + 1;; p++) {
        if (*p == '/' || *p == '\0') {
            char c = *p;
            *p = '\0';
            if (H5Lexists(f, buf, H5P_DEFAULT) <= 0)
                return 0;
            if (c == '\0')
                return 1;
            *p = c;
        }
    }
}

static void type_name(hid_t t, char *buf, size_t len)
{
    size_t bits = 8 * H5Tget_size(t);
    switch (H5Tget_class(t)) {
    case H5T_INTEGER:
        snprintf(buf, len, "%sint%zu", H5Tget_sign(t) == H5T_SGN_NONE ? "u" : "", bits);
        break;
    case H5T_FLOAT: snprintf(buf, len, "float%zu", bits); break;
    case H5T_STRING: snprintf(buf, len, "string"); break;
    case H5T_COMPOUND: snprintf(buf, len, "compound"); break;
    default: snprintf(buf, len, "other"); break;
    }
}

int nn_h5_describe(const char *path, const char *dset, nn_h5_dset_desc *d)
{
    memset(d, 0, sizeof *d);
    hid_t f = open_ro(path);
    if (f < 0)
        return -1;
    int rc = 1;
    if (path_exists(f, dset)) {
        rc = -1;
        hid_t ds = H5Dopen2(f, dset, H5P_DEFAULT);
        if (ds >= 0) {
            hid_t t = H5Dget_type(ds), s = H5Dget_space(ds), p = H5Dget_create_plist(ds);
            type_name(t, d->type, sizeof d->type);
            d->rank = H5Sget_simple_extent_ndims(s);
            hsize_t dims[H5S_MAX_RANK];
            if (d->rank > 0 && H5Sget_simple_extent_dims(s, dims, NULL) >= 0)
                for (int i = 0; i < d->rank && i < 2; i++)
                    d->dims[i] = dims[i];
            if (H5Pget_layout(p) == H5D_CHUNKED) {
                d->chunked = 1;
                hsize_t c[H5S_MAX_RANK];
                int r = H5Pget_chunk(p, H5S_MAX_RANK, c);
                for (int i = 0; i < r && i < 2; i++)
                    d->chunk[i] = c[i];
            }
            int nf = H5Pget_nfilters(p);
            for (int i = 0; i < nf; i++) {
                unsigned flags, cd[8];
                size_t ncd = 8;
                char name[32] = "";
                H5Z_filter_t id = H5Pget_filter2(p, (unsigned)i, &flags, &ncd, cd, sizeof name,
                                                 name, NULL);
                char one[48];
                if (id == H5Z_FILTER_DEFLATE)
                    snprintf(one, sizeof one, "deflate(%u)", ncd > 0 ? cd[0] : 0);
                else if (id == H5Z_FILTER_SHUFFLE)
                    snprintf(one, sizeof one, "shuffle");
                else if (id == H5Z_FILTER_FLETCHER32)
                    snprintf(one, sizeof one, "fletcher32");
                else
                    snprintf(one, sizeof one, "filter%d", (int)id);
                size_t used = strlen(d->filters);
                snprintf(d->filters + used, sizeof d->filters - used, "%s%s", used ? "+" : "",
                         one);
            }
            H5Pclose(p);
            H5Sclose(s);
            H5Tclose(t);
            H5Dclose(ds);
            rc = 0;
        }
    }
    nn_h5_close_ro(f);
    return rc;
}

void nn_h5_strings_free(char **s, size_t n)
{
    if (!s)
        return;
    for (size_t i = 0; i < n; i++)
        free(s[i]);
    free(s);
}

int nn_h5_read_strings(const char *path, const char *dset, char ***out, size_t *n)
{
    *out = NULL;
    *n = 0;
    hid_t f = open_ro(path);
    if (f < 0)
        return -1;
    if (!path_exists(f, dset)) {
        nn_h5_close_ro(f);
        return 1;
    }
    int rc = -1;
    hid_t ds = H5Dopen2(f, dset, H5P_DEFAULT);
    hid_t ft = ds >= 0 ? H5Dget_type(ds) : -1, s = ds >= 0 ? H5Dget_space(ds) : -1;
    if (ft >= 0 && s >= 0 && H5Tget_class(ft) == H5T_STRING &&
        H5Sget_simple_extent_ndims(s) == 1) {
        hsize_t cnt;
        H5Sget_simple_extent_dims(s, &cnt, NULL);
        char **v = calloc(cnt ? cnt : 1, sizeof *v);
        hid_t mt = H5Tcopy(H5T_C_S1);
        H5Tset_cset(mt, H5Tget_cset(ft)); /* HDF5 converts no strings between ASCII and UTF-8 */
        if (v && H5Tis_variable_str(ft) > 0) {
            char **tmp = calloc(cnt ? cnt : 1, sizeof *tmp);
            H5Tset_size(mt, H5T_VARIABLE);
            if (tmp && H5Dread(ds, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, tmp) >= 0) {
                rc = 0;
                for (hsize_t i = 0; i < cnt; i++)
                    if (!(v[i] = strdup(tmp[i] ? tmp[i] : "")))
                        rc = -1;
#if H5_VERSION_GE(1, 12, 0)
                H5Treclaim(mt, s, H5P_DEFAULT, tmp);
#else
                H5Dvlen_reclaim(mt, s, H5P_DEFAULT, tmp);
#endif
            }
            free(tmp);
        } else if (v) {
            size_t w = H5Tget_size(ft);
            char *tmp = malloc(cnt * w + 1);
            H5Tset_size(mt, w);
            if (tmp && H5Dread(ds, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, tmp) >= 0) {
                rc = 0;
                for (hsize_t i = 0; i < cnt; i++)
                    if (!(v[i] = strndup(tmp + i * w, w)))
                        rc = -1;
            }
            free(tmp);
        }
        H5Tclose(mt);
        if (rc == 0) {
            *out = v;
            *n = (size_t)cnt;
        } else {
            nn_h5_strings_free(v, (size_t)cnt);
        }
    }
    if (s >= 0)
        H5Sclose(s);
    if (ft >= 0)
        H5Tclose(ft);
    if (ds >= 0)
        H5Dclose(ds);
    nn_h5_close_ro(f);
    return rc;
}

int nn_h5_attr_text(const char *path, const char *obj, const char *name, char *buf, size_t len)
{
    buf[0] = '\0';
    hid_t f = open_ro(path);
    if (f < 0)
        return -1;
    int rc = 1;
    if ((strcmp(obj, "/") == 0 || path_exists(f, obj)) &&
        H5Aexists_by_name(f, obj, name, H5P_DEFAULT) > 0) {
        rc = -1;
        hid_t a = H5Aopen_by_name(f, obj, name, H5P_DEFAULT, H5P_DEFAULT);
        hid_t t = a >= 0 ? H5Aget_type(a) : -1;
        H5T_class_t c = t >= 0 ? H5Tget_class(t) : H5T_NO_CLASS;
        if (c == H5T_STRING && H5Tis_variable_str(t) <= 0) {
            size_t w = H5Tget_size(t);
            char *tmp = calloc(w + 1, 1);
            if (tmp && H5Aread(a, t, tmp) >= 0) {
                snprintf(buf, len, "%s", tmp);
                rc = 0;
            }
            free(tmp);
        } else if (c == H5T_INTEGER) {
            long long v;
            if (H5Aread(a, H5T_NATIVE_LLONG, &v) >= 0) {
                snprintf(buf, len, "%lld", v);
                rc = 0;
            }
        } else if (c == H5T_FLOAT) {
            double v;
            if (H5Aread(a, H5T_NATIVE_DOUBLE, &v) >= 0) {
                snprintf(buf, len, "%g", v);
                rc = 0;
            }
        }
        if (t >= 0)
            H5Tclose(t);
        if (a >= 0)
            H5Aclose(a);
    }
    nn_h5_close_ro(f);
    return rc;
}
