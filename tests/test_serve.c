/* test_serve.c: nn-serve's protocol bodies without HTTP (src/nn-serve/request.c, answer.c):
 * the OIP v2 parser (flat and nested data, the binary tensor data extension), the TF Serving
 * parser, every error path's status and the words its message must hold, and the answers,
 * read back with cJSON, their binary parts compared byte for byte. */
#include <cjson/cJSON.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "nn_serve.h"

#define D 3        /* the test model's inputs */
#define MAX_ROWS 4 /* its --max-batch */

static const char *const FLAT =
    "{\"id\": \"r-1\", \"inputs\": [{\"name\": \"x\", \"shape\": [2, 3], \"datatype\": \"FP32\","
    " \"data\": [1, 2.5, -3, 4e-3, 0, 1e30]}]}";
static const float FLAT_X[6] = {1, 2.5f, -3, 4e-3f, 0, 1e30f};

/* A case: a body (text, or bytes when len is set), the header's text or NULL, and what must
 * come: status and a part of the message. */
typedef struct {
    const char *body;
    const char *header;
    int status;
    const char *says;
    size_t len; /* 0: strlen(body) */
} bad_case;

static void expect_fail(int st, const nn_serve_req *r, const char *err, const bad_case *c,
                        size_t k)
{
    if (st != c->status || !strstr(err, c->says)) {
        print_error("case %zu (%.60s): status %d, error \"%s\"; expected %d with \"%s\"\n", k,
                    c->body, st, err, c->status, c->says);
        fail();
    }
    /* Nothing is handed out on failure. */
    assert_null(r->x);
    assert_null(r->id);
    assert_null(r->in_name);
}

static void run_bad_v2(const bad_case *cases, size_t n)
{
    for (size_t k = 0; k < n; k++) {
        nn_serve_req r;
        char err[512] = "";
        size_t len = cases[k].len ? cases[k].len : strlen(cases[k].body);
        int st = nn_serve_parse_v2(cases[k].body, len, cases[k].header, D, MAX_ROWS, &r, err,
                                   sizeof err);
        expect_fail(st, &r, err, &cases[k], k);
    }
}

/* A binary request: json, then n little-endian FP32 values, then `extra` bytes of 0x20; the
 * header text is json's length. Returns the body (malloc), *len its length. */
static char *binary_body(const char *json, const float *x, size_t n, size_t extra, size_t *len,
                         char *header, size_t hlen)
{
    size_t j = strlen(json);
    char *b = malloc(j + 4 * n + extra + 1);
    assert_non_null(b);
    memcpy(b, json, j);
    for (size_t i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, x + i, 4);
        for (int k = 0; k < 4; k++)
            b[j + 4 * i + (size_t)k] = (char)(u >> (8 * k));
    }
    memset(b + j + 4 * n, ' ', extra);
    *len = j + 4 * n + extra;
    snprintf(header, hlen, "%zu", j);
    return b;
}

static const char *const BIN_JSON =
    "{\"inputs\": [{\"name\": \"in\", \"shape\": [2, 3], \"datatype\": \"FP32\","
    " \"parameters\": {\"binary_data_size\": 24}}],"
    " \"parameters\": {\"binary_data_output\": true}}";

static void test_v2_flat_and_nested(void **state)
{
    (void)state;
    nn_serve_req r;
    char err[256] = "";
    assert_int_equal(nn_serve_parse_v2(FLAT, strlen(FLAT), NULL, D, MAX_ROWS, &r, err,
                                       sizeof err), 0);
    assert_int_equal(r.n, 2);
    assert_int_equal(r.d, D);
    assert_memory_equal(r.x, FLAT_X, sizeof FLAT_X);
    assert_string_equal(r.id, "\"r-1\""); /* as JSON text, echoed as it came */
    assert_string_equal(r.in_name, "x");
    assert_int_equal(r.outputs, NN_OUT_VALUES | NN_OUT_CLASS);
    assert_int_equal(r.binary, 0);
    nn_serve_req_free(&r);

    const char *nested = "{\"inputs\": [{\"name\": \"y\", \"shape\": [2, 3], \"datatype\": "
                         "\"FP32\", \"data\": [[1, 2.5, -3], [4e-3, 0, 1e30]]}]}  \n";
    assert_int_equal(nn_serve_parse_v2(nested, strlen(nested), NULL, D, MAX_ROWS, &r, err,
                                       sizeof err), 0);
    assert_memory_equal(r.x, FLAT_X, sizeof FLAT_X);
    assert_null(r.id);
    assert_string_equal(r.in_name, "y");
    nn_serve_req_free(&r);
    nn_serve_req_free(&r); /* twice is harmless */
}

