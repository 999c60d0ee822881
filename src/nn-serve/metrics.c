/* metrics.c: nn-serve's Prometheus /metrics: lock-free counters and histograms, rendered in
 * the text exposition format 0.0.4 (docs/serving.md, "Metrics").
 *
 * Hot path: nn_metrics_end runs once per request on the server's threads (more than 10,000
 * a second), so an update is two or three relaxed fetch_adds on 64-bit atomics allocated by
 * nn_metrics_new; no lock, no allocation, no floating-point CAS loop (durations are summed as
 * integer nanoseconds). A histogram keeps one count per bucket, not cumulative counts, so an
 * observation touches one bucket; the render makes them cumulative.
 *
 * Every series of the fixed label sets is printed, zeros included: Prometheus' rate() and
 * increase() miss the first increment of a series that appears from nothing, so the first
 * 500 after a start would otherwise not show in an alert. The sets are small and fixed
 * (6 endpoints x 10 codes, 6 latency histograms), so the answer stays about 20 KB. No label
 * value comes from a request (they are the names of these tables), so none needs escaping. */
#include <math.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn_metrics.h"

/* "Lock-free" is the point of this module: refuse to build where 64-bit atomics take a lock. */
_Static_assert(ATOMIC_LLONG_LOCK_FREE == 2, "nn-serve's metrics need lock-free 64-bit atomics");

/* The status codes the server answers; anything else is code="other" (the last slot). */
static const int codes[] = {200, 400, 401, 404, 405, 413, 499, 500, 503};
#define N_CODES (sizeof codes / sizeof codes[0])

static const char *const endpoint_names[NN_EP_COUNT] = {
    "infer", "predict", "metadata", "health", "metrics", "other"};

/* Bucket upper bounds (le, inclusive) in nanoseconds, 1-2-5 steps (2 to 2.5x apart).
 * Requests: 50 us (a health check) to 10 s; beyond is +Inf. */
static const unsigned long long request_le[] = {
    50000ULL,      100000ULL,      200000ULL,      500000ULL,     1000000ULL,
    2000000ULL,    5000000ULL,     10000000ULL,    20000000ULL,   50000000ULL,
    100000000ULL,  200000000ULL,   500000000ULL,   1000000000ULL, 2000000000ULL,
    5000000000ULL, 10000000000ULL};
/* Queue waits: a lone request waits about a microsecond, a batched one up to
 * --batch-delay-us plus the pass ahead of it: 10 us to 1 s. */
static const unsigned long long queue_le[] = {
    10000ULL,     20000ULL,     50000ULL,      100000ULL,     200000ULL,    500000ULL,
    1000000ULL,   2000000ULL,   5000000ULL,    10000000ULL,   20000000ULL,  50000000ULL,
    100000000ULL, 200000000ULL, 500000000ULL,  1000000000ULL};
#define N_REQUEST_LE (sizeof request_le / sizeof request_le[0])
#define N_QUEUE_LE (sizeof queue_le / sizeof queue_le[0])
#define MAX_LE N_REQUEST_LE

typedef struct {
    atomic_ullong n[MAX_LE + 1]; /* observations per bucket, not cumulative; [nle]: +Inf */
    atomic_ullong sum_ns;
} histogram;

struct nn_metrics {
    atomic_llong in_flight;
    atomic_ullong requests[NN_EP_COUNT][N_CODES + 1]; /* [ep][code slot]; last: "other" */
    histogram duration[NN_EP_COUNT];
    histogram queue;
    atomic_ullong rows, batches, batch_requests;
    atomic_llong model_version;
    atomic_ullong model_loaded_bits, model_load_bits; /* doubles, by their bit patterns */
    atomic_ullong reloads[2];                         /* [0] refused, [1] accepted */
};

nn_metrics *nn_metrics_new(void)
{
    /* All-zero bytes are zero atomics on every platform with lock-free 64-bit atomics. */
    return calloc(1, sizeof(nn_metrics));
}

void nn_metrics_free(nn_metrics *mx) { free(mx); }

const char *nn_endpoint_name(nn_endpoint ep)
{
    return (unsigned)ep < NN_EP_COUNT ? endpoint_names[ep] : "other";
}

static size_t code_slot(int status)
{
    for (size_t i = 0; i < N_CODES; i++)
        if (codes[i] == status)
            return i;
    return N_CODES;
}

static unsigned long long to_ns(double seconds)
{
    if (!(seconds > 0)) /* negative, zero, NaN */
        return 0;
    if (seconds > NN_METRICS_MAX_SECONDS)
        seconds = NN_METRICS_MAX_SECONDS;
    return (unsigned long long)llround(seconds * 1e9);
}

