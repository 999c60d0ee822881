/* request.c: the protocols' bodies, without HTTP. A body becomes plain rows (n, d) or one error
 * line with its HTTP status. The JSON is json.c's (jsmn's tokens, strict RFC 8259, nesting
 * limited to NN_JSON_MAX_DEPTH; numbers converted straight to the nearest float32). */
#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
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

/* A status, with err made one line: messages quote the request's own strings (a datatype, a
 * name, the header), which may hold control characters. */
static int one_line(int st, char *err)
{
    for (char *c = err; st && *c; c++)
        if ((unsigned char)*c < 0x20 || *c == 0x7f)
            *c = ' ';
    return st;
}

/* A string value's text as written (escapes not decoded: the protocols' names have none),
 * quoted, at most 64 bytes: for messages. */
#define QUOTED(j, v) (int)quoted_len(j, v), (j)->s + quoted_at(j, v)
static size_t quoted_at(const nn_json *j, int v)
{
    size_t at;
    nn_json_raw(j, v, &at);
    return at + 1;
}
static size_t quoted_len(const nn_json *j, int v)
{
    size_t at, n = nn_json_raw(j, v, &at) - 2;
    return n < 64 ? n : 64;
}

/* The JSON object that fills body (len bytes; only white space may follow it). hint says what
 * bytes after it would mean. */
static int parse_body(const char *body, size_t len, const char *hint, nn_json *j, char *err,
                      size_t errlen)
{
    if (len == 0)
        return BAD("empty body; expected a JSON object");
    size_t k = 0;
    while (k < len && (body[k] == ' ' || body[k] == '\t' || body[k] == '\n' || body[k] == '\r'))
        k++;
    int object = k < len && body[k] == '{';
    if (nn_json_parse(j, body, len, err, errlen) != 0) {
        if (j->end && object)
            return BAD("%zu bytes after the JSON object, which ends at byte %zu; expected %s",
                       len - j->end, j->end, hint);
        return 400; /* err: "malformed JSON at byte N of LEN: what" */
    }
    if (!object)
        return BAD("the body is JSON but not an object; expected {...}");
    return 0;
}

/* v, a number, into x[i]: the nearest float32, which must be finite. */
static int put_number(const nn_json *j, int v, float *x, size_t i, char *err, size_t errlen)
{
    if (nn_json_type_of(j, v) != NN_JSON_NUMBER)
        return BAD("data element %zu is not a number; expected FP32 values", i);
    if (nn_json_float(j, v, x + i) != 0)
        return BAD("data element %zu (%g) is not a finite float32 value", i,
                   nn_json_number(j, v));
    return 0;
}

/* The cnt numbers of array arr into x[at, at + cnt); or 400 with the message of the first
 * element that is not a finite float32 number. */
static int fill_numbers(const nn_json *j, int arr, float *x, size_t at, size_t cnt, char *err,
                        size_t errlen)
{
    size_t ok = nn_json_floats(j, arr, x + at, cnt);
    if (ok == cnt)
        return 0;
    int v = nn_json_first(j, arr);
    for (size_t k = 0; k < ok; k++)
        v = nn_json_next(j, v);
    return put_number(j, v, x, at + ok, err, errlen);
}

