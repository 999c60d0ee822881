/* fuzz_serve.c: libFuzzer harness for nn-serve's request parsers and answers
 * (src/nn-serve/request.c, answer.c; cJSON underneath, no HTTP).
 *
 * Input: the first byte is a mode; its low two bits choose the way in:
 *   0  an OIP v2 infer body, no Inference-Header-Content-Length
 *   1  an OIP v2 body with the header: bytes 1-2 are H (little-endian), given as its text
 *   2  an OIP v2 body with the header's text itself: the bytes up to the first newline (at
 *      most 24), so the header's own parser is fuzzed too
 *   3  a TF Serving predict body
 * and bits 2-3 the model's inputs d (1 to 4). At most 8 rows.
 * Checks: a success holds n rows of d finite floats and a consistent output selection; a
 * failure is 400, 413 or 500 with one non-empty line and nothing handed out; each successful
 * v2 request is answered for a classifier and a regressor (when it asks for outputs that model
 * has), and the answer's JSON part parses and its binary part has exactly the bytes it
 * announces; TF answers parse. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn_serve.h"

#define MAX_ROWS 8

static void die(const char *what, const char *err)
{
    fprintf(stderr, "fuzz_serve: %s (%s)\n", what, err ? err : "");
    abort();
}

static void check_parse(int st, const nn_serve_req *r, int d, const char *err, int v2)
{
    if (getenv("FUZZ_VERBOSE")) /* scripts/fuzz.sh --replay: each input's outcome */
        fprintf(stderr, "fuzz_serve: %s d=%d: %d %s\n", v2 ? "v2" : "tf", d, st,
                st ? err : "ok");
    if (st) {
        if (st != 400 && st != 413 && st != 500)
            die("a status that is not 400, 413 or 500", err);
        if (!err[0] || strchr(err, '\n') || strchr(err, '\r'))
            die("an error message that is empty or not one line", err);
        if (r->x || r->id || r->in_name)
            die("something handed out on failure", err);
        return;
    }
    if (r->n < 1 || r->n > MAX_ROWS || r->d != d || !r->x || (v2 && !r->in_name))
        die("a success without its rows", NULL);
    for (size_t i = 0; i < r->n * (size_t)d; i++)
        if (!isfinite(r->x[i]))
            die("a value that is not finite", NULL);
    if (v2 && (!r->outputs || (r->binary & ~r->outputs) || r->outputs > 3))
        die("an output selection that is not one", NULL);
}

/* Answers r for a model of K outputs (classify or not), checks both parts. */
static void answer(const nn_serve_req *r, int classify, int K)
{
    nn_serve_model m;
    memset(&m, 0, sizeof m);
    m.lo.n_layers = 1, m.lo.sizes[0] = r->d, m.lo.sizes[1] = K, m.classify = classify;
    snprintf(m.name, sizeof m.name, "fz");
    snprintf(m.version, sizeof m.version, "1");
    char err[512] = "";
    if (nn_serve_check_outputs(&m, r, err, sizeof err)) {
        if (!err[0] || strchr(err, '\n'))
            die("check_outputs: an error that is empty or not one line", err);
        return;
    }
    float out[MAX_ROWS * 3];
    long cls[MAX_ROWS];
    for (int i = 0; i < MAX_ROWS * 3; i++)
        out[i] = (float)i / 7.0f;
    for (int i = 0; i < MAX_ROWS; i++)
        cls[i] = i % K;
    nn_buf b = {0};
    size_t json_len = 0;
    nn_serve_answer_v2(&b, &m, r, out, cls, &json_len);
    if (b.oom)
        die("answer: out of memory", NULL);
    cJSON *j = cJSON_ParseWithLength(b.s, json_len ? json_len : b.len);
    if (!j)
        die("an answer whose JSON does not parse", b.s);
    size_t want = 0; /* the binary bytes the JSON announces */
    const cJSON *o;
    cJSON_ArrayForEach(o, cJSON_GetObjectItem(j, "outputs"))
    {
        const cJSON *size = cJSON_GetObjectItem(cJSON_GetObjectItem(o, "parameters"),
                                                "binary_data_size");
        want += size ? (size_t)size->valuedouble : 0;
    }
    if ((json_len ? b.len - json_len : 0) != want || (!json_len && want))
        die("binary bytes other than the JSON announces", NULL);
    cJSON_Delete(j);
    nn_buf_free(&b);
}

static void tf(const char *body, size_t len, int d)
{
    nn_serve_req r;
    char err[512] = "";
    int st = nn_serve_parse_tf(body, len, d, MAX_ROWS, &r, err, sizeof err);
    check_parse(st, &r, d, err, 0);
    if (!st) {
        nn_serve_model m;
        memset(&m, 0, sizeof m);
        m.lo.n_layers = 1, m.lo.sizes[0] = d, m.lo.sizes[1] = 2, m.classify = 1;
        float out[MAX_ROWS * 2] = {0};
        long cls[MAX_ROWS] = {0};
        nn_buf b = {0};
        nn_serve_answer_tf(&b, &m, r.n, out, cls);
        cJSON *j = cJSON_ParseWithLength(b.s, b.len);
        if (!j)
            die("a TF answer that does not parse", b.s);
        cJSON_Delete(j);
        nn_buf_free(&b);
    }
    nn_serve_req_free(&r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    int mode = data[0] & 3, d = 1 + ((data[0] >> 2) & 3);
    const char *p = (const char *)data + 1;
    size_t n = size - 1;
    char header[32];
    const char *h = NULL;
    if (mode == 3) {
        tf(p, n, d);
        return 0;
    }
    if (mode == 1) {
        if (n < 2)
            return 0;
        snprintf(header, sizeof header, "%u", (unsigned)(data[1] | data[2] << 8));
        p += 2, n -= 2, h = header;
    } else if (mode == 2) {
        size_t k = 0;
        while (k < n && k < 24 && p[k] != '\n')
            k++;
        memcpy(header, p, k);
        header[k] = 0;
        p += k < n ? k + 1 : k, n -= k < n ? k + 1 : k, h = header;
    }
    nn_serve_req r;
    char err[512] = "";
    int st = nn_serve_parse_v2(p, n, h, d, MAX_ROWS, &r, err, sizeof err);
    check_parse(st, &r, d, err, 1);
    if (!st) {
        answer(&r, 1, 3);
        answer(&r, 0, 2);
    }
    nn_serve_req_free(&r);
    return 0;
}
