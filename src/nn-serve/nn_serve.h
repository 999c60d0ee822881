/* nn_serve.h: nn-serve, an HTTP inference server for nn-train checkpoints (docs/serving.md).
 *
 *   config.c   the option table, the parser and --help (pure)
 *   batch.c    dynamic batching: the rows of concurrent requests run together in one pass
 *   model.c    one checkpoint: load and verify it, predict: scaling, the batched forward pass,
 *              softmax or target unscaling
 *   registry.c the model being served: references, reload and swap, the --model-dir watcher
 *   request.c  the protocols' bodies: parse an OIP v2 infer or a TF Serving predict body into
 *              plain rows, or one error with its HTTP status (no HTTP here, so
 *              tests/test_serve.c drives it directly)
 *   answer.c   the answers and metadata of both protocols
 *   metrics.c  Prometheus /metrics (nn_metrics.h)
 *   http.c     libmicrohttpd: routing, the key, the body limit, the access log, metrics
 *   main.c     flags, start, the startup line, signals (TERM/INT stop, HUP reload), stop
 */
#ifndef NN_SERVE_H
#define NN_SERVE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>

#include "nn_args.h"
#include "nn_encode.h"
#include "nn_model.h"
#include "nn_preprocess.h"
#include "nn_qmodel.h"
#include "nn_version.h"

/* ---- command line ---- */
typedef struct {
    const char *model;     /* checkpoint written by nn-train */
    const char *model_dir; /* --checkpoint-dir of nn-train: serve DIR/latest, follow it */
    const char *name;      /* the model's name in URLs; NULL: the file stem / the dir's name */
    const char *host;      /* address to bind */
    long port;             /* 0: any free port */
    long threads;          /* HTTP workers: one libmicrohttpd epoll thread each (http.c) */
    long model_threads;    /* forward passes at once; 0: the cores, at most threads */
    long max_batch;        /* rows per request, and per forward pass */
    long batch_delay_us;   /* how long a pass may wait for rows on their way */
    long reload_s;         /* --model-dir: look at DIR/latest at least this often */
    long max_body;         /* bytes per request body */
    long max_conn;         /* open connections */
    long timeout;          /* seconds a connection may stay idle */
    const char *key_file;  /* --api-key-file */
    int quiet, help, version;
    unsigned char given[20];
} nn_serve_config;

int nn_serve_config_parse(nn_serve_config *cfg, int argc, char **argv, char *err, size_t errlen);
void nn_serve_config_usage(FILE *out);
/* The option table, for the manual page and the shell completion (nn_manual.h). */
const nn_argspec *nn_serve_config_spec(void);
/* --help-man or --help-bash alone: prints the page or the script and returns 0; else -1. */
int nn_serve_manual(int argc, char **argv);

/* ---- dynamic batching (batch.c) ----
 * Requests hand their rows to the batcher; at most `executors` forward passes run at once, and
 * the rows that queue behind them ride together in the next pass, up to max_batch rows. A
 * request that finds an executor free runs at once (a lone request is never delayed); a pass
 * waits up to delay_us for more rows only while *arriving (requests whose bodies are still
 * being read) is non-zero and the batch is not full. */
typedef struct nn_batcher nn_batcher;
/* The pass itself: x (n, D) to out (n, K) and, for a classifier, cls (n). */
typedef void (*nn_batch_fn)(void *ctx, nn_work *w, const float *x, size_t n, float *out,
                            long *cls);
typedef struct {
    int max_batch;           /* rows per pass */
    int executors;           /* passes at once */
    long delay_us;           /* --batch-delay-us */
    atomic_long *arriving;   /* bodies on their way (http.c), or NULL */
    struct nn_metrics *mx;   /* batch and queue-time figures, or NULL */
} nn_batch_limits;
nn_batcher *nn_batcher_new(const nn_layout *lo, const nn_batch_limits *lim, nn_batch_fn fn,
                           void *ctx);
void nn_batcher_free(nn_batcher *b);
/* nn_batcher_submit, then waits for the call back: returns when out and cls hold the rows.
 * 0, or -1 when out of memory. */
int nn_batcher_run(nn_batcher *b, const float *x, size_t n, float *out, long *cls);
/* The same without waiting: queues the rows and, while a slot is free, runs the queued passes
 * on this thread; back(ctx) is called exactly once, when out and cls hold the rows, by the
 * thread that ran their pass (this one, before nn_batcher_submit returns, or an executor
 * later), with no lock held. x, out and cls must stay valid until then. 0, or -1 when out of
 * memory (nothing queued, back not called). */
int nn_batcher_submit(nn_batcher *b, const float *x, size_t n, float *out, long *cls,
                      void (*back)(void *ctx), void *ctx);
/* nn_batcher_submit in two halves, for a caller that gathers several requests before their
 * passes (an HTTP worker reading every connection that is ready): nn_batcher_queue queues the
 * rows without running them (0, or -1 when out of memory); nn_batcher_flush runs the queued
 * passes on this thread while a slot is free (the rest go to the executors at work). */
int nn_batcher_queue(nn_batcher *b, const float *x, size_t n, float *out, long *cls,
                     void (*back)(void *ctx), void *ctx);
void nn_batcher_flush(nn_batcher *b);