/* data: flat (n*d numbers) or nested (n arrays of d numbers) into x (n, d). */
static int fill_rows(const nn_json *j, int data, size_t n, int d, float *x, char *err,
                     size_t errlen)
{
    size_t cnt = (size_t)nn_json_size(j, data), i = 0;
    int e = nn_json_first(j, data);
    if (nn_json_type_of(j, e) == NN_JSON_ARRAY) {
        if (cnt != n)
            return BAD("data has %zu rows but the shape says %zu", cnt, n);
        for (; e >= 0; e = nn_json_next(j, e), i += (size_t)d) {
            if (nn_json_type_of(j, e) != NN_JSON_ARRAY || nn_json_size(j, e) != d)
                return BAD("data row %zu is not an array of %d numbers; expected [N, %d]",
                           i / (size_t)d, d, d);
            if (fill_numbers(j, e, x, i, (size_t)d, err, errlen))
                return 400;
        }
        return 0;
    }
    if (cnt != n * (size_t)d)
        return BAD("data has %zu values but the shape [%zu, %d] needs %zu", cnt, n, d,
                   n * (size_t)d);
    return fill_numbers(j, data, x, 0, cnt, err, errlen) ? 400 : 0;
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
static int read_shape(const nn_json *j, int shape, int d, size_t *n, char *err, size_t errlen)
{
    int a = nn_json_first(j, shape), b = nn_json_next(j, a);
    if (nn_json_type_of(j, shape) != NN_JSON_ARRAY || nn_json_size(j, shape) != 2 ||
        nn_json_type_of(j, a) != NN_JSON_NUMBER || nn_json_type_of(j, b) != NN_JSON_NUMBER)
        return BAD("shape: expected [N, %d], two integers", d);
    double nv = nn_json_number(j, a), dv = nn_json_number(j, b);
    if (nv < 0 || nv != floor(nv) || nv > (double)SIZE_MAX / 4 || dv != floor(dv))
        return BAD("shape [%g, %g]: expected [N, %d] with N a non-negative integer", nv, dv, d);
    if (dv != d)
        return BAD("shape [%g, %g]: the model takes %d features per row; expected [N, %d]", nv,
                   dv, d, d);
    *n = (size_t)nv;
    return 0;
}

/* The binary part of a body (the binary tensor data extension): the bytes after the JSON
 * header, which the inputs with parameters.binary_data_size take in input order. */
typedef struct {
    const char *p; /* next unread byte */
    size_t left;   /* bytes not yet taken */
    size_t json;   /* the header's length H (0: no Inference-Header-Content-Length) */
    int used;      /* an input took binary data */
} bin_part;

/* The Inference-Header-Content-Length text: an integer H, 1 <= H <= len (the JSON must be
 * there). Spaces around it are allowed, signs and anything else not. */
static int header_length(const char *text, size_t len, size_t *h, char *err, size_t errlen)
{
    const char *s = text, *digits;
    size_t v = 0;
    int over = 0;
    while (*s == ' ' || *s == '\t')
        s++;
    for (digits = s; *s >= '0' && *s <= '9'; s++) {
        over |= v > (SIZE_MAX - 9) / 10;
        v = v * 10 + (size_t)(*s - '0');
    }
    while (*s == ' ' || *s == '\t')
        s++;
    if (s == digits || *s)
        return BAD("Inference-Header-Content-Length \"%.32s\" is not a number; expected the JSON "
                   "part's length in bytes, 1 to %zu", text, len);
    if (over || v == 0 || v > len)
        return BAD("Inference-Header-Content-Length %.32s is outside the body; expected the JSON "
                   "part's length in bytes, 1 to %zu (the body's length)", digits, len);
    *h = v;
    return 0;
}

/* Raw little-endian FP32 into x: a copy (a byte swap on a big-endian host) and the finite
 * check in one pass over the bytes. 1 if any value is NaN or Inf (exponent bits all set): one
 * OR over the words, no branch, so GCC makes it a vector loop (-O3). */
static int copy_le_f32(float *x, const char *p, size_t n)
{
    uint32_t bad = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, p + 4 * i, sizeof u);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
        u = __builtin_bswap32(u);
#endif
        memcpy(x + i, &u, sizeof u);
        bad |= (uint32_t)((u & 0x7f800000u) == 0x7f800000u);
    }
    return bad != 0;
}

/* inputs[0]'s binary_data_size bytes (size) from bin into x (n, d); they must be n*d*4 bytes
 * of finite FP32 values, all there. */
