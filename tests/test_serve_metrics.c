/* test_serve_metrics.c: nn-serve's /metrics (src/nn-serve/metrics.c) against hand-computed
 * figures, rendered and read back by a strict reader of the text exposition format 0.0.4
 * (written here, and itself shown to reject broken text), with writers on several threads at
 * once and a reader rendering meanwhile.
 *
 * Known events (test_known_events), latency buckets le (inclusive) in seconds:
 *   infer 200 40us -> le 0.00005; infer 200 300us -> le 0.0005; infer 400 3ms -> le 0.005:
 *     cumulative 1 1 1 2 2 2 3 ... 3, +Inf 3, _sum 0.00334, _count 3
 *   predict 503 20s -> only +Inf: 0 ... 0, +Inf 1, _sum 20
 *   health 302 (folded into code "other") exactly 50us -> le 0.00005 (the bound is inclusive)
 *   other 499 1e300 s -> clamped to 1e6 s, +Inf, _sum 1000000
 *   batches (32 rows, 4 requests) (1, 1) (7, 2): rows 40, batches 3, batch_requests 7
 *   queue 1us, 150us, -1 s (-> 0), NaN (-> 0), 2 s: le 0.00001 3, ..., le 0.0001 3,
 *     le 0.0002 4, ..., le 1 4, +Inf 5; _sum 0.000001 + 0.00015 + 2 = 2.000151
 *   6 begins, 4 ends: in flight 2. */
#include <math.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "nn_metrics.h"

/* ---- a strict reader of the exposition format ----
 * Strict: the subset metrics.c writes (tokens one space apart, no timestamps), and every
 * family with HELP and TYPE before its samples. */

#define MAX_SAMPLES 512
#define MAX_FAMILIES 32

typedef struct {
    char series[200]; /* name{labels} as printed */
    char value[48];
} sample;
typedef struct {
    char name[96], type[16];
    int help;
} family;
typedef struct {
    sample s[MAX_SAMPLES];
    size_t n;
    family f[MAX_FAMILIES];
    size_t nf;
    char err[400];
} exposition;

static int bad(exposition *e, long line, const char *what, const char *text, size_t len)
{
    snprintf(e->err, sizeof e->err, "line %ld: %s: '%.*s'", line, what, (int)len, text);
    return -1;
}

static int is_name_char(char c, int first)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
           (!first && c >= '0' && c <= '9');
}

static size_t name_len(const char *p)
{
    size_t i = 0;
    while (is_name_char(p[i], i == 0))
        i++;
    return i;
}

static family *find_family(exposition *e, const char *name, size_t len)
{
    for (size_t i = 0; i < e->nf; i++)
        if (strlen(e->f[i].name) == len && strncmp(e->f[i].name, name, len) == 0)
            return &e->f[i];
    return NULL;
}

/* "# HELP name text" or "# TYPE name type"; a family's HELP and TYPE come before its samples
 * and only once. */
static int read_comment(exposition *e, const char *p, size_t len, long line)
{
    int help = strncmp(p, "# HELP ", 7) == 0;
    if (!help && strncmp(p, "# TYPE ", 7) != 0)
        return bad(e, line, "a comment that is neither HELP nor TYPE", p, len);
    size_t nl = name_len(p + 7);
    if (nl == 0 || 7 + nl >= len || p[7 + nl] != ' ')
        return bad(e, line, "expected a metric name and a space", p, len);
    family *f = find_family(e, p + 7, nl);
    if (!f) {
        if (e->nf == MAX_FAMILIES)
            return bad(e, line, "too many families", p, len);
        f = &e->f[e->nf++];
        snprintf(f->name, sizeof f->name, "%.*s", (int)nl, p + 7);
    } else if (f != &e->f[e->nf - 1] || (help ? f->help : f->type[0] != '\0')) {
        return bad(e, line, "a second HELP or TYPE, or one after other families", p, len);
    }
    const char *rest = p + 8 + nl;
    size_t rl = len - 8 - nl;
    if (help) {
        for (size_t i = 0; i < rl; i++)
            if (rest[i] == '\\' && (i + 1 == rl || (rest[i + 1] != '\\' && rest[i + 1] != 'n')))
                return bad(e, line, "HELP text with a bad escape", p, len);
        f->help = 1;
        return 0;
    }
    static const char *const types[] = {"counter", "gauge", "histogram", "summary", "untyped"};
    for (size_t i = 0; i < 5; i++)
        if (strlen(types[i]) == rl && strncmp(rest, types[i], rl) == 0) {
            snprintf(f->type, sizeof f->type, "%s", types[i]);
            return 0;
        }
    return bad(e, line, "an unknown TYPE", p, len);
}