static void observe(histogram *h, const unsigned long long *le, size_t nle, double seconds)
{
    unsigned long long ns = to_ns(seconds);
    size_t i = 0;
    while (i < nle && ns > le[i])
        i++;
    atomic_fetch_add_explicit(&h->n[i], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&h->sum_ns, ns, memory_order_relaxed);
}

static void store_double(atomic_ullong *a, double v)
{
    unsigned long long bits;
    memcpy(&bits, &v, sizeof bits);
    atomic_store_explicit(a, bits, memory_order_relaxed);
}

static double load_double(atomic_ullong *a)
{
    unsigned long long bits = atomic_load_explicit(a, memory_order_relaxed);
    double v;
    memcpy(&v, &bits, sizeof v);
    return v;
}

void nn_metrics_begin(nn_metrics *mx)
{
    if (mx)
        atomic_fetch_add_explicit(&mx->in_flight, 1, memory_order_relaxed);
}

void nn_metrics_end(nn_metrics *mx, nn_endpoint ep, int status, double seconds)
{
    if (!mx)
        return;
    if ((unsigned)ep >= NN_EP_COUNT)
        ep = NN_EP_OTHER;
    atomic_fetch_sub_explicit(&mx->in_flight, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&mx->requests[ep][code_slot(status)], 1, memory_order_relaxed);
    observe(&mx->duration[ep], request_le, N_REQUEST_LE, seconds);
}

void nn_metrics_batch(nn_metrics *mx, size_t rows, size_t requests)
{
    if (!mx)
        return;
    atomic_fetch_add_explicit(&mx->rows, rows, memory_order_relaxed);
    atomic_fetch_add_explicit(&mx->batches, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&mx->batch_requests, requests, memory_order_relaxed);
}

void nn_metrics_queued(nn_metrics *mx, double seconds)
{
    if (mx)
        observe(&mx->queue, queue_le, N_QUEUE_LE, seconds);
}

void nn_metrics_model(nn_metrics *mx, long version, double loaded_unix_seconds,
                      double load_seconds)
{
    if (!mx)
        return;
    atomic_store_explicit(&mx->model_version, version, memory_order_relaxed);
    store_double(&mx->model_loaded_bits, loaded_unix_seconds);
    store_double(&mx->model_load_bits, load_seconds);
}

void nn_metrics_reload(nn_metrics *mx, int accepted)
{
    if (mx)
        atomic_fetch_add_explicit(&mx->reloads[accepted ? 1 : 0], 1, memory_order_relaxed);
}

/* ---- rendering ---- */

static unsigned long long get(atomic_ullong *a)
{
    return atomic_load_explicit(a, memory_order_relaxed);
}

/* ns as seconds in plain decimal, exact, without trailing zeros: 50000 -> "0.00005",
 * 10000000000 -> "10". The same text for a bound in every answer, as le must be. */
static const char *seconds_text(unsigned long long ns, char buf[32])
{
    snprintf(buf, 32, "%llu.%09llu", ns / 1000000000ULL, ns % 1000000000ULL);
    char *end = buf + strlen(buf) - 1;
    while (*end == '0')
        *end-- = '\0';
    if (*end == '.')
        *end = '\0';
    return buf;
}

/* A gauge's double in the fewest digits that read back to it (0.25, not
 * 0.25000000000000000), and NaN and infinities as the format spells them. */
static void put_double(nn_buf *out, double v)
{
    char t[40];
    if (isnan(v)) {
        nn_buf_printf(out, "NaN\n");
    } else if (isinf(v)) {
        nn_buf_printf(out, "%sInf\n", v > 0 ? "+" : "-");
    } else {
        for (int digits = 15; digits <= 17; digits++) {
            snprintf(t, sizeof t, "%.*g", digits, v);
            if (strtod(t, NULL) == v)
                break;
        }
        nn_buf_printf(out, "%s\n", t);
    }
}