static void test_tf(void **state)
{
    (void)state;
    nn_serve_req r;
    char err[256] = "";
    const char *b = "{\"instances\": [[1, 2.5, -3], [4e-3, 0, 1e30]]}";
    assert_int_equal(nn_serve_parse_tf(b, strlen(b), D, MAX_ROWS, &r, err, sizeof err), 0);
    assert_int_equal(r.n, 2);
    assert_memory_equal(r.x, FLAT_X, sizeof FLAT_X);
    nn_serve_req_free(&r);
    static const bad_case bad[] = {
        {"{\"instances\": 5}", NULL, 400, "instances: expected an array", 0},
        {"{\"instances\": []}", NULL, 400, "empty batch", 0},
        {"{\"instances\": [1, 2, 3]}", NULL, 400, "expected rows of 3", 0},
        {"{\"instances\": [[1, 2]]}", NULL, 400, "data row 0", 0},
        {"{\"instances\": [[1, 2, true]]}", NULL, 400, "not a number", 0},
        {"{\"instances\": [[1,2,3],[1,2,3],[1,2,3],[1,2,3],[1,2,3]]}", NULL, 413,
         "--max-batch 4", 0},
        {"{\"instances\": [[1, 2, 3]]} x", NULL, 400, "after the JSON object", 0},
        {"[]", NULL, 400, "not an object", 0},
    };
    for (size_t k = 0; k < sizeof bad / sizeof *bad; k++) {
        char e[512] = "";
        int st = nn_serve_parse_tf(bad[k].body, strlen(bad[k].body), D, MAX_ROWS, &r, e,
                                   sizeof e);
        expect_fail(st, &r, e, &bad[k], k);
    }
}

#define IN(rest) "{\"inputs\": [{\"name\": \"x\", " rest "}]}"
#define GOOD IN("\"shape\": [1, 3], \"datatype\": \"FP32\", \"data\": [1, 2, 3]")