/* {a="x",b="y"}: label names, quoted values with only \\ \" \n escapes. Returns the length
 * read, 0 when broken; *has_le when one label is le. */
static size_t read_labels(const char *p, size_t len, int *has_le)
{
    size_t i = 1;
    *has_le = 0;
    while (i < len && p[i] != '}') {
        size_t nl = name_len(p + i);
        if (nl == 0 || memchr(p + i, ':', nl)) /* label names have no colon */
            return 0;
        *has_le |= nl == 2 && strncmp(p + i, "le", 2) == 0;
        i += nl;
        if (i + 1 >= len || p[i] != '=' || p[i + 1] != '"')
            return 0;
        for (i += 2; i < len && p[i] != '"'; i++)
            if (p[i] == '\\' && (++i >= len || !strchr("\\\"n", p[i])))
                return 0;
        if (i >= len)
            return 0;
        i++;
        if (i < len && p[i] == ',')
            i++;
        else if (i < len && p[i] != '}')
            return 0;
    }
    return i < len && i > 1 ? i + 1 : 0;
}

static int is_number(const char *v)
{
    if (!strcmp(v, "NaN") || !strcmp(v, "+Inf") || !strcmp(v, "-Inf"))
        return 1;
    char *end;
    double d = strtod(v, &end);
    return *v && *v != ' ' && *end == '\0' && isfinite(d);
}

/* The family a sample belongs to: its name, or a histogram's name less _bucket, _sum or
 * _count. It must be the family last declared (TYPE first, families not interleaved). */
static int sample_family(exposition *e, const char *p, size_t nl, int has_le, long line)
{
    static const char *const sfx[] = {"_bucket", "_sum", "_count"};
    family *f = find_family(e, p, nl);
    int part = -1;
    for (int k = 0; !f && k < 3; k++) {
        size_t sl = strlen(sfx[k]);
        if (nl > sl && strncmp(p + nl - sl, sfx[k], sl) == 0 &&
            (f = find_family(e, p, nl - sl)) && strcmp(f->type, "histogram") == 0)
            part = k;
        else
            f = NULL;
    }
    if (!f || !f->type[0] || !f->help || f != &e->f[e->nf - 1])
        return bad(e, line, "a sample outside its family (HELP and TYPE first)", p, nl);
    if (!strcmp(f->type, "histogram") && (part < 0 || has_le != (part == 0)))
        return bad(e, line, "a histogram sample without le on _bucket (or with, elsewhere)", p, nl);
    if (!strcmp(f->type, "counter") && (nl < 6 || strncmp(p + nl - 6, "_total", 6) != 0))
        return bad(e, line, "a counter not named _total", p, nl);
    return 0;
}

/* name{labels} value */
static int read_sample(exposition *e, const char *p, size_t len, long line)
{
    size_t nl = name_len(p), at = nl;
    int has_le = 0;
    if (nl == 0)
        return bad(e, line, "expected a metric name", p, len);
    if (at < len && p[at] == '{') {
        size_t ll = read_labels(p + at, len - at, &has_le);
        if (ll == 0)
            return bad(e, line, "broken labels", p, len);
        at += ll;
    }
    if (at >= len || p[at] != ' ' || len - at - 1 >= sizeof e->s[0].value || e->n == MAX_SAMPLES)
        return bad(e, line, "expected one space and a value", p, len);
    sample *s = &e->s[e->n];
    snprintf(s->series, sizeof s->series, "%.*s", (int)at, p);
    snprintf(s->value, sizeof s->value, "%.*s", (int)(len - at - 1), p + at + 1);
    if (!is_number(s->value))
        return bad(e, line, "a value that is not a number", p, len);
    for (size_t i = 0; i < e->n; i++)
        if (strcmp(e->s[i].series, s->series) == 0)
            return bad(e, line, "a series printed twice", p, len);
    if (sample_family(e, p, nl, has_le, line))
        return -1;
    e->n++;
    return 0;
}

