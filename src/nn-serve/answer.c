/* answer.c: the JSON answers and metadata of both protocols, written as text (floats as %.9g,
 * which round-trips float32); strings are escaped here, and the id is echoed as the request's
 * own JSON text (the parse checked it). Outputs asked
 * in binary (the binary tensor data extension) follow the JSON as raw little-endian bytes. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn_serve.h"

static void put_floats(nn_buf *b, const float *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        nn_buf_printf(b, "%s%.9g", i ? "," : "", (double)v[i]);
}

/* s as a JSON string: quoted, with '"', '\\' and the control characters escaped (RFC 8259
 * section 7); other bytes as they are. */
static void put_string(nn_buf *b, const char *s)
{
    char t[256];
    size_t n = 0;
    nn_buf_append(b, "\"", 1);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (n > sizeof t - 8)
            nn_buf_append(b, t, n), n = 0;
        if (c == '"' || c == '\\')
            t[n++] = '\\', t[n++] = (char)c;
        else if (c < 0x20)
            n += (size_t)snprintf(t + n, sizeof t - n, "\\u%04x", c);
        else
            t[n++] = (char)c;
    }
    nn_buf_append(b, t, n);
    nn_buf_append(b, "\"", 1);
}

void nn_serve_error_json(nn_buf *b, const char *msg)
{
    nn_buf_printf(b, "{\"error\":");
    put_string(b, msg);
    nn_buf_printf(b, "}");
}

int nn_serve_check_outputs(const nn_serve_model *m, const nn_serve_req *r, char *err,
                           size_t errlen)
{
    const char *values = m->classify ? "probabilities" : "predictions";
    /* no "outputs" in the request (VALUES | CLASS, no name) means every output the model has */
    int all = r->outputs == (NN_OUT_VALUES | NN_OUT_CLASS) && !r->values_name;
    const char *asked = (r->outputs & NN_OUT_CLASS) && !m->classify && !all ? "class"
                                                                            : r->values_name;
    if (!asked || !strcmp(asked, values))
        return 0;
    snprintf(err, errlen, "outputs: \"%s\" is not an output of model '%s'; its outputs are %s",
             asked, m->name, m->classify ? "\"probabilities\", \"class\"" : "\"predictions\"");
    return 400;
}

/* Raw bytes after the JSON: FP32 or INT64, little-endian (a memcpy on a little-endian host). */
static void put_le_f32(nn_buf *b, const float *v, size_t n)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    nn_buf_append(b, (const char *)v, n * sizeof(float));
#else
    for (size_t i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, v + i, sizeof u);
        u = __builtin_bswap32(u);
        nn_buf_append(b, (const char *)&u, sizeof u);
    }
#endif
}

static void put_le_i64(nn_buf *b, const long *v, size_t n)
{
    unsigned char t[8 * 64]; /* 64 values a chunk */
    for (size_t i = 0; i < n;) {
        size_t k = 0;
        for (; k < 64 && i < n; k++, i++)
            for (int j = 0; j < 8; j++)
                t[8 * k + j] = (unsigned char)((uint64_t)(int64_t)v[i] >> (8 * j));
        nn_buf_append(b, (const char *)t, 8 * k);
    }
}

/* One output's object: its data as JSON, or only its size when it goes in binary (the bytes
 * follow the JSON). v (n, K) FP32 values; or, when v is NULL, cls (n) INT64 classes, K 0. */
static void put_output(nn_buf *b, const char *name, size_t n, int K, int binary,
                       const float *v, const long *cls)
{
    size_t count = n * (size_t)(K ? K : 1);
    nn_buf_printf(b, "{\"name\":\"%s\",\"shape\":[%zu", name, n);
    if (K)
        nn_buf_printf(b, ",%d", K);
    nn_buf_printf(b, "],\"datatype\":\"%s\",", v ? "FP32" : "INT64");
    if (binary) {
        nn_buf_printf(b, "\"parameters\":{\"binary_data_size\":%zu}}", count * (v ? 4 : 8));
        return;
    }
    nn_buf_printf(b, "\"data\":[");
    if (v)
        put_floats(b, v, count);
    else
        for (size_t i = 0; i < n; i++)
            nn_buf_printf(b, "%s%ld", i ? "," : "", cls[i]);
    nn_buf_printf(b, "]}");
}