static void test_v2_errors(void **state)
{
    (void)state;
    static const bad_case bad[] = {
        {"{\"inputs\": [", NULL, 400, "malformed JSON at byte", 0},
        {"", NULL, 400, "empty body", 0},
        {"[1, 2]", NULL, 400, "not an object", 0},
        {"{}", NULL, 400, "inputs: expected an array of exactly one input", 0},
        {"{\"inputs\": [1]}", NULL, 400, "inputs[0] is not an object", 0},
        {"{\"inputs\": [{}, {}]}", NULL, 400, "exactly one input", 0},
        {IN("\"shape\": [1, 3], \"datatype\": \"FP32\", \"data\": [1, 2, \"a\"]"), NULL, 400,
         "data element 2 is not a number", 0},
        {IN("\"shape\": [1, 3], \"datatype\": \"FP32\", \"data\": [1, 2, 1e39]"), NULL, 400,
         "data element 2 (1e+39) is not a finite float32", 0},
        {IN("\"shape\": [1, 3], \"datatype\": \"FP32\", \"data\": [1, 2, NaN]"), NULL, 400,
         "malformed JSON", 0},
        {IN("\"shape\": [1, 4], \"datatype\": \"FP32\", \"data\": [1, 2, 3, 4]"), NULL, 400,
         "takes 3 features per row; expected [N, 3]", 0},
        {IN("\"shape\": [2, 3], \"datatype\": \"FP32\", \"data\": [1, 2, 3]"), NULL, 400,
         "data has 3 values but the shape [2, 3] needs 6", 0},
        {IN("\"shape\": [2, 3], \"datatype\": \"FP32\", \"data\": [[1, 2, 3], [1, 2]]"), NULL,
         400, "data row 1", 0},
        {IN("\"shape\": [0, 3], \"datatype\": \"FP32\", \"data\": []"), NULL, 400,
         "empty batch", 0},
        {IN("\"shape\": [-1, 3], \"datatype\": \"FP32\", \"data\": []"), NULL, 400,
         "non-negative integer", 0},
        {IN("\"shape\": [5, 3], \"datatype\": \"FP32\", \"data\": []"), NULL, 413,
         "5 rows is over this server's --max-batch 4", 0},
        {IN("\"shape\": [1, 3], \"datatype\": \"INT32\", \"data\": [1, 2, 3]"), NULL, 400,
         "datatype \"INT32\": expected \"FP32\"", 0},
        {IN("\"shape\": [1, 3], \"datatype\": \"FP32\""), NULL, 400,
         "inputs[0].data: expected an array", 0},
        {"{\"id\": 7, \"inputs\": []}", NULL, 400, "id: expected a string", 0},
        {GOOD " x", NULL, 400, "bytes after the JSON object", 0},
        {"{\"outputs\": [{\"name\": \"logits\"}], \"inputs\": [{}]}", NULL, 400,
         "outputs[0].name \"logits\" is not an output; expected \"probabilities\"", 0},
        {"{\"outputs\": [{\"name\": \"class\"}, {\"name\": \"class\"}], \"inputs\": [{}]}", NULL,
         400, "\"class\" is asked for twice", 0},
        {"{\"outputs\": {}, \"inputs\": [{}]}", NULL, 400, "outputs: expected an array", 0},
        {"{\"outputs\": [3], \"inputs\": [{}]}", NULL, 400, "outputs[0]: expected {\"name\"", 0},
        {"{\"outputs\": [{\"name\": \"class\", \"parameters\": {\"binary_data\": 1}}], "
         "\"inputs\": [{}]}", NULL, 400, "binary_data: expected true or false", 0},
        {"{\"parameters\": {\"binary_data_output\": \"yes\"}, \"inputs\": [{}]}", NULL, 400,
         "binary_data_output: expected true or false", 0},
        {"{\"parameters\": 1, \"inputs\": [{}]}", NULL, 400, "parameters: expected an object", 0},
    };
    run_bad_v2(bad, sizeof bad / sizeof *bad);
}