/* 0, or -1 with e->err naming the line and what is wrong with it. */
static int read_exposition(exposition *e, const char *text)
{
    memset(e, 0, sizeof *e);
    long line = 1;
    for (const char *p = text; *p; line++) {
        const char *nl = strchr(p, '\n');
        if (!nl)
            return bad(e, line, "a last line without its newline", p, strlen(p));
        size_t len = (size_t)(nl - p);
        if ((p[0] == '#' ? read_comment(e, p, len, line) : read_sample(e, p, len, line)) != 0)
            return -1;
        p = nl + 1;
    }
    return 0;
}

/* Every histogram: for each _count, its buckets (same labels plus le) in order with le
 * increasing, counts not decreasing, the last le "+Inf" with the _count's value, and a _sum. */
static int check_histograms(exposition *e)
{
    for (size_t i = 0; i < e->n; i++) {
        const char *c = strstr(e->s[i].series, "_count");
        if (!c || (c[6] != '\0' && c[6] != '{'))
            continue;
        size_t base = (size_t)(c - e->s[i].series);
        const char *labels = c[6] ? c + 7 : ""; /* `endpoint="infer"}` or "" */
        char prefix[256], sum[256];
        snprintf(prefix, sizeof prefix, "%.*s_bucket{%.*s%sle=\"", (int)base, e->s[i].series,
                 (int)(*labels ? strlen(labels) - 1 : 0), labels, *labels ? "," : "");
        snprintf(sum, sizeof sum, "%.*s_sum%s", (int)base, e->s[i].series, c + 6);
        double last_le = -1, last_n = -1, n = 0;
        int buckets = 0, inf = 0, has_sum = 0;
        for (size_t j = 0; j < e->n; j++) {
            has_sum |= strcmp(e->s[j].series, sum) == 0;
            if (strncmp(e->s[j].series, prefix, strlen(prefix)) != 0)
                continue;
            const char *le = e->s[j].series + strlen(prefix);
            double l = strncmp(le, "+Inf\"", 5) == 0 ? INFINITY : strtod(le, NULL);
            n = strtod(e->s[j].value, NULL);
            if (inf || l <= last_le || n < last_n)
                return bad(e, (long)j, "buckets out of order or not cumulative",
                           e->s[j].series, strlen(e->s[j].series));
            inf = isinf(l), last_le = l, last_n = n, buckets++;
        }
        if (!buckets || !inf || n != strtod(e->s[i].value, NULL) || !has_sum)
            return bad(e, (long)i, "a histogram without +Inf == _count, or without _sum",
                       e->s[i].series, strlen(e->s[i].series));
    }
    return 0;
}

/* ---- helpers of the cases ---- */

static exposition *render(nn_metrics *mx)
{
    nn_buf b = {0};
    nn_metrics_render(mx, &b);
    assert_false(b.oom);
    assert_non_null(b.s);
    exposition *e = malloc(sizeof *e);
    assert_non_null(e);
    if (read_exposition(e, b.s) != 0 || check_histograms(e) != 0)
        fail_msg("/metrics does not parse: %s", e->err);
    nn_buf_free(&b);
    return e;
}

static const char *value(const exposition *e, const char *series)
{
    for (size_t i = 0; i < e->n; i++)
        if (strcmp(e->s[i].series, series) == 0)
            return e->s[i].value;
    fail_msg("no series %s in /metrics", series);
    return NULL;
}

static void expect(const exposition *e, const char *series, const char *want)
{
    const char *got = value(e, series);
    if (strcmp(got, want) != 0)
        fail_msg("%s: got %s, expected %s", series, got, want);
}

