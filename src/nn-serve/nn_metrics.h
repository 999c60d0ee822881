/* nn_metrics.h: nn-serve's Prometheus /metrics (metrics.c; docs/serving.md, "Metrics").
 *
 * The figures are updated on every request from many threads at once, so every update is a
 * few relaxed atomic additions on memory allocated once by nn_metrics_new: no lock, no
 * allocation. nn_metrics_render reads them (relaxed too) into the text exposition format
 * 0.0.4. Every function accepts mx == NULL and then does nothing, so code under test may run
 * without metrics. */
#ifndef NN_METRICS_H
#define NN_METRICS_H

#include <stddef.h>

#include "nn_serve.h"

/* The endpoint label of nn_serve_requests_total and nn_serve_request_duration_seconds. */
typedef enum {
    NN_EP_INFER,    /* POST /v2/models/NAME/infer */
    NN_EP_PREDICT,  /* POST /v1/models/NAME:predict */
    NN_EP_METADATA, /* GET /v2, /v2/models/NAME[/ready], /v1/models/NAME */
    NN_EP_HEALTH,   /* GET /v2/health/live, /v2/health/ready */
    NN_EP_METRICS,  /* GET /metrics */
    NN_EP_OTHER,    /* anything else: unknown paths, refused before routing (401, 413) */
    NN_EP_COUNT
} nn_endpoint;

typedef struct nn_metrics nn_metrics;

/* All figures zero; NULL when out of memory. */
nn_metrics *nn_metrics_new(void);
void nn_metrics_free(nn_metrics *mx); /* NULL is fine */
/* The endpoint's label value: "infer", "predict", "metadata", "health", "metrics", "other"
 * ("other" too for a value out of range). */
const char *nn_endpoint_name(nn_endpoint ep);

/* A request arrived: nn_serve_in_flight_requests + 1. */
void nn_metrics_begin(nn_metrics *mx);
/* It was answered (or abandoned) after `seconds`: in flight - 1,
 * nn_serve_requests_total{endpoint,code} + 1 and one observation in the latency histogram.
 * status outside the table of codes the server answers (200 400 401 404 405 413 499 500 503;
 * 499: the client went away first) counts as code="other". */
void nn_metrics_end(nn_metrics *mx, nn_endpoint ep, int status, double seconds);
/* One forward pass ran `rows` rows gathered from `requests` requests. */
void nn_metrics_batch(nn_metrics *mx, size_t rows, size_t requests);
/* One request waited `seconds` between being queued for the model and its pass starting. */
void nn_metrics_queued(nn_metrics *mx, double seconds);
/* The model now serving: its version (the checkpoint's step), the Unix time its load finished,
 * and how long loading and verifying it took. */
void nn_metrics_model(nn_metrics *mx, long version, double loaded_unix_seconds,
                      double load_seconds);
/* A reload attempt: accepted (1, swapped in) or refused (0, the old model keeps serving). */
void nn_metrics_reload(nn_metrics *mx, int accepted);

/* Appends every metric to out in the text exposition format 0.0.4 (Content-Type
 * "text/plain; version=0.0.4"). May run while the figures change: each number is read once,
 * and a histogram's _count is the sum of the bucket counts it prints, so +Inf == _count
 * always holds in one answer. */
void nn_metrics_render(nn_metrics *mx, nn_buf *out);

/* Durations are kept as integer nanoseconds (exact sums, no floating-point CAS loop); one
 * observation is clamped to [0, NN_METRICS_MAX_SECONDS] (NaN counts as 0). */
#define NN_METRICS_MAX_SECONDS 1e6

#endif