static void test_v2_outputs(void **state)
{
    (void)state;
    struct {
        const char *head; /* members before "inputs" */
        unsigned outputs, binary;
        const char *values_name;
    } cases[] = {
        {"", NN_OUT_VALUES | NN_OUT_CLASS, 0, NULL},
        {"\"outputs\": [], ", NN_OUT_VALUES | NN_OUT_CLASS, 0, NULL},
        {"\"parameters\": {\"binary_data_output\": true}, ", 3, 3, NULL},
        {"\"outputs\": [{\"name\": \"class\"}], ", NN_OUT_CLASS, 0, NULL},
        {"\"outputs\": [{\"name\": \"probabilities\", \"parameters\": {\"binary_data\": true}},"
         " {\"name\": \"class\"}], ", 3, NN_OUT_VALUES, "probabilities"},
        {"\"parameters\": {\"binary_data_output\": true}, \"outputs\": [{\"name\": "
         "\"predictions\", \"parameters\": {\"binary_data\": false}}, {\"name\": \"class\"}], ",
         3, NN_OUT_CLASS, "predictions"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        char body[512], err[256] = "";
        nn_serve_req r;
        snprintf(body, sizeof body, "{%s\"inputs\": [{\"name\": \"x\", \"shape\": [1, 3], "
                 "\"datatype\": \"FP32\", \"data\": [1, 2, 3]}]}", cases[k].head);
        assert_int_equal(nn_serve_parse_v2(body, strlen(body), NULL, D, MAX_ROWS, &r, err,
                                           sizeof err), 0);
        assert_int_equal(r.outputs, cases[k].outputs);
        assert_int_equal(r.binary, cases[k].binary);
        if (cases[k].values_name)
            assert_string_equal(r.values_name, cases[k].values_name);
        else
            assert_null(r.values_name);
        nn_serve_req_free(&r);
    }
}

static void test_v2_binary(void **state)
{
    (void)state;
    char header[32], err[256] = "";
    size_t len;
    nn_serve_req r;
    /* Bits that text would not carry through unchanged: the smallest subnormal, -0. */
    float x[6] = {1, -2.5f, 1e-45f, -0.0f, 3.4e38f, 0.1f};
    char *b = binary_body(BIN_JSON, x, 6, 0, &len, header, sizeof header);
    assert_int_equal(nn_serve_parse_v2(b, len, header, D, MAX_ROWS, &r, err, sizeof err), 0);
    assert_int_equal(r.n, 2);
    assert_memory_equal(r.x, x, sizeof x);
    assert_int_equal(r.binary, NN_OUT_VALUES | NN_OUT_CLASS);
    nn_serve_req_free(&r);
    /* The header's value with spaces around it, as HTTP allows. */
    char spaced[40];
    snprintf(spaced, sizeof spaced, " %s\t", header);
    assert_int_equal(nn_serve_parse_v2(b, len, spaced, D, MAX_ROWS, &r, err, sizeof err), 0);
    nn_serve_req_free(&r);
    /* A header equal to the body's length: all JSON, no binary part. */
    snprintf(header, sizeof header, "%zu", strlen(FLAT));
    assert_int_equal(nn_serve_parse_v2(FLAT, strlen(FLAT), header, D, MAX_ROWS, &r, err,
                                       sizeof err), 0);
    assert_memory_equal(r.x, FLAT_X, sizeof FLAT_X);
    nn_serve_req_free(&r);
    free(b);
}

/* A binary case: JSON, FP32 values, extra bytes, and the header (NULL: the JSON's length;
 * "-": none), with the bytes cut by `cut` at the end. */
typedef struct {
    const char *json;
    float x[6];
    size_t nx, extra, cut;
    const char *header;
    int status;
    const char *says;
} bin_case;

#define BIN_IN(size) "{\"inputs\": [{\"name\": \"in\", \"shape\": [2, 3], \"datatype\": " \
                     "\"FP32\", \"parameters\": {\"binary_data_size\": " size "}}]}"

static void test_v2_binary_errors(void **state)
{
    (void)state;
    static const bin_case cases[] = {
        {BIN_IN("24"), {0}, 6, 0, 0, "abc", 400,
         "Inference-Header-Content-Length \"abc\" is not a number; expected the JSON part's "
         "length in bytes, 1 to 129"},
        {BIN_IN("24"), {0}, 6, 0, 0, "-5", 400, "\"-5\" is not a number"},
        {BIN_IN("24"), {0}, 6, 0, 0, "", 400, "\"\" is not a number"},
        {BIN_IN("24"), {0}, 6, 0, 0, "12x", 400, "\"12x\" is not a number"},
        {BIN_IN("24"), {0}, 6, 0, 0, "0", 400, "Inference-Header-Content-Length 0 is outside"},
        {BIN_IN("24"), {0}, 6, 0, 0, "130", 400, "130 is outside the body; expected the JSON "
         "part's length in bytes, 1 to 129 (the body's length)"},
        {BIN_IN("24"), {0}, 6, 0, 0, "18446744073709551721", 400, "is outside the body"},
        {BIN_IN("24"), {0}, 6, 0, 0, "40", 400, "malformed JSON"},
        {BIN_IN("24"), {0}, 6, 0, 0, "110", 400,
         "5 bytes after the JSON object, which ends at byte 105; expected Inference-Header-Content-"
         "Length to be the JSON's length"},
        {BIN_IN("20"), {0}, 6, 0, 0, NULL, 400, "binary_data_size 20: the shape [2, 3] of FP32 "
         "takes 24 bytes; expected 24"},
        {BIN_IN("24"), {0}, 6, 0, 1, NULL, 400, "binary data truncated: inputs[0] needs 24 "
         "bytes (binary_data_size) after the 105-byte JSON header, the body has 23"},
        {BIN_IN("24"), {0}, 0, 0, 0, NULL, 400, "truncated"},
        {BIN_IN("24"), {0}, 6, 1, 0, NULL, 400, "1 extra bytes after the last binary input; "
         "expected the body to end there (129 bytes)"},
        {BIN_IN("24"), {0}, 6, 0, 0, "-", 400, "24 bytes after the JSON object"},
        {BIN_IN("24"), {0}, 0, 0, 0, "-", 400, "binary_data_size without an "
         "Inference-Header-Content-Length header"},
        {BIN_IN("\"24\""), {0}, 6, 0, 0, NULL, 400, "binary_data_size: expected a byte count"},
        {BIN_IN("-24"), {0}, 6, 0, 0, NULL, 400, "binary_data_size: expected a byte count"},
        {BIN_IN("2.5"), {0}, 6, 0, 0, NULL, 400, "binary_data_size: expected a byte count"},
        {BIN_IN("1e300"), {0}, 6, 0, 0, NULL, 400, "binary_data_size 1e+300"},
        {BIN_IN("24, \"x\": 1}, \"data\": [1, 2, 3, 4, 5, 6], \"y\": {\"z\": 0"), {0}, 6, 0, 0,
         NULL, 400, "both data and parameters.binary_data_size"},
        {IN("\"shape\": [2, 3], \"datatype\": \"FP32\", \"parameters\": 5"), {0}, 6, 0, 0,
         NULL, 400, "inputs[0].parameters: expected an object"},
        {IN("\"shape\": [2, 3], \"datatype\": \"FP32\", \"data\": [1, 2, 3, 4, 5, 6]"), {0}, 6,
         0, 0, NULL, 400, "24 bytes after the 92-byte JSON header but no input has "
         "parameters.binary_data_size; expected Inference-Header-Content-Length 116"},
        {BIN_IN("24"), {1, 2, 3, NAN, 5, 6}, 6, 0, 0, NULL, 400,
         "binary data element 3 (nan) is not a finite float32"},
        {BIN_IN("24"), {1, 2, 3, 4, 5, -INFINITY}, 6, 0, 0, NULL, 400,
         "binary data element 5 (-inf) is not a finite float32"},
        {"{\"inputs\": [{\"name\": \"in\", \"shape\": [5, 3], \"datatype\": \"FP32\", "
         "\"parameters\": {\"binary_data_size\": 60}}]}", {0}, 6, 0, 0, NULL, 413, "--max-batch 4"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        const bin_case *c = &cases[k];
        char header[32], err[512] = "";
        size_t len;
        nn_serve_req r;
        char *b = binary_body(c->json, c->x, c->nx, c->extra, &len, header, sizeof header);
        const char *h = !c->header ? header : strcmp(c->header, "-") ? c->header : NULL;
        int st = nn_serve_parse_v2(b, len - c->cut, h, D, MAX_ROWS, &r, err, sizeof err);
        bad_case bc = {c->json, h, c->status, c->says, 0};
        expect_fail(st, &r, err, &bc, k);
        free(b);
    }
}

/* A model made by hand: only what the answers read (sizes, classify, name, version). */
static nn_serve_model test_model(int classify, int K)
{
    nn_serve_model m;
    memset(&m, 0, sizeof m);
    m.lo.n_layers = 1;
    m.lo.sizes[0] = D;
    m.lo.sizes[1] = K;
    m.classify = classify;
    m.step = 42;
    snprintf(m.version, sizeof m.version, "42");
    snprintf(m.name, sizeof m.name, "t\"m");
    return m;
}

static const float OUT[6] = {0.25f, 0.5f, 0.25f, 1e-8f, 0.1f, 0.9f}; /* (2, 3) */
static const long CLS[2] = {1, 1L << 40};

/* The outputs array of an answer's JSON part (json_len bytes, or all of it when 0). */
static cJSON *answer_json(const nn_buf *b, size_t json_len)
{
    cJSON *j = cJSON_ParseWithLength(b->s, json_len ? json_len : b->len);
    assert_non_null(j);
    assert_string_equal(cJSON_GetObjectItem(j, "model_name")->valuestring, "t\"m");
    assert_string_equal(cJSON_GetObjectItem(j, "model_version")->valuestring, "42");
    return j;
}

static const cJSON *output(const cJSON *j, int i, const char *name, const char *datatype)
{
    const cJSON *o = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "outputs"), i);
    assert_non_null(o);
    assert_string_equal(cJSON_GetObjectItem(o, "name")->valuestring, name);
    assert_string_equal(cJSON_GetObjectItem(o, "datatype")->valuestring, datatype);
    return o;
}