/* A histogram's cumulative buckets, one expected count per le of les (NULL-terminated). */
static void expect_buckets(const exposition *e, const char *name, const char *labels,
                           const char *const *les, const char *const *counts)
{
    char series[256];
    for (size_t i = 0; les[i]; i++) {
        snprintf(series, sizeof series, "%s_bucket{%sle=\"%s\"}", name, labels, les[i]);
        expect(e, series, counts[i]);
    }
}

static const char *const request_les[] = {
    "0.00005", "0.0001", "0.0002", "0.0005", "0.001", "0.002", "0.005", "0.01", "0.02",
    "0.05",    "0.1",    "0.2",    "0.5",    "1",     "2",     "5",     "10",   "+Inf", NULL};
static const char *const queue_les[] = {
    "0.00001", "0.00002", "0.00005", "0.0001", "0.0002", "0.0005", "0.001", "0.002", "0.005",
    "0.01",    "0.02",    "0.05",    "0.1",    "0.2",    "0.5",    "1",     "+Inf",  NULL};

/* ---- the cases ---- */

static void test_families(void **state)
{
    (void)state;
    static const char *const fams[][2] = {
        {"nn_serve_requests_total", "counter"},
        {"nn_serve_request_duration_seconds", "histogram"},
        {"nn_serve_in_flight_requests", "gauge"},
        {"nn_serve_rows_total", "counter"},
        {"nn_serve_batches_total", "counter"},
        {"nn_serve_batch_requests_total", "counter"},
        {"nn_serve_queue_seconds", "histogram"},
        {"nn_serve_model_version", "gauge"},
        {"nn_serve_model_loaded_timestamp_seconds", "gauge"},
        {"nn_serve_model_load_seconds", "gauge"},
        {"nn_serve_reloads_total", "counter"}};
    nn_metrics *mx = nn_metrics_new();
    assert_non_null(mx);
    exposition *e = render(mx);
    assert_int_equal(e->nf, sizeof fams / sizeof fams[0]);
    for (size_t i = 0; i < e->nf; i++) {
        assert_string_equal(e->f[i].name, fams[i][0]);
        assert_string_equal(e->f[i].type, fams[i][1]);
        assert_true(e->f[i].help);
    }
    /* Every series of the fixed label sets, zeros included: 6 endpoints x 10 codes; 6
     * latency histograms of 17 bounds + Inf, _sum, _count; in flight; 3 batch counters; the
     * queue histogram (16 + 1 + 2); 3 model gauges; 2 reload results. */
    assert_int_equal(e->n, 60 + 6 * 20 + 1 + 3 + 19 + 3 + 2);
    for (size_t i = 0; i < e->n; i++)
        if (strcmp(e->s[i].value, "0") != 0)
            fail_msg("%s is %s in a fresh server, expected 0", e->s[i].series, e->s[i].value);
    expect_buckets(e, "nn_serve_request_duration_seconds", "endpoint=\"metrics\",", request_les,
                   (const char *const[]){"0", "0", "0", "0", "0", "0", "0", "0", "0", "0", "0",
                                         "0", "0", "0", "0", "0", "0", "0"});
    free(e);
    nn_metrics_free(mx);
}

static void known_events(nn_metrics *mx)
{
    for (int i = 0; i < 6; i++)
        nn_metrics_begin(mx);
    nn_metrics_end(mx, NN_EP_INFER, 200, 40e-6);
    nn_metrics_end(mx, NN_EP_INFER, 200, 300e-6);
    nn_metrics_end(mx, NN_EP_INFER, 400, 3e-3);
    nn_metrics_end(mx, NN_EP_PREDICT, 503, 20.0);
    nn_metrics_begin(mx);
    nn_metrics_end(mx, NN_EP_HEALTH, 302, 50e-6);
    nn_metrics_end(mx, NN_EP_OTHER, 499, 1e300);
    nn_metrics_batch(mx, 32, 4);
    nn_metrics_batch(mx, 1, 1);
    nn_metrics_batch(mx, 7, 2);
    nn_metrics_queued(mx, 1e-6);
    nn_metrics_queued(mx, 150e-6);
    nn_metrics_queued(mx, -1.0);
    nn_metrics_queued(mx, NAN);
    nn_metrics_queued(mx, 2.0);
    nn_metrics_model(mx, 1200, 1712345678.5, 0.25);
    nn_metrics_reload(mx, 1);
    nn_metrics_reload(mx, 0);
    nn_metrics_reload(mx, 1);
}

