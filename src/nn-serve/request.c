/* request.c: the protocols' bodies, without HTTP. A body becomes plain rows (n, d) or one error
 * line with its HTTP status; the answers are written as JSON text. Parsing is cJSON's
 * (nesting limited to CJSON_NESTING_LIMIT, 1000; a body need not be NUL-terminated). */
#include <cjson/cJSON.h>
#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nn_serve.h"

#define BAD(...) (snprintf(err, errlen, __VA_ARGS__), 400)

void nn_buf_printf(nn_buf *b, const char *fmt, ...)
{
    va_list ap;
    for (int tries = 0; tries < 2 && !b->oom; tries++) {
        va_start(ap, fmt);
        int k = vsnprintf(b->s ? b->s + b->len : NULL, b->s ? b->cap - b->len : 0, fmt, ap);
        va_end(ap);
        if (k < 0) {
            b->oom = 1;
        } else if (b->s && (size_t)k < b->cap - b->len) {
            b->len += (size_t)k;
            return;
        } else {
            size_t cap = (b->cap ? b->cap * 2 : 4096) + (size_t)k + 1;
            char *s = realloc(b->s, cap);
            if (!s)
                b->oom = 1;
            else
                b->s = s, b->cap = cap;
        }
    }
}

void nn_buf_append(nn_buf *b, const char *data, size_t n)
{
    if (b->oom)
        return;
    if (b->cap - b->len < n + 1) {
        size_t cap = b->cap * 2 > b->len + n + 1 ? b->cap * 2 : b->len + n + 1;
        char *s = realloc(b->s, cap);
        if (!s) {
            b->oom = 1;
            return;
        }
        b->s = s, b->cap = cap;
    }
    memcpy(b->s + b->len, data, n);
    b->len += n;
    b->s[b->len] = 0;
}

void nn_buf_free(nn_buf *b)
{
    free(b->s);
    memset(b, 0, sizeof *b);
}

void nn_serve_req_free(nn_serve_req *r)
{
    free(r->x);
    free(r->id);
    free(r->in_name);
    memset(r, 0, sizeof *r);
}

static int parse_body(const char *body, size_t len, cJSON **root, char *err, size_t errlen)
{
    const char *end = NULL;
    if (len == 0)
        return BAD("empty body; expected a JSON object");
    *root = cJSON_ParseWithLengthOpts(body, len, &end, 0);
    if (!*root)
        return BAD("malformed JSON at byte %zu of %zu (or nested deeper than %d)",
                   end && end >= body ? (size_t)(end - body) : (size_t)0, len,
                   CJSON_NESTING_LIMIT);
    if (!cJSON_IsObject(*root))
        return BAD("the body is JSON but not an object; expected {...}");
    return 0;
}

/* One number into x[i]: a finite float32. */
static int put_number(const cJSON *v, float *x, size_t i, char *err, size_t errlen)
{
    if (!cJSON_IsNumber(v))
        return BAD("data element %zu is not a number; expected FP32 values", i);
    double d = v->valuedouble;
    if (!isfinite(d) || fabs(d) > FLT_MAX)
        return BAD("data element %zu (%g) is not a finite float32 value", i, d);
    x[i] = (float)d;
    return 0;
}

/* data: flat (n*d numbers) or nested (n arrays of d numbers) into x (n, d). */
static int fill_rows(const cJSON *data, size_t n, int d, float *x, char *err, size_t errlen)
{
    size_t cnt = (size_t)cJSON_GetArraySize(data), i = 0;
    const cJSON *e = data->child;
    if (e && cJSON_IsArray(e)) {
        if (cnt != n)
            return BAD("data has %zu rows but the shape says %zu", cnt, n);
        for (; e; e = e->next) {
            if (!cJSON_IsArray(e) || cJSON_GetArraySize(e) != d)
                return BAD("data row %zu is not an array of %d numbers; expected [N, %d]",
                           i / (size_t)d, d, d);
            for (const cJSON *v = e->child; v; v = v->next, i++)
                if (put_number(v, x, i, err, errlen))
                    return 400;
        }
        return 0;
    }
    if (cnt != n * (size_t)d)
        return BAD("data has %zu values but the shape [%zu, %d] needs %zu", cnt, n, d,
                   n * (size_t)d);
    for (; e; e = e->next, i++)
        if (put_number(e, x, i, err, errlen))
            return 400;
    return 0;
}

