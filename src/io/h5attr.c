/* h5attr.c: HDF5 attribute writers and readers (nn_h5attr.h). */
#include <hdf5.h>
#include <string.h>

#include "nn_h5attr.h"

_Static_assert(sizeof(hid_t) == sizeof(int64_t), "nn_h5attr.h passes an hid_t as int64_t");

int nn_h5_attr(int64_t obj, const char *name, int64_t file, int64_t mem, size_t n,
               const void *v)
{
    hsize_t dim = n;
    hid_t s = n == 0 ? H5Screate(H5S_SCALAR) : H5Screate_simple(1, &dim, NULL);
    if (s < 0)
        return -1;
    hid_t a = H5Acreate2(obj, name, file, s, H5P_DEFAULT, H5P_DEFAULT);
    int rc = (a >= 0 && H5Awrite(a, mem, v) >= 0) ? 0 : -1;
    if (a >= 0)
        H5Aclose(a);
    H5Sclose(s);
    return rc;
}

int nn_h5_attr_str(int64_t obj, const char *name, const char *v, int utf8)
{
    hid_t t = H5Tcopy(H5T_C_S1);
    if (t < 0)
        return -1;
    H5Tset_size(t, strlen(v) + 1);
    H5Tset_strpad(t, H5T_STR_NULLTERM);
    if (utf8)
        H5Tset_cset(t, H5T_CSET_UTF8);
    int rc = nn_h5_attr(obj, name, t, t, 0, v);
    H5Tclose(t);
    return rc;
}

int nn_h5_attr_i64(int64_t obj, const char *name, int64_t v)
{
    return nn_h5_attr(obj, name, H5T_STD_I64LE, H5T_NATIVE_INT64, 0, &v);
}

int nn_h5_attr_f64(int64_t obj, const char *name, double v)
{
    return nn_h5_attr(obj, name, H5T_NATIVE_DOUBLE, H5T_NATIVE_DOUBLE, 0, &v);
}

/* ---- reading ---- */

/* An open attribute with its type's class, its rank and its element count. */
typedef struct {
    hid_t a, t, s;
    H5T_class_t cls;
    int nd;
    hssize_t np;
} attr_view;

static int view_open(hid_t obj, const char *name, attr_view *v)
{
    if (H5Aexists(obj, name) <= 0 || (v->a = H5Aopen(obj, name, H5P_DEFAULT)) < 0)
        return -1;
    v->t = H5Aget_type(v->a);
    v->s = H5Aget_space(v->a);
    v->cls = v->t >= 0 ? H5Tget_class(v->t) : H5T_NO_CLASS;
    v->nd = v->s >= 0 ? H5Sget_simple_extent_ndims(v->s) : -1;
    v->np = v->s >= 0 ? H5Sget_simple_extent_npoints(v->s) : -1;
    return 0;
}

/* Closes v; returns 0 when ok, else -1. */
static int view_close(attr_view *v, int ok)
{
    if (v->s >= 0)
        H5Sclose(v->s);
    if (v->t >= 0)
        H5Tclose(v->t);
    H5Aclose(v->a);
    return ok ? 0 : -1;
}

int nn_h5_attr_get_int(int64_t obj, const char *name, int64_t mem, void *v)
{
    attr_view a;
    if (view_open(obj, name, &a) != 0)
        return -1;
    return view_close(&a, a.cls == H5T_INTEGER && a.nd == 0 && H5Aread(a.a, mem, v) >= 0);
}

int nn_h5_attr_get_f64(int64_t obj, const char *name, double *v)
{
    attr_view a;
    if (view_open(obj, name, &a) != 0)
        return -1;
    return view_close(&a, a.cls == H5T_FLOAT && a.nd == 0 &&
                              H5Aread(a.a, H5T_NATIVE_DOUBLE, v) >= 0);
}

int nn_h5_attr_get_str(int64_t obj, const char *name, char *buf, size_t len)
{
    attr_view a;
    if (view_open(obj, name, &a) != 0)
        return -1;
    int ok = 0;
    if (a.cls == H5T_STRING && a.nd == 0 && H5Tis_variable_str(a.t) == 0 &&
        H5Tget_size(a.t) <= len) {
        hid_t mt = H5Tcopy(H5T_C_S1);
        H5Tset_size(mt, len);
        H5Tset_strpad(mt, H5T_STR_NULLTERM);
        memset(buf, 0, len);
        ok = H5Aread(a.a, mt, buf) >= 0;
        buf[len - 1] = '\0';
        H5Tclose(mt);
    }
    return view_close(&a, ok);
}

int nn_h5_attr_get_ints(int64_t obj, const char *name, int *v, size_t min, size_t max, int *n)
{
    attr_view a;
    if (view_open(obj, name, &a) != 0)
        return -1;
    int ok = a.cls == H5T_INTEGER && a.nd == 1 && a.np >= (hssize_t)min &&
             a.np <= (hssize_t)max && H5Aread(a.a, H5T_NATIVE_INT, v) >= 0;
    if (ok)
        *n = (int)a.np;
    return view_close(&a, ok);
}