void nn_serve_answer_v2(nn_buf *b, const nn_serve_model *m, const nn_serve_req *r,
                        const float *out, const long *cls, size_t *json_len)
{
    int K = nn_serve_outputs(m);
    size_t start = b->len;
    /* No outputs asked (a request made by hand): all the model has. */
    unsigned want = r->outputs ? r->outputs : NN_OUT_VALUES | NN_OUT_CLASS;
    if (!m->classify)
        want &= ~NN_OUT_CLASS;
    unsigned bin = r->binary & want;
    nn_buf_printf(b, "{\"model_name\":");
    put_string(b, m->name);
    nn_buf_printf(b, ",\"model_version\":\"%s\"", m->version);
    if (r->id)
        nn_buf_printf(b, ",\"id\":%s", r->id);
    nn_buf_printf(b, ",\"outputs\":[");
    if (want & NN_OUT_VALUES)
        put_output(b, m->classify ? "probabilities" : "predictions", r->n, K,
                   !!(bin & NN_OUT_VALUES), out, NULL);
    if (want & NN_OUT_CLASS) {
        nn_buf_printf(b, "%s", want & NN_OUT_VALUES ? "," : "");
        put_output(b, "class", r->n, 0, !!(bin & NN_OUT_CLASS), NULL, cls);
    }
    nn_buf_printf(b, "]}");
    *json_len = bin ? b->len - start : 0;
    if (bin & NN_OUT_VALUES)
        put_le_f32(b, out, r->n * (size_t)K);
    if (bin & NN_OUT_CLASS)
        put_le_i64(b, cls, r->n);
}

void nn_serve_answer_tf(nn_buf *b, const nn_serve_model *m, size_t n, const float *out,
                        const long *cls)
{
    int K = nn_serve_outputs(m);
    nn_buf_printf(b, "{\"model_version\":\"%s\",\"predictions\":[", m->version);
    for (size_t i = 0; i < n; i++) {
        nn_buf_printf(b, "%s%s[", i ? "," : "", m->classify ? "{\"probabilities\":" : "");
        put_floats(b, out + i * (size_t)K, (size_t)K);
        if (m->classify)
            nn_buf_printf(b, "],\"class\":%ld}", cls[i]);
        else
            nn_buf_printf(b, "]");
    }
    nn_buf_printf(b, "]}");
}

void nn_serve_server_meta(nn_buf *b)
{
    /* "binary_tensor_data": the name Triton reports for the binary tensor data extension. */
    nn_buf_printf(b, "{\"name\":\"nn-serve\",\"version\":\"%s\","
                  "\"extensions\":[\"binary_tensor_data\"]}", NN_VERSION);
}

void nn_serve_model_meta(nn_buf *b, const nn_serve_model *m)
{
    int K = nn_serve_outputs(m);
    nn_buf_printf(b, "{\"name\":");
    put_string(b, m->name);
    nn_buf_printf(b, ",\"versions\":[\"%s\"],\"platform\":\"nn-train\",\"layers\":\"%s\","
                  "\"inputs\":[{\"name\":\"input\",\"datatype\":\"FP32\",\"shape\":[-1,%d]}],"
                  "\"outputs\":[{\"name\":\"%s\",\"datatype\":\"FP32\",\"shape\":[-1,%d]}",
                  m->version, m->layers, m->lo.sizes[0],
                  m->classify ? "probabilities" : "predictions", K);
    if (m->classify)
        nn_buf_printf(b, ",{\"name\":\"class\",\"datatype\":\"INT64\",\"shape\":[-1]}");
    nn_buf_printf(b, "]}");
}

void nn_serve_tf_status(nn_buf *b, const nn_serve_model *m)
{
    nn_buf_printf(b, "{\"model_version_status\":[{\"version\":\"%s\",\"state\":\"AVAILABLE\","
                  "\"status\":{\"error_code\":\"OK\",\"error_message\":\"\"}}]}", m->version);
}