static int read_binary(double size, bin_part *bin, size_t n, int d, float *x, char *err,
                       size_t errlen)
{
    size_t need = n * (size_t)d * sizeof(float);
    if (size != (double)need)
        return BAD("inputs[0].parameters.binary_data_size %.16g: the shape [%zu, %d] of FP32 "
                   "takes %zu bytes; expected %zu", size, n, d, need, need);
    if (bin->left < need)
        return BAD("binary data truncated: inputs[0] needs %zu bytes (binary_data_size) after "
                   "the %zu-byte JSON header, the body has %zu", need, bin->json, bin->left);
    if (copy_le_f32(x, bin->p, n * (size_t)d)) {
        for (size_t i = 0;; i++)
            if (!isfinite(x[i]))
                return BAD("binary data element %zu (%g) is not a finite float32 value", i,
                           (double)x[i]);
    }
    bin->p += need;
    bin->left -= need;
    bin->used = 1;
    return 0;
}

/* inputs[0].parameters.binary_data_size, when given: a non-negative integer, with the header
 * and instead of data. *size is the token, -1 when the input's data is JSON. */
static int binary_size(const nn_json *j, int in, const bin_part *bin, int *size, char *err,
                       size_t errlen)
{
    int par = nn_json_get(j, in, "parameters");
    *size = -1;
    if (par < 0)
        return 0;
    if (nn_json_type_of(j, par) != NN_JSON_OBJECT)
        return BAD("inputs[0].parameters: expected an object");
    int b = nn_json_get(j, par, "binary_data_size");
    if (b < 0)
        return 0;
    double v = nn_json_number(j, b);
    if (nn_json_type_of(j, b) != NN_JSON_NUMBER || v < 0 || v != floor(v))
        return BAD("inputs[0].parameters.binary_data_size: expected a byte count, an integer");
    if (!bin->json)
        return BAD("inputs[0].parameters.binary_data_size without an "
                   "Inference-Header-Content-Length header; expected the header with the JSON "
                   "part's length");
    if (nn_json_get(j, in, "data") >= 0)
        return BAD("inputs[0] has both data and parameters.binary_data_size; expected one");
    *size = b;
    return 0;
}

/* A string value's text as written (quotes off, escapes kept), in a new allocation. */
static char *string_copy(const nn_json *j, int v)
{
    size_t at, n = nn_json_raw(j, v, &at) - 2;
    char *s = malloc(n + 1);
    if (s) {
        memcpy(s, j->s + at + 1, n);
        s[n] = 0;
    }
    return s;
}

static int v2_input(const nn_json *j, int in, int d, size_t max_rows, bin_part *bin,
                    nn_serve_req *r, char *err, size_t errlen)
{
    int name = nn_json_get(j, in, "name"), dt = nn_json_get(j, in, "datatype");
    int data = nn_json_get(j, in, "data"), size = -1;
    size_t n = 0;
    int st;
    if (nn_json_type_of(j, in) != NN_JSON_OBJECT)
        return BAD("inputs[0] is not an object; expected {name, shape, datatype, data}");
    if (nn_json_type_of(j, name) != NN_JSON_STRING)
        return BAD("inputs[0].name: expected a string");
    if (nn_json_type_of(j, dt) != NN_JSON_STRING)
        return BAD("inputs[0].datatype: expected \"FP32\"");
    if (!nn_json_is(j, dt, "FP32"))
        return BAD("inputs[0].datatype \"%.*s\": expected \"FP32\"", QUOTED(j, dt));
    if ((st = read_shape(j, nn_json_get(j, in, "shape"), d, &n, err, errlen)))
        return st;
    if ((st = binary_size(j, in, bin, &size, err, errlen)))
        return st;
    if (size < 0 && nn_json_type_of(j, data) != NN_JSON_ARRAY)
        return BAD("inputs[0].data: expected an array of numbers (flat or nested), or "
                   "parameters.binary_data_size with the data in binary");
    if ((st = alloc_rows(r, n, d, max_rows, err, errlen)))
        return st;
    if (!(r->in_name = string_copy(j, name)))
        return snprintf(err, errlen, "out of memory for the input's name"), 500;
    return size >= 0 ? read_binary(nn_json_number(j, size), bin, n, d, r->x, err, errlen)
                     : fill_rows(j, data, n, d, r->x, err, errlen);
}