static void family(nn_buf *out, const char *name, const char *type, const char *help)
{
    nn_buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* One histogram's series; labels is "" or `endpoint="infer",` (with its trailing comma). */
static void put_histogram(nn_buf *out, const char *name, const char *labels, histogram *h,
                          const unsigned long long *le, size_t nle)
{
    char t[32];
    unsigned long long cum = 0;
    for (size_t i = 0; i < nle; i++) {
        cum += get(&h->n[i]);
        nn_buf_printf(out, "%s_bucket{%sle=\"%s\"} %llu\n", name, labels,
                      seconds_text(le[i], t), cum);
    }
    cum += get(&h->n[nle]);
    nn_buf_printf(out, "%s_bucket{%sle=\"+Inf\"} %llu\n", name, labels, cum);
    size_t ll = strlen(labels);
    /* The labels without their trailing comma, in braces, or nothing. */
    char braces[64] = "";
    if (ll)
        snprintf(braces, sizeof braces, "{%.*s}", (int)(ll - 1), labels);
    nn_buf_printf(out, "%s_sum%s %s\n", name, braces, seconds_text(get(&h->sum_ns), t));
    nn_buf_printf(out, "%s_count%s %llu\n", name, braces, cum);
}

static void render_requests(nn_metrics *mx, nn_buf *out)
{
    family(out, "nn_serve_requests_total", "counter",
           "Requests answered, by endpoint and HTTP status (code 499: the client went away "
           "before the answer).");
    for (int ep = 0; ep < NN_EP_COUNT; ep++)
        for (size_t c = 0; c <= N_CODES; c++) {
            char code[16] = "other";
            if (c < N_CODES)
                snprintf(code, sizeof code, "%d", codes[c]);
            nn_buf_printf(out, "nn_serve_requests_total{endpoint=\"%s\",code=\"%s\"} %llu\n",
                          endpoint_names[ep], code, get(&mx->requests[ep][c]));
        }
    family(out, "nn_serve_request_duration_seconds", "histogram",
           "Time from a request's arrival to its answer being queued, by endpoint.");
    for (int ep = 0; ep < NN_EP_COUNT; ep++) {
        char labels[48];
        snprintf(labels, sizeof labels, "endpoint=\"%s\",", endpoint_names[ep]);
        put_histogram(out, "nn_serve_request_duration_seconds", labels, &mx->duration[ep],
                      request_le, N_REQUEST_LE);
    }
    family(out, "nn_serve_in_flight_requests", "gauge",
           "Requests arrived and not yet answered.");
    nn_buf_printf(out, "nn_serve_in_flight_requests %lld\n",
                  atomic_load_explicit(&mx->in_flight, memory_order_relaxed));
}

static void render_batches(nn_metrics *mx, nn_buf *out)
{
    family(out, "nn_serve_rows_total", "counter", "Rows run through the model.");
    nn_buf_printf(out, "nn_serve_rows_total %llu\n", get(&mx->rows));
    family(out, "nn_serve_batches_total", "counter",
           "Forward passes (mean batch size: rows_total / batches_total).");
    nn_buf_printf(out, "nn_serve_batches_total %llu\n", get(&mx->batches));
    family(out, "nn_serve_batch_requests_total", "counter",
           "Requests whose rows rode in a forward pass (mean requests per pass: "
           "batch_requests_total / batches_total).");
    nn_buf_printf(out, "nn_serve_batch_requests_total %llu\n", get(&mx->batch_requests));
    family(out, "nn_serve_queue_seconds", "histogram",
           "Time a request waited between being queued for the model and its forward pass "
           "starting.");
    put_histogram(out, "nn_serve_queue_seconds", "", &mx->queue, queue_le, N_QUEUE_LE);
}

static void render_model(nn_metrics *mx, nn_buf *out)
{
    family(out, "nn_serve_model_version", "gauge",
           "Version of the model serving: its checkpoint's step.");
    nn_buf_printf(out, "nn_serve_model_version %lld\n",
                  atomic_load_explicit(&mx->model_version, memory_order_relaxed));
    family(out, "nn_serve_model_loaded_timestamp_seconds", "gauge",
           "Unix time the serving model finished loading.");
    nn_buf_printf(out, "nn_serve_model_loaded_timestamp_seconds ");
    put_double(out, load_double(&mx->model_loaded_bits));
    family(out, "nn_serve_model_load_seconds", "gauge",
           "How long reading and verifying the serving model took.");
    nn_buf_printf(out, "nn_serve_model_load_seconds ");
    put_double(out, load_double(&mx->model_load_bits));
    family(out, "nn_serve_reloads_total", "counter",
           "Reload attempts: accepted (swapped in) or refused (damaged or mismatched; the old "
           "model kept serving).");
    nn_buf_printf(out, "nn_serve_reloads_total{result=\"accepted\"} %llu\n", get(&mx->reloads[1]));
    nn_buf_printf(out, "nn_serve_reloads_total{result=\"refused\"} %llu\n", get(&mx->reloads[0]));
}

void nn_metrics_render(nn_metrics *mx, nn_buf *out)
{
    if (!mx)
        return;
    render_requests(mx, out);
    render_batches(mx, out);
    render_model(mx, out);
}