static int alloc_rows(nn_serve_req *r, size_t n, int d, size_t max_rows, char *err,
                      size_t errlen)
{
    if (n == 0)
        return BAD("empty batch: 0 rows; expected at least one");
    if (n > max_rows)
        return snprintf(err, errlen, "%zu rows is over this server's --max-batch %zu", n,
                        max_rows), 413;
    r->n = n;
    r->d = d;
    r->x = malloc(n * (size_t)d * sizeof(float));
    if (!r->x)
        return snprintf(err, errlen, "out of memory for %zu rows", n), 500;
    return 0;
}

/* shape: [N, D] of non-negative integers with D the model's. */
static int read_shape(const cJSON *shape, int d, size_t *n, char *err, size_t errlen)
{
    const cJSON *a = cJSON_GetArrayItem(shape, 0), *b = cJSON_GetArrayItem(shape, 1);
    if (!cJSON_IsArray(shape) || cJSON_GetArraySize(shape) != 2 || !cJSON_IsNumber(a) ||
        !cJSON_IsNumber(b))
        return BAD("shape: expected [N, %d], two integers", d);
    double nv = a->valuedouble, dv = b->valuedouble;
    if (nv < 0 || nv != floor(nv) || nv > (double)SIZE_MAX / 4 || dv != floor(dv))
        return BAD("shape [%g, %g]: expected [N, %d] with N a non-negative integer", nv, dv, d);
    if (dv != d)
        return BAD("shape [%g, %g]: the model takes %d features per row; expected [N, %d]", nv,
                   dv, d, d);
    *n = (size_t)nv;
    return 0;
}

static int v2_input(const cJSON *in, int d, size_t max_rows, nn_serve_req *r, char *err,
                    size_t errlen)
{
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(in, "name");
    const cJSON *dt = cJSON_GetObjectItemCaseSensitive(in, "datatype");
    const cJSON *data = cJSON_GetObjectItemCaseSensitive(in, "data");
    size_t n = 0;
    int st;
    if (!cJSON_IsObject(in))
        return BAD("inputs[0] is not an object; expected {name, shape, datatype, data}");
    if (!cJSON_IsString(name))
        return BAD("inputs[0].name: expected a string");
    if (!cJSON_IsString(dt))
        return BAD("inputs[0].datatype: expected \"FP32\"");
    if (strcmp(dt->valuestring, "FP32") != 0)
        return BAD("inputs[0].datatype \"%.32s\": expected \"FP32\"", dt->valuestring);
    if ((st = read_shape(cJSON_GetObjectItemCaseSensitive(in, "shape"), d, &n, err, errlen)))
        return st;
    if (!cJSON_IsArray(data))
        return BAD("inputs[0].data: expected an array of numbers (flat or nested)");
    if ((st = alloc_rows(r, n, d, max_rows, err, errlen)))
        return st;
    r->in_name = strdup(name->valuestring);
    return fill_rows(data, n, d, r->x, err, errlen);
}

int nn_serve_parse_v2(const char *body, size_t len, int d, size_t max_rows, nn_serve_req *r,
                      char *err, size_t errlen)
{
    cJSON *root = NULL;
    memset(r, 0, sizeof *r);
    int st = parse_body(body, len, &root, err, errlen);
    if (!st) {
        const cJSON *ins = cJSON_GetObjectItemCaseSensitive(root, "inputs");
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(root, "id");
        if (id && !cJSON_IsString(id))
            st = BAD("id: expected a string");
        else if (!cJSON_IsArray(ins) || cJSON_GetArraySize(ins) != 1)
            st = BAD("inputs: expected an array of exactly one input, [{name, shape: [N, %d], "
                     "datatype: \"FP32\", data}]", d);
        else
            st = v2_input(ins->child, d, max_rows, r, err, errlen);
        if (!st && id)
            r->id = cJSON_PrintUnformatted(id);
    }
    cJSON_Delete(root);
    if (st)
        nn_serve_req_free(r);
    return st;
}

int nn_serve_parse_tf(const char *body, size_t len, int d, size_t max_rows, nn_serve_req *r,
                      char *err, size_t errlen)
{
    cJSON *root = NULL;
    memset(r, 0, sizeof *r);
    int st = parse_body(body, len, &root, err, errlen);
    if (!st) {
        const cJSON *ins = cJSON_GetObjectItemCaseSensitive(root, "instances");
        if (!cJSON_IsArray(ins))
            st = BAD("instances: expected an array of rows, [[%d numbers], ...]", d);
        else if (ins->child && !cJSON_IsArray(ins->child))
            st = BAD("instances: expected rows of %d numbers, [[...], ...]", d);
        else if (!(st = alloc_rows(r, (size_t)cJSON_GetArraySize(ins), d, max_rows, err,
                                   errlen)))
            st = fill_rows(ins, r->n, d, r->x, err, errlen);
    }
    cJSON_Delete(root);
    if (st)
        nn_serve_req_free(r);
    return st;
}
