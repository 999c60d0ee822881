/* nn_serve.h: nn-serve, an HTTP inference server for nn-train checkpoints (docs/serving.md).
 *
 *   config.c   the option table, the parser and --help (pure)
 *   model.c    the model: load and verify a checkpoint, the work slots (one nn_work per
 *              concurrent request), predict: scaling, forward, softmax or target unscaling
 *   request.c  the protocols' bodies: parse an OIP v2 infer or a TF Serving predict body into
 *              plain rows, or one error with its HTTP status; write the answers (no HTTP here,
 *              so tests/test_serve.c drives it directly)
 *   http.c     libmicrohttpd: routing, the key, the body limit, the access log
 *   main.c     flags, start, the startup line, signals, stop
 */
#ifndef NN_SERVE_H
#define NN_SERVE_H

#include <pthread.h>
#include <stddef.h>
#include <stdio.h>

#include "nn_model.h"
#include "nn_preprocess.h"

/* ---- command line ---- */
typedef struct {
    const char *model;    /* checkpoint written by nn-train */
    const char *name;     /* the model's name in URLs; NULL: the file stem */
    const char *host;     /* address to bind */
    long port;            /* 0: any free port */
    long threads;         /* libmicrohttpd's thread pool */
    long max_batch;       /* rows per request */
    long max_body;        /* bytes per request body */
    long max_conn;        /* open connections */
    long timeout;         /* seconds a connection may stay idle */
    const char *key_file; /* --api-key-file */
    int quiet, help, version;
    unsigned char given[16];
} nn_serve_config;

int nn_serve_config_parse(nn_serve_config *cfg, int argc, char **argv, char *err, size_t errlen);
void nn_serve_config_usage(FILE *out);

/* ---- the model ---- */
typedef struct {
    nn_layout lo;
    float *params;      /* lo.n_params */
    nn_preprocess pre;
    int classify;       /* softmax output: probabilities and a class per row */
    long step;          /* the checkpoint's step: the version every answer carries */
    char version[24];   /* step as text */
    char name[128];     /* --name or the file stem */
    char layers[256];   /* "784-256-10" */
    int max_batch;      /* rows a slot holds */
    int n_slots;        /* work slots: one per concurrent request */
    nn_work *work;      /* (n_slots) */
    int *busy;          /* (n_slots) */
    pthread_mutex_t lock;
    pthread_cond_t freed;
} nn_serve_model;

/* Reads and verifies path (the checks of nn-train --verify) and allocates n_slots work slots of
 * max_batch rows. 0, or -1 with one line in err. */
int nn_serve_model_load(nn_serve_model *m, const char *path, const char *name, int max_batch,
                        int n_slots, char *err, size_t errlen);
void nn_serve_model_free(nn_serve_model *m);
/* Floats per output row: K. */
static inline int nn_serve_outputs(const nn_serve_model *m) { return m->lo.sizes[m->lo.n_layers]; }
/* Predicts n <= max_batch rows x (n, D), scaled in place: out (n, K) the probabilities (in
 * double, as nn-predict) or the values in the targets' units; cls (n) the argmax of the logits
 * when classify (may be NULL otherwise). Takes a free work slot, waiting for one. */
void nn_serve_predict(nn_serve_model *m, float *x, size_t n, float *out, long *cls);

/* ---- requests and answers (no HTTP) ---- */
typedef struct {
    size_t n;        /* rows */
    int d;           /* features */
    float *x;        /* (n, d) */
    char *id;        /* the request's "id" as JSON text, or NULL */
    char *in_name;   /* the input's name (OIP v2) */
    unsigned outputs; /* which outputs to answer (NN_OUT_*); default: all the model has */
    unsigned binary;  /* of those, the ones answered as binary data (the binary extension) */
    const char *values_name; /* the name "outputs" asked NN_OUT_VALUES by, or NULL (static) */
} nn_serve_req;
#define NN_OUT_VALUES 1u /* "probabilities" for a classifier, "predictions" for a regressor */
#define NN_OUT_CLASS 2u  /* "class", classifiers only */

/* A growing text buffer for answers. */
typedef struct {
    char *s;
    size_t len, cap;
    int oom;
} nn_buf;
void nn_buf_printf(nn_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void nn_buf_append(nn_buf *b, const char *data, size_t n); /* raw bytes, NULs too */
void nn_buf_free(nn_buf *b);

/* Parse a body (len bytes, not NUL-terminated) into r for a model of d inputs taking at most
 * max_rows rows. 0, or the HTTP status (400, 413) with one line in err naming the problem.
 * v2, binary tensor data extension: header_len is the text of the request's
 * Inference-Header-Content-Length header, or NULL when absent; with it, the first H bytes of
 * the body are the JSON and the rest the input's raw little-endian FP32 bytes. */
int nn_serve_parse_v2(const char *body, size_t len, const char *header_len, int d,
                      size_t max_rows, nn_serve_req *r, char *err, size_t errlen);
int nn_serve_parse_tf(const char *body, size_t len, int d, size_t max_rows, nn_serve_req *r,
                      char *err, size_t errlen);
void nn_serve_req_free(nn_serve_req *r);

/* The outputs r asks for exist in m ("class" only for a classifier, "probabilities" or
 * "predictions" as m has): 0, or 400 with err naming the model's outputs. */
int nn_serve_check_outputs(const nn_serve_model *m, const nn_serve_req *r, char *err,
                           size_t errlen);
/* Answers: out (n, K), cls (n) as from nn_serve_predict. v2: *json_len is 0 when the whole
 * answer is JSON; otherwise the byte length of the JSON part that precedes the binary outputs
 * (send Inference-Header-Content-Length: *json_len, Content-Type: application/octet-stream). */
void nn_serve_answer_v2(nn_buf *b, const nn_serve_model *m, const nn_serve_req *r,
                        const float *out, const long *cls, size_t *json_len);
void nn_serve_answer_tf(nn_buf *b, const nn_serve_model *m, size_t n, const float *out,
                        const long *cls);
/* {"error": "msg"} with msg escaped. */
void nn_serve_error_json(nn_buf *b, const char *msg);
/* Metadata: GET /v2, GET /v2/models/NAME, GET /v1/models/NAME. */
void nn_serve_server_meta(nn_buf *b);
void nn_serve_model_meta(nn_buf *b, const nn_serve_model *m);
void nn_serve_tf_status(nn_buf *b, const nn_serve_model *m);

/* ---- the server ---- */
typedef struct nn_server nn_server;
/* Starts serving m on cfg's host and port; *port is the port bound. NULL with err. */
nn_server *nn_server_start(const nn_serve_config *cfg, nn_serve_model *m, const char *key,
                           int *port, char *err, size_t errlen);
/* Stops accepting, finishes what is in flight, frees. */
void nn_server_stop(nn_server *s);

#endif