/* One entry of "outputs": {name, parameters: {binary_data}}; *bit the output it names and
 * *binary whether it is asked in binary (binary_data, else the request's default). */
static int v2_output(const nn_json *j, int o, size_t i, int dflt, unsigned *bit, int *binary,
                     const char **name_as, char *err, size_t errlen)
{
    int name = nn_json_get(j, o, "name"), par = nn_json_get(j, o, "parameters");
    int b = nn_json_get(j, par, "binary_data");
    nn_json_type bt = nn_json_type_of(j, b);
    if (nn_json_type_of(j, o) != NN_JSON_OBJECT || nn_json_type_of(j, name) != NN_JSON_STRING)
        return BAD("outputs[%zu]: expected {\"name\": \"...\"}", i);
    if (par >= 0 && nn_json_type_of(j, par) != NN_JSON_OBJECT)
        return BAD("outputs[%zu].parameters: expected an object", i);
    if (b >= 0 && bt != NN_JSON_TRUE && bt != NN_JSON_FALSE)
        return BAD("outputs[%zu].parameters.binary_data: expected true or false", i);
    *binary = b >= 0 ? bt == NN_JSON_TRUE : dflt;
    *name_as = NULL;
    if (nn_json_is(j, name, "class"))
        *bit = NN_OUT_CLASS;
    else if (nn_json_is(j, name, "probabilities"))
        *bit = NN_OUT_VALUES, *name_as = "probabilities";
    else if (nn_json_is(j, name, "predictions"))
        *bit = NN_OUT_VALUES, *name_as = "predictions";
    else
        return BAD("outputs[%zu].name \"%.*s\" is not an output; expected \"probabilities\" or "
                   "\"class\" (a classifier), \"predictions\" (a regressor)", i,
                   QUOTED(j, name));
    return 0;
}

/* "outputs" and parameters.binary_data_output: which outputs to answer (all when "outputs" is
 * absent or empty), and which of them in binary. */
static int v2_outputs(const nn_json *j, nn_serve_req *r, char *err, size_t errlen)
{
    int par = nn_json_get(j, 0, "parameters"), outs = nn_json_get(j, 0, "outputs");
    int all = nn_json_get(j, par, "binary_data_output");
    nn_json_type at = nn_json_type_of(j, all);
    if (par >= 0 && nn_json_type_of(j, par) != NN_JSON_OBJECT)
        return BAD("parameters: expected an object");
    if (all >= 0 && at != NN_JSON_TRUE && at != NN_JSON_FALSE)
        return BAD("parameters.binary_data_output: expected true or false");
    if (outs >= 0 && nn_json_type_of(j, outs) != NN_JSON_ARRAY)
        return BAD("outputs: expected an array of {\"name\": ..., \"parameters\": {...}}");
    if (nn_json_first(j, outs) < 0) {
        r->outputs = NN_OUT_VALUES | NN_OUT_CLASS;
        r->binary = at == NN_JSON_TRUE ? r->outputs : 0;
        return 0;
    }
    size_t i = 0;
    for (int o = nn_json_first(j, outs); o >= 0; o = nn_json_next(j, o), i++) {
        unsigned bit;
        int binary, st;
        const char *as;
        if ((st = v2_output(j, o, i, at == NN_JSON_TRUE, &bit, &binary, &as, err, errlen)))
            return st;
        if (r->outputs & bit)
            return BAD("outputs[%zu]: \"%.*s\" is asked for twice; expected each output once", i,
                       QUOTED(j, nn_json_get(j, o, "name")));
        r->outputs |= bit;
        r->binary |= binary ? bit : 0;
        if (as)
            r->values_name = as;
    }
    return 0;
}