static void test_known_events(void **state)
{
    (void)state;
    nn_metrics *mx = nn_metrics_new();
    known_events(mx);
    exposition *e = render(mx);
    const char *rq = "nn_serve_request_duration_seconds";
    expect(e, "nn_serve_requests_total{endpoint=\"infer\",code=\"200\"}", "2");
    expect(e, "nn_serve_requests_total{endpoint=\"infer\",code=\"400\"}", "1");
    expect(e, "nn_serve_requests_total{endpoint=\"infer\",code=\"500\"}", "0");
    expect(e, "nn_serve_requests_total{endpoint=\"predict\",code=\"503\"}", "1");
    expect(e, "nn_serve_requests_total{endpoint=\"health\",code=\"other\"}", "1");
    expect(e, "nn_serve_requests_total{endpoint=\"other\",code=\"499\"}", "1");
    expect_buckets(e, rq, "endpoint=\"infer\",", request_les,
                   (const char *const[]){"1", "1", "1", "2", "2", "2", "3", "3", "3", "3", "3",
                                         "3", "3", "3", "3", "3", "3", "3"});
    expect(e, "nn_serve_request_duration_seconds_sum{endpoint=\"infer\"}", "0.00334");
    expect(e, "nn_serve_request_duration_seconds_count{endpoint=\"infer\"}", "3");
    expect(e, "nn_serve_request_duration_seconds_bucket{endpoint=\"predict\",le=\"10\"}", "0");
    expect(e, "nn_serve_request_duration_seconds_bucket{endpoint=\"predict\",le=\"+Inf\"}", "1");
    expect(e, "nn_serve_request_duration_seconds_sum{endpoint=\"predict\"}", "20");
    expect(e, "nn_serve_request_duration_seconds_bucket{endpoint=\"health\",le=\"0.00005\"}",
           "1");
    expect(e, "nn_serve_request_duration_seconds_sum{endpoint=\"health\"}", "0.00005");
    expect(e, "nn_serve_request_duration_seconds_sum{endpoint=\"other\"}", "1000000");
    expect(e, "nn_serve_in_flight_requests", "1");
    expect(e, "nn_serve_rows_total", "40");
    expect(e, "nn_serve_batches_total", "3");
    expect(e, "nn_serve_batch_requests_total", "7");
    expect_buckets(e, "nn_serve_queue_seconds", "", queue_les,
                   (const char *const[]){"3", "3", "3", "3", "4", "4", "4", "4", "4", "4", "4",
                                         "4", "4", "4", "4", "4", "5"});
    expect(e, "nn_serve_queue_seconds_sum", "2.000151");
    expect(e, "nn_serve_queue_seconds_count", "5");
    expect(e, "nn_serve_model_version", "1200");
    expect(e, "nn_serve_model_loaded_timestamp_seconds", "1712345678.5");
    expect(e, "nn_serve_model_load_seconds", "0.25");
    expect(e, "nn_serve_reloads_total{result=\"accepted\"}", "2");
    expect(e, "nn_serve_reloads_total{result=\"refused\"}", "1");
    free(e);
    nn_metrics_free(mx);
}

/* The exact text of a few lines, so a reader that accepted anything could not hide a change
 * of format (HELP, TYPE, label order, number spelling). */