static void test_answer_json(void **state)
{
    (void)state;
    nn_serve_model m = test_model(1, 3);
    char id[] = "\"r-1\"";
    nn_serve_req r = {.n = 2, .d = D, .id = id, .outputs = 3};
    nn_buf b = {0};
    size_t json_len = 99;
    nn_serve_answer_v2(&b, &m, &r, OUT, CLS, &json_len);
    assert_int_equal(json_len, 0);
    cJSON *j = answer_json(&b, 0);
    assert_string_equal(cJSON_GetObjectItem(j, "id")->valuestring, "r-1");
    const cJSON *p = output(j, 0, "probabilities", "FP32");
    assert_int_equal(cJSON_GetArrayItem(cJSON_GetObjectItem(p, "shape"), 1)->valueint, 3);
    const cJSON *data = cJSON_GetObjectItem(p, "data");
    assert_int_equal(cJSON_GetArraySize(data), 6);
    for (int i = 0; i < 6; i++) /* %.9g gives back the same float32 */
        assert_true((float)cJSON_GetArrayItem(data, i)->valuedouble == OUT[i]);
    const cJSON *c = cJSON_GetObjectItem(output(j, 1, "class", "INT64"), "data");
    assert_true(cJSON_GetArrayItem(c, 1)->valuedouble == (double)(1L << 40));
    assert_null(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "outputs"), 2));
    cJSON_Delete(j);
    nn_buf_free(&b);

    /* A regressor: "predictions" only, whatever was asked; outputs 0 means all. */
    m = test_model(0, 2);
    r = (nn_serve_req){.n = 3, .d = D};
    nn_serve_answer_v2(&b, &m, &r, OUT, NULL, &json_len);
    j = answer_json(&b, 0);
    assert_null(cJSON_GetObjectItem(j, "id"));
    p = output(j, 0, "predictions", "FP32");
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(p, "data")), 6);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(j, "outputs")), 1);
    cJSON_Delete(j);
    nn_buf_free(&b);
}

