/* answer.c: the JSON answers and metadata of both protocols, written as text (floats as %.9g,
 * which round-trips float32). Strings from outside (the id) are escaped by cJSON. */
#include <cjson/cJSON.h>
#include <stdlib.h>

#include "nn_serve.h"

static void put_floats(nn_buf *b, const float *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        nn_buf_printf(b, "%s%.9g", i ? "," : "", (double)v[i]);
}

/* s as a JSON string (quoted, escaped). */
static void put_string(nn_buf *b, const char *s)
{
    cJSON *j = cJSON_CreateString(s);
    char *t = j ? cJSON_PrintUnformatted(j) : NULL;
    nn_buf_printf(b, "%s", t ? t : "\"\"");
    free(t);
    cJSON_Delete(j);
}

void nn_serve_error_json(nn_buf *b, const char *msg)
{
    nn_buf_printf(b, "{\"error\":");
    put_string(b, msg);
    nn_buf_printf(b, "}");
}

void nn_serve_answer_v2(nn_buf *b, const nn_serve_model *m, const nn_serve_req *r,
                        const float *out, const long *cls)
{
    int K = nn_serve_outputs(m);
    nn_buf_printf(b, "{\"model_name\":");
    put_string(b, m->name);
    nn_buf_printf(b, ",\"model_version\":\"%s\"", m->version);
    if (r->id)
        nn_buf_printf(b, ",\"id\":%s", r->id);
    nn_buf_printf(b, ",\"outputs\":[{\"name\":\"%s\",\"shape\":[%zu,%d],\"datatype\":\"FP32\","
                  "\"data\":[", m->classify ? "probabilities" : "predictions", r->n, K);
    put_floats(b, out, r->n * (size_t)K);
    nn_buf_printf(b, "]}");
    if (m->classify) {
        nn_buf_printf(b, ",{\"name\":\"class\",\"shape\":[%zu],\"datatype\":\"INT64\",\"data\":[",
                      r->n);
        for (size_t i = 0; i < r->n; i++)
            nn_buf_printf(b, "%s%ld", i ? "," : "", cls[i]);
        nn_buf_printf(b, "]}");
    }
    nn_buf_printf(b, "]}");
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
    nn_buf_printf(b, "{\"name\":\"nn-serve\",\"version\":\"%s\",\"extensions\":[]}", NN_VERSION);
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