static void test_exact_lines(void **state)
{
    (void)state;
    static const char *const lines[] = {
        "# TYPE nn_serve_requests_total counter\n",
        "\nnn_serve_requests_total{endpoint=\"infer\",code=\"200\"} 2\n",
        "\n# TYPE nn_serve_request_duration_seconds histogram\n",
        "\nnn_serve_request_duration_seconds_bucket{endpoint=\"infer\",le=\"0.0005\"} 2\n",
        "\nnn_serve_request_duration_seconds_bucket{endpoint=\"infer\",le=\"+Inf\"} 3\n",
        "\nnn_serve_request_duration_seconds_sum{endpoint=\"infer\"} 0.00334\n",
        "\nnn_serve_request_duration_seconds_count{endpoint=\"infer\"} 3\n",
        "\n# HELP nn_serve_rows_total Rows run through the model.\n",
        "\n# TYPE nn_serve_queue_seconds histogram\n",
        "\nnn_serve_queue_seconds_bucket{le=\"0.00001\"} 3\n",
        "\n# TYPE nn_serve_model_version gauge\nnn_serve_model_version 1200\n",
        "\nnn_serve_reloads_total{result=\"refused\"} 1\n"};
    nn_metrics *mx = nn_metrics_new();
    known_events(mx);
    nn_buf b = {0};
    nn_metrics_render(mx, &b);
    assert_non_null(b.s);
    assert_memory_equal(b.s, "# HELP nn_serve_requests_total ", 31);
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++)
        if (!strstr(b.s, lines[i]))
            fail_msg("/metrics lacks the line '%s'", lines[i]);
    nn_buf_free(&b);
    nn_metrics_free(mx);
}

/* The model's gauges: the fewest digits that read back exactly, NaN and Inf as the format
 * spells them (printf would say "nan", which Prometheus refuses). */
static void test_model_gauges(void **state)
{
    (void)state;
    nn_metrics *mx = nn_metrics_new();
    nn_metrics_model(mx, -1, NAN, INFINITY);
    exposition *e = render(mx);
    expect(e, "nn_serve_model_version", "-1");
    expect(e, "nn_serve_model_loaded_timestamp_seconds", "NaN");
    expect(e, "nn_serve_model_load_seconds", "+Inf");
    free(e);
    nn_metrics_model(mx, 7, 0.1 + 0.2, 0.1); /* 0.30000000000000004; 0.1 (%.17g: ...0001) */
    e = render(mx);
    expect(e, "nn_serve_model_version", "7");
    expect(e, "nn_serve_model_loaded_timestamp_seconds", "0.30000000000000004");
    expect(e, "nn_serve_model_load_seconds", "0.1");
    free(e);
    nn_metrics_free(mx);
}

static void test_names_and_codes(void **state)
{
    (void)state;
    static const char *const names[NN_EP_COUNT] = {"infer",  "predict", "metadata",
                                                   "health", "metrics", "other"};
    for (int i = 0; i < NN_EP_COUNT; i++)
        assert_string_equal(nn_endpoint_name((nn_endpoint)i), names[i]);
    assert_string_equal(nn_endpoint_name(NN_EP_COUNT), "other");
    assert_string_equal(nn_endpoint_name((nn_endpoint)-1), "other");
    nn_metrics *mx = nn_metrics_new();
    static const int answered[] = {200, 400, 401, 404, 405, 413, 499, 500, 503};
    for (size_t i = 0; i < sizeof answered / sizeof answered[0]; i++)
        for (size_t k = 0; k <= i; k++) /* code i counted i + 1 times */
            nn_metrics_end(mx, NN_EP_METADATA, answered[i], 0.0);
    static const int folded[] = {0, -1, 100, 201, 302, 418, 502, 600};
    for (size_t i = 0; i < sizeof folded / sizeof folded[0]; i++)
        nn_metrics_end(mx, NN_EP_METADATA, folded[i], 0.0);
    nn_metrics_end(mx, NN_EP_COUNT, 200, 0.0); /* out of range: endpoint "other" */
    exposition *e = render(mx);
    char series[128], want[8];
    for (size_t i = 0; i < sizeof answered / sizeof answered[0]; i++) {
        snprintf(series, sizeof series,
                 "nn_serve_requests_total{endpoint=\"metadata\",code=\"%d\"}", answered[i]);
        snprintf(want, sizeof want, "%zu", i + 1);
        expect(e, series, want);
    }
    expect(e, "nn_serve_requests_total{endpoint=\"metadata\",code=\"other\"}", "8");
    expect(e, "nn_serve_requests_total{endpoint=\"other\",code=\"200\"}", "1");
    /* 1 + 2 + ... + 9 + 8 at 0 s: all in the first bucket. */
    expect(e, "nn_serve_request_duration_seconds_bucket{endpoint=\"metadata\",le=\"0.00005\"}",
           "53");
    expect(e, "nn_serve_request_duration_seconds_sum{endpoint=\"metadata\"}", "0");
    expect(e, "nn_serve_in_flight_requests", "-54"); /* ends without begins: counted as is */
    free(e);
    nn_metrics_free(mx);
}