/* Bytes left after the JSON part: the binary inputs' data must fill the body exactly. */
static int binary_rest(const bin_part *bin, size_t len, char *err, size_t errlen)
{
    if (!bin->left)
        return 0;
    if (!bin->used)
        return BAD("%zu bytes after the %zu-byte JSON header but no input has "
                   "parameters.binary_data_size; expected Inference-Header-Content-Length %zu",
                   bin->left, bin->json, len);
    return BAD("%zu extra bytes after the last binary input; expected the body to end there "
               "(%zu bytes)", bin->left, len - bin->left);
}

static int v2_body(const nn_json *j, int d, size_t max_rows, bin_part *bin, nn_serve_req *r,
                   char *err, size_t errlen)
{
    int ins = nn_json_get(j, 0, "inputs"), id = nn_json_get(j, 0, "id");
    int st;
    if (id >= 0 && nn_json_type_of(j, id) != NN_JSON_STRING)
        return BAD("id: expected a string");
    if (nn_json_type_of(j, ins) != NN_JSON_ARRAY || nn_json_size(j, ins) != 1)
        return BAD("inputs: expected an array of exactly one input, [{name, shape: [N, %d], "
                   "datatype: \"FP32\", data}]", d);
    if ((st = v2_outputs(j, r, err, errlen)))
        return st;
    if ((st = v2_input(j, nn_json_first(j, ins), d, max_rows, bin, r, err, errlen)))
        return st;
    if (id >= 0) { /* echoed as it came: JSON text, valid because the parse checked it */
        size_t at, n = nn_json_raw(j, id, &at);
        if (!(r->id = malloc(n + 1)))
            return snprintf(err, errlen, "out of memory for the id"), 500;
        memcpy(r->id, j->s + at, n);
        r->id[n] = 0;
    }
    return 0;
}

int nn_serve_parse_v2(const char *body, size_t len, const char *header_len, int d,
                      size_t max_rows, nn_serve_req *r, char *err, size_t errlen)
{
    nn_json j = {0};
    bin_part bin = {0};
    size_t json = len;
    int st = 0;
    memset(r, 0, sizeof *r);
    if (header_len && (st = header_length(header_len, len, &json, err, errlen)))
        return one_line(st, err);
    if (header_len)
        bin = (bin_part){.p = body + json, .left = len - json, .json = json};
    if (!(st = parse_body(body, json,
                          header_len ? "Inference-Header-Content-Length to be the JSON's length"
                                     : "nothing (binary data needs an "
                                       "Inference-Header-Content-Length header)",
                          &j, err, errlen)))
        st = v2_body(&j, d, max_rows, &bin, r, err, errlen);
    if (!st)
        st = binary_rest(&bin, len, err, errlen);
    nn_json_free(&j);
    if (st)
        nn_serve_req_free(r);
    return one_line(st, err);
}

int nn_serve_parse_tf(const char *body, size_t len, int d, size_t max_rows, nn_serve_req *r,
                      char *err, size_t errlen)
{
    nn_json j = {0};
    memset(r, 0, sizeof *r);
    int st = parse_body(body, len, "nothing", &j, err, errlen);
    if (!st) {
        int ins = nn_json_get(&j, 0, "instances");
        if (nn_json_type_of(&j, ins) != NN_JSON_ARRAY)
            st = BAD("instances: expected an array of rows, [[%d numbers], ...]", d);
        else if (nn_json_size(&j, ins) &&
                 nn_json_type_of(&j, nn_json_first(&j, ins)) != NN_JSON_ARRAY)
            st = BAD("instances: expected rows of %d numbers, [[...], ...]", d);
        else if (!(st = alloc_rows(r, (size_t)nn_json_size(&j, ins), d, max_rows, err,
                                   errlen)))
            st = fill_rows(&j, ins, r->n, d, r->x, err, errlen);
    }
    nn_json_free(&j);
    if (st)
        nn_serve_req_free(r);
    return one_line(st, err);
}

/* One record by feature name (object o) into x[d] through enc: each column's value as text
 * (a number as written, a string without its quotes, null or absent: missing). 0, or 400. */