static void test_answer_binary(void **state)
{
    (void)state;
    nn_serve_model m = test_model(1, 3);
    nn_serve_req r = {.n = 2, .d = D, .outputs = 3, .binary = 3};
    nn_buf b = {0};
    size_t json_len = 0;
    nn_serve_answer_v2(&b, &m, &r, OUT, CLS, &json_len);
    assert_int_equal(b.len, json_len + 24 + 16);
    cJSON *j = answer_json(&b, json_len);
    const cJSON *p = output(j, 0, "probabilities", "FP32");
    assert_null(cJSON_GetObjectItem(p, "data"));
    assert_int_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(p, "parameters"),
                                         "binary_data_size")->valueint, 24);
    const cJSON *c = output(j, 1, "class", "INT64");
    assert_int_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(c, "parameters"),
                                         "binary_data_size")->valueint, 16);
    cJSON_Delete(j);
    static const unsigned char le[24 + 16] = {
        0x00, 0x00, 0x80, 0x3e, 0x00, 0x00, 0x00, 0x3f, 0x00, 0x00, 0x80, 0x3e, /* .25 .5 .25 */
        0x77, 0xcc, 0x2b, 0x32, 0xcd, 0xcc, 0xcc, 0x3d, 0x66, 0x66, 0x66, 0x3f, /* 1e-8 .1 .9 */
        1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0};                      /* 1, 2^40 */
    assert_memory_equal(b.s + json_len, le, sizeof le);
    nn_buf_free(&b);

    /* Class only, in binary; then probabilities in binary and class as JSON. */
    r.outputs = NN_OUT_CLASS;
    nn_serve_answer_v2(&b, &m, &r, OUT, CLS, &json_len);
    assert_int_equal(b.len, json_len + 16);
    j = answer_json(&b, json_len);
    output(j, 0, "class", "INT64");
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(j, "outputs")), 1);
    assert_memory_equal(b.s + json_len, le + 24, 16);
    cJSON_Delete(j);
    nn_buf_free(&b);
    r.outputs = 3, r.binary = NN_OUT_VALUES;
    nn_serve_answer_v2(&b, &m, &r, OUT, CLS, &json_len);
    assert_int_equal(b.len, json_len + 24);
    j = answer_json(&b, json_len);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(output(j, 1, "class", "INT64"),
                                                            "data")), 2);
    assert_memory_equal(b.s + json_len, le, 24);
    cJSON_Delete(j);
    nn_buf_free(&b);
}