/* ---- the model (model.c): one loaded checkpoint, immutable once loaded ---- */
typedef struct nn_serve_model {
    nn_layout lo;
    float *params;       /* lo.n_params; NULL for an exported model */
    nn_qmodel q;         /* an exported model (q.blob set, docs/export.md): its int8 kernels */
    nn_preprocess pre;
    nn_encoder enc;      /* the checkpoint's /encoder (enc.ncol 0: none): records by name */
    int classify;        /* softmax output: probabilities and a class per row */
    long step;           /* the checkpoint's step: the version every answer carries */
    char version[24];    /* step as text */
    char name[128];      /* --name, or the file stem (--model) or directory name (--model-dir) */
    char layers[256];    /* "784-256-10" */
    char path[4096];     /* the checkpoint file */
    double loaded_at;    /* Unix time the load finished */
    double load_seconds; /* how long reading and verifying it took */
    int max_batch;       /* rows one request may carry */
    atomic_int refs;     /* the registry's reference and one per request using it */
    nn_batcher *batch;
} nn_serve_model;

/* Reads and verifies path (the checks of nn-train --verify) and starts its batcher. The model
 * or NULL with one line in err. */
nn_serve_model *nn_serve_model_load(const char *path, const char *name,
                                    const nn_batch_limits *lim, char *err, size_t errlen);
void nn_serve_model_free(nn_serve_model *m);
/* Floats per output row: K. */
static inline int nn_serve_outputs(const nn_serve_model *m) { return m->lo.sizes[m->lo.n_layers]; }
static inline int nn_serve_inputs(const nn_serve_model *m) { return m->lo.sizes[0]; }
/* Predicts n <= max_batch rows x (n, D), scaled in place: out (n, K) the probabilities (in
 * double, as nn-predict) or the values in the targets' units; cls (n) the class when classify
 * (may be NULL otherwise). Rides in a dynamic batch (nn_batcher_submit): back(ctx) when out
 * and cls hold the answers. 0, or -1 when out of memory. */
int nn_serve_predict(nn_serve_model *m, float *x, size_t n, float *out, long *cls,
                           void (*back)(void *ctx), void *ctx);
/* The same, queued only: the pass runs at nn_batcher_flush(m->batch) (or in an executor). */
int nn_serve_predict_queued(nn_serve_model *m, float *x, size_t n, float *out, long *cls,
                            void (*back)(void *ctx), void *ctx);

/* ---- the model being served, and live updates (registry.c) ----
 * Requests take a reference to the current model for their whole life; a reload loads and
 * verifies the new checkpoint beside it, swaps the pointer, and the old model is freed when
 * its last request lets go. */
typedef struct nn_registry nn_registry;
/* Loads cfg's --model, or --model-dir's DIR/latest. NULL with one line in err. */
nn_registry *nn_registry_open(const nn_serve_config *cfg, const nn_batch_limits *lim,
                              char *err, size_t errlen);
void nn_registry_close(nn_registry *g);
nn_serve_model *nn_registry_acquire(nn_registry *g);
void nn_serve_model_release(nn_serve_model *m);
/* Another reference to a model already held (released with nn_serve_model_release). */
nn_serve_model *nn_serve_model_ref(nn_serve_model *m);
/* Loads the checkpoint now named (--model's file, or DIR/latest) when it differs from the one
 * served (force: even when it does not), verifies it, and swaps it in; one log line either
 * way. 1 swapped, 0 nothing new, -1 refused (the old model keeps serving). */
int nn_registry_reload(nn_registry *g, int force);
/* --model-dir: a thread that reloads when DIR/latest changes (inotify, and a look every
 * reload_s seconds for file systems without it). 0, or -1 with err. */
int nn_registry_watch(nn_registry *g, char *err, size_t errlen);

/* ---- requests and answers (no HTTP) ---- */
typedef struct {
    size_t n;        /* rows */
    int d;           /* features */
    float *x;        /* (n, d) */
    char *id;        /* the request's "id" as JSON text, or NULL */
    char *in_name;   /* the input's name (OIP v2) as written: quotes off, escapes kept */
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

/* Parse a body into r for a model of d inputs taking at most max_rows rows. 0, or the HTTP
 * status (400, 413) with one line in err naming the problem. The body is len bytes and need
 * not be NUL-terminated (nothing past it is read).
 * v2, binary tensor data extension: header_len is the text of the request's
 * Inference-Header-Content-Length header, or NULL when absent; with it, the first H bytes of
 * the body are the JSON and the rest the input's raw little-endian FP32 bytes. */
int nn_serve_parse_v2(const char *body, size_t len, const char *header_len, int d,
                      size_t max_rows, nn_serve_req *r, char *err, size_t errlen);
int nn_serve_parse_tf(const char *body, size_t len, int d, size_t max_rows, nn_serve_req *r,
                      char *err, size_t errlen);
/* The same, and instances given as raw records by feature name, {"age": 30, "city": "Oslo",
 * ...}, encoded by enc (the checkpoint's /encoder, docs/tabular.md) exactly as nn-predict
 * --csv encodes a CSV row: numbers as written, strings as they are, null or an absent name a
 * missing value; other names are ignored. enc NULL: rows of numbers only. */
int nn_serve_parse_tf_enc(const char *body, size_t len, int d, size_t max_rows,
                          const nn_encoder *enc, nn_serve_req *r, char *err, size_t errlen);
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

/* ---- the server (http.c) ---- */
typedef struct nn_server nn_server;
/* Starts serving g's model on cfg's host and port; *port is the port bound. NULL with err. */
nn_server *nn_server_start(const nn_serve_config *cfg, nn_registry *g, struct nn_metrics *mx,
                           atomic_long *arriving, const char *key, int *port, char *err,
                           size_t errlen);
/* Stops accepting, finishes what is in flight, frees. */
void nn_server_stop(nn_server *s);
/* libmicrohttpd for --version: as built against and as loaded. */
void nn_serve_mhd_libver(nn_libver *v);

#endif