/* ---- many threads at once ---- */

/* Enough events, started together, that the writers overlap on two cores: a plain
 * load-add-store in place of an atomic add loses updates here. */
#define WRITERS 4
#define EVENTS 200000

typedef struct {
    nn_metrics *mx;
    int id;
    pthread_barrier_t *start;
} writer_arg;

static void *writer(void *p)
{
    writer_arg *a = p;
    pthread_barrier_wait(a->start);
    for (int i = 0; i < EVENTS; i++) {
        nn_metrics_begin(a->mx);
        nn_metrics_queued(a->mx, 30e-6);
        nn_metrics_batch(a->mx, 3, 2);
        nn_metrics_end(a->mx, (i + a->id) % 2 ? NN_EP_INFER : NN_EP_PREDICT, 200, 1e-3);
    }
    return NULL;
}

/* Renders until the writers are done: every answer must parse and keep +Inf == _count. No
 * cmocka assertion here (they jump, which only the main thread may); the first error is kept
 * for the main thread to report. */
typedef struct {
    nn_metrics *mx;
    atomic_int done;
    int renders;
    char err[448];
    exposition e;
} reader_arg;

static void *reader(void *p)
{
    reader_arg *a = p;
    do {
        nn_buf b = {0};
        nn_metrics_render(a->mx, &b);
        if (b.oom || !b.s || read_exposition(&a->e, b.s) != 0 || check_histograms(&a->e) != 0)
            snprintf(a->err, sizeof a->err, "render %d: %s", a->renders,
                     b.s && !b.oom ? a->e.err : "out of memory");
        nn_buf_free(&b);
        a->renders++;
    } while (!a->err[0] && !atomic_load(&a->done));
    return NULL;
}

static void test_threads(void **state)
{
    (void)state;
    nn_metrics *mx = nn_metrics_new();
    pthread_t w[WRITERS], r;
    writer_arg wa[WRITERS];
    pthread_barrier_t start;
    assert_int_equal(pthread_barrier_init(&start, NULL, WRITERS), 0);
    reader_arg *ra = calloc(1, sizeof *ra);
    assert_non_null(ra);
    ra->mx = mx;
    assert_int_equal(pthread_create(&r, NULL, reader, ra), 0);
    for (int i = 0; i < WRITERS; i++) {
        wa[i] = (writer_arg){mx, i, &start};
        assert_int_equal(pthread_create(&w[i], NULL, writer, &wa[i]), 0);
    }
    for (int i = 0; i < WRITERS; i++)
        pthread_join(w[i], NULL);
    pthread_barrier_destroy(&start);
    atomic_store(&ra->done, 1);
    pthread_join(r, NULL);
    if (ra->err[0])
        fail_msg("/metrics rendered while writers ran does not parse: %s", ra->err);
    assert_true(ra->renders >= 1);
    free(ra);
    exposition *e = render(mx);
    /* 4 writers x 200000, every other one on infer, the rest on predict; 1 ms each, summed
     * exactly. */
    expect(e, "nn_serve_requests_total{endpoint=\"infer\",code=\"200\"}", "400000");
    expect(e, "nn_serve_requests_total{endpoint=\"predict\",code=\"200\"}", "400000");
    expect(e, "nn_serve_request_duration_seconds_bucket{endpoint=\"infer\",le=\"0.0005\"}", "0");
    expect(e, "nn_serve_request_duration_seconds_bucket{endpoint=\"infer\",le=\"0.001\"}",
           "400000");
    expect(e, "nn_serve_request_duration_seconds_sum{endpoint=\"infer\"}", "400");
    expect(e, "nn_serve_request_duration_seconds_count{endpoint=\"predict\"}", "400000");
    expect(e, "nn_serve_in_flight_requests", "0");
    expect(e, "nn_serve_rows_total", "2400000");
    expect(e, "nn_serve_batches_total", "800000");
    expect(e, "nn_serve_batch_requests_total", "1600000");
    expect(e, "nn_serve_queue_seconds_bucket{le=\"0.00002\"}", "0");
    expect(e, "nn_serve_queue_seconds_bucket{le=\"0.00005\"}", "800000");
    expect(e, "nn_serve_queue_seconds_sum", "24");
    free(e);
    nn_metrics_free(mx);
}