static void test_check_outputs(void **state)
{
    (void)state;
    nn_serve_model c = test_model(1, 3), g = test_model(0, 2);
    char err[256] = "";
    nn_serve_req r = {.outputs = 3};
    assert_int_equal(nn_serve_check_outputs(&c, &r, err, sizeof err), 0);
    r.values_name = "probabilities";
    assert_int_equal(nn_serve_check_outputs(&c, &r, err, sizeof err), 0);
    r.values_name = "predictions";
    assert_int_equal(nn_serve_check_outputs(&c, &r, err, sizeof err), 400);
    assert_non_null(strstr(err, "\"predictions\" is not an output of model 't\"m'; its outputs "
                                "are \"probabilities\", \"class\""));
    r = (nn_serve_req){.outputs = NN_OUT_VALUES, .values_name = "predictions"};
    assert_int_equal(nn_serve_check_outputs(&g, &r, err, sizeof err), 0);
    /* Outputs not named ("all the model has") include "class" and fit a regressor too. */
    r = (nn_serve_req){.outputs = 3};
    assert_int_equal(nn_serve_check_outputs(&g, &r, err, sizeof err), 0);
    r.outputs = NN_OUT_CLASS;
    assert_int_equal(nn_serve_check_outputs(&g, &r, err, sizeof err), 400);
    assert_non_null(strstr(err, "\"class\" is not an output"));
    assert_non_null(strstr(err, "its outputs are \"predictions\""));
}

static void test_meta_and_errors(void **state)
{
    (void)state;
    nn_buf b = {0};
    nn_serve_server_meta(&b);
    cJSON *j = cJSON_Parse(b.s);
    assert_non_null(j);
    assert_string_equal(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "extensions"), 0)->valuestring,
                        "binary_tensor_data");
    cJSON_Delete(j);
    nn_buf_free(&b);
    nn_serve_error_json(&b, "a \"quoted\"\nline");
    j = cJSON_Parse(b.s);
    assert_string_equal(cJSON_GetObjectItem(j, "error")->valuestring, "a \"quoted\"\nline");
    cJSON_Delete(j);
    nn_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_v2_flat_and_nested), cmocka_unit_test(test_tf),
        cmocka_unit_test(test_v2_errors),          cmocka_unit_test(test_v2_outputs),
        cmocka_unit_test(test_v2_binary),          cmocka_unit_test(test_v2_binary_errors),
        cmocka_unit_test(test_answer_json),        cmocka_unit_test(test_answer_binary),
        cmocka_unit_test(test_check_outputs),      cmocka_unit_test(test_meta_and_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