static int fill_named(const nn_json *j, int o, size_t i, const nn_encoder *enc, float *x,
                      char *err, size_t errlen)
{
    const char *f[enc->ncol ? enc->ncol : 1];
    char *own[enc->ncol ? enc->ncol : 1];
    int st = 0;
    for (int c = 0; c < enc->ncol; c++)
        own[c] = NULL, f[c] = "";
    for (int c = 0; c < enc->ncol && !st; c++) {
        int v = nn_json_get(j, o, enc->col[c].name);
        nn_json_type t = v < 0 ? NN_JSON_NULL : nn_json_type_of(j, v);
        size_t at = 0, n = v < 0 ? 0 : nn_json_raw(j, v, &at);
        if (t == NN_JSON_NUMBER || t == NN_JSON_STRING) {
            if (t == NN_JSON_STRING)
                at++, n -= 2;
            if (!(own[c] = malloc(n + 1))) {
                st = BAD("out of memory");
                break;
            }
            memcpy(own[c], j->s + at, n);
            own[c][n] = 0;
            f[c] = own[c];
            if (t == NN_JSON_STRING && memchr(own[c], '\\', n))
                st = BAD("instance %zu: \"%.60s\": a string with an escape; expected plain "
                         "text (escapes are not decoded)", i, enc->col[c].name);
        } else if (t != NN_JSON_NULL) {
            st = BAD("instance %zu: \"%.60s\": expected a number, a string or null", i,
                     enc->col[c].name);
        }
    }
    int bad = 0;
    nn_enc_status es = st ? NN_ENC_OK : nn_enc_row(enc, f, x, &bad, NULL);
    if (!st && es != NN_ENC_OK)
        st = BAD("instance %zu: \"%.60s\": '%.40s' %s", i, enc->col[bad].name, f[bad],
                 es == NN_ENC_NOT_A_NUMBER ? "is not a number; expected a number or a missing "
                                             "value"
                 : es == NN_ENC_NONFINITE ? "is not finite; expected a float32 number"
                                          : "is missing, and the model's data was imported "
                                            "with --impute drop; expected a number");
    for (int c = 0; c < enc->ncol; c++)
        free(own[c]);
    return st;
}

int nn_serve_parse_tf_enc(const char *body, size_t len, int d, size_t max_rows,
                          const nn_encoder *enc, nn_serve_req *r, char *err, size_t errlen)
{
    nn_json j = {0};
    memset(r, 0, sizeof *r);
    int st = parse_body(body, len, "nothing", &j, err, errlen);
    int ins = st ? -1 : nn_json_get(&j, 0, "instances");
    int named = ins >= 0 && nn_json_type_of(&j, ins) == NN_JSON_ARRAY && nn_json_size(&j, ins) &&
                nn_json_type_of(&j, nn_json_first(&j, ins)) == NN_JSON_OBJECT;
    if (!st && !named) {
        nn_json_free(&j);
        return nn_serve_parse_tf(body, len, d, max_rows, r, err, errlen);
    }
    if (!st && !enc)
        st = BAD("instances are records by name, but the model has no encoder (its data did "
                 "not come from nn-data import-csv); expected rows of %d numbers", d);
    if (!st && enc->d != d)
        st = BAD("the model's encoder makes %d features, the model takes %d", enc->d, d);
    if (!st)
        st = alloc_rows(r, (size_t)nn_json_size(&j, ins), d, max_rows, err, errlen);
    size_t i = 0;
    for (int o = st ? -1 : nn_json_first(&j, ins); o >= 0 && !st; o = nn_json_next(&j, o), i++)
        st = nn_json_type_of(&j, o) != NN_JSON_OBJECT
                 ? BAD("instance %zu: expected an object by feature name, as the first", i)
                 : fill_named(&j, o, i, enc, r->x + i * (size_t)d, err, errlen);
    nn_json_free(&j);
    if (st)
        nn_serve_req_free(r);
    return one_line(st, err);
}