static void test_null(void **state)
{
    (void)state;
    nn_metrics_begin(NULL);
    nn_metrics_end(NULL, NN_EP_INFER, 200, 1.0);
    nn_metrics_batch(NULL, 1, 1);
    nn_metrics_queued(NULL, 1.0);
    nn_metrics_model(NULL, 1, 1.0, 1.0);
    nn_metrics_reload(NULL, 1);
    nn_buf b = {0};
    nn_metrics_render(NULL, &b);
    assert_int_equal(b.len, 0);
    nn_metrics_free(NULL);
}

/* The reader above rejects broken text, so its verdict on /metrics means something. */
static void test_reader_rejects(void **state)
{
    (void)state;
    static const char *const head = "# HELP a_total A.\n# TYPE a_total counter\n";
    static const char *const broken[] = {
        "a_total 1\n",                                       /* no HELP/TYPE */
        "# HELP a_total A.\n# TYPE a_total counter\na_total 1", /* no last newline */
        "%sa_total{x=\"1} 1\n",                              /* unterminated value */
        "%sa_total{x=\"\\q\"} 1\n",                          /* bad escape */
        "%sa_total{=\"1\"} 1\n",                             /* no label name */
        "%sa_total{x=\"1\"y=\"2\"} 1\n",                     /* no comma */
        "%sa_total 1.2.3\n",                                 /* not a number */
        "%sa_total\n",                                       /* no value */
        "%sa_total 1 x\n",                                   /* junk after the value */
        "%sa_total 1\na_total 2\n",                          /* twice */
        "%s# TYPE a_total gauge\n",                          /* TYPE twice */
        "# HELP b B.\n# TYPE b counter\nb 1\n",              /* counter without _total */
        "# HELP h H.\n# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 1\n"
        "h_sum 1\nh_count 1\n",                              /* not cumulative */
        "# HELP h H.\n# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_bucket{le=\"+Inf\"} 2\n"
        "h_sum 1\nh_count 3\n",                              /* +Inf != _count */
        "# HELP h H.\n# TYPE h histogram\nh_bucket{le=\"+Inf\"} 1\nh_count 1\n", /* no _sum */
    };
    exposition *e = malloc(sizeof *e);
    assert_non_null(e);
    char text[512];
    for (size_t i = 0; i < sizeof broken / sizeof broken[0]; i++) {
        snprintf(text, sizeof text, broken[i], head);
        if (read_exposition(e, text) == 0 && check_histograms(e) == 0)
            fail_msg("the reader accepted broken case %zu:\n%s", i, text);
    }
    snprintf(text, sizeof text, "%sa_total{x=\"q\\\"\\\\\\n\"} 1\n", head);
    if (read_exposition(e, text) != 0)
        fail_msg("the reader refused escaped label values: %s", e->err);
    free(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reader_rejects), cmocka_unit_test(test_families),
        cmocka_unit_test(test_known_events),   cmocka_unit_test(test_exact_lines),
        cmocka_unit_test(test_names_and_codes), cmocka_unit_test(test_threads),
        cmocka_unit_test(test_model_gauges),    cmocka_unit_test(test_null),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
