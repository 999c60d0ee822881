/* test_serve_batch.c: nn-serve's dynamic batcher (src/nn-serve/batch.c). Answers go back to
 * the request that asked, whatever batch they rode in; rows queued behind a running pass go
 * together into the next; a pass waits for rows on their way only while some are, and a lone
 * request never waits (the test would hang until ctest's timeout if it did). Submitted rows
 * (nn_batcher_submit, what the HTTP side uses) are called back exactly once each, at once when
 * a slot is free, else by the executor that drains the queue; queued rows (nn_batcher_queue)
 * wait for nn_batcher_flush and then ride together. */
#include <math.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "nn_model.h"
#include "nn_rng.h"
#include "nn_serve.h"

#define D 6
#define K 3

/* A stand-in pass that records its batch sizes: out[i][k] = sum(x[i]) * (k + 1), cls = row's
 * first value rounded. The gate, when set, holds the first pass until released. */
typedef struct {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    size_t sizes[4096];
    int n_passes;
    int gate_closed, in_pass;
} recorder;

static void record(void *ctx, nn_work *w, const float *x, size_t n, float *out, long *cls)
{
    recorder *r = ctx;
    (void)w;
    pthread_mutex_lock(&r->lock);
    r->sizes[r->n_passes++] = n;
    r->in_pass = 1;
    pthread_cond_broadcast(&r->cond);
    while (r->gate_closed)
        pthread_cond_wait(&r->cond, &r->lock);
    r->in_pass = 0;
    pthread_mutex_unlock(&r->lock);
    for (size_t i = 0; i < n; i++) {
        float s = 0;
        for (int j = 0; j < D; j++)
            s += x[i * D + j];
        for (int k = 0; k < K; k++)
            out[i * K + k] = s * (float)(k + 1);
        cls[i] = lroundf(x[i * D]);
    }
}

static nn_layout layout(void)
{
    nn_layout lo;
    int sizes[] = {D, 8, K};
    char err[128];
    assert_int_equal(nn_layout_init(&lo, sizes, 2, NN_ACT_RELU, NN_LOSS_XENT, err, sizeof err), 0);
    return lo;
}

/* A batcher over the test layout whose passes go to the recorder r. */
static nn_batcher *recording(recorder *r, nn_batch_limits lim)
{
    nn_layout lo = layout();
    nn_batcher *b = nn_batcher_new(&lo, &lim, record, r);
    assert_non_null(b);
    return b;
}

typedef struct {
    nn_batcher *b;
    int id;
    size_t n;
    float x[16 * D], out[16 * K];
    long cls[16];
    int ok;
} client;

static void *ask(void *arg)
{
    client *c = arg;
    for (size_t i = 0; i < c->n; i++)
        for (int j = 0; j < D; j++)
            c->x[i * D + j] = j == 0 ? (float)(c->id * 100 + (int)i) : 0.5f * (float)j;
    c->ok = nn_batcher_run(c->b, c->x, c->n, c->out, c->cls) == 0;
    for (size_t i = 0; i < c->n; i++) {
        float s = (float)(c->id * 100 + (int)i) + 0.5f * (1 + 2 + 3 + 4 + 5);
        for (int k = 0; k < K; k++)
            c->ok &= c->out[i * K + k] == s * (float)(k + 1);
        c->ok &= c->cls[i] == c->id * 100 + (long)i;
    }
    return NULL;
}

/* 64 clients of 1..16 rows through one executor: every answer is its own, the passes hold
 * whole requests up to max_batch rows, and some passes carry several requests. */
static void test_answers_routed(void **state)
{
    (void)state;
    recorder r = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, {0}, 0, 1, 0};
    nn_batcher *b = recording(&r, (nn_batch_limits){32, 1, 0, NULL, NULL});
    enum { N = 64 };
    static client c[N];
    pthread_t t[N];
    size_t rows = 0;
    for (int i = 0; i < N; i++) {
        c[i] = (client){.b = b, .id = i, .n = (size_t)(1 + (i * 7) % 16)};
        rows += c[i].n;
        assert_int_equal(pthread_create(&t[i], NULL, ask, &c[i]), 0);
        if (i == 0) { /* hold the first pass, so that the others queue behind it */
            pthread_mutex_lock(&r.lock);
            while (!r.in_pass)
                pthread_cond_wait(&r.cond, &r.lock);
            pthread_mutex_unlock(&r.lock);
        }
    }
    pthread_mutex_lock(&r.lock);
    r.gate_closed = 0;
    pthread_cond_broadcast(&r.cond);
    pthread_mutex_unlock(&r.lock);
    for (int i = 0; i < N; i++) {
        pthread_join(t[i], NULL);
        assert_true(c[i].ok);
    }
    size_t total = 0, most = 0;
    for (int p = 0; p < r.n_passes; p++) {
        assert_true(r.sizes[p] >= 1 && r.sizes[p] <= 32);
        total += r.sizes[p];
        most = r.sizes[p] > most ? r.sizes[p] : most;
    }
    assert_int_equal(total, rows);
    assert_true(r.n_passes < N); /* rows rode together */
    assert_true(most > 16);      /* more than any one request holds */
    nn_batcher_free(b);
}

/* A lone request with a huge delay and nothing on its way runs at once. */
static void test_lone_request_not_delayed(void **state)
{
    (void)state;
    recorder r = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, {0}, 0, 0, 0};
    atomic_long arriving;
    atomic_init(&arriving, 0);
    nn_batcher *b = recording(&r, (nn_batch_limits){32, 1, 3600L * 1000000L, &arriving, NULL});
    client c = {.b = b, .id = 3, .n = 2};
    ask(&c);
    assert_true(c.ok);
    assert_int_equal(r.n_passes, 1);
    nn_batcher_free(b);
}

/* With a body on its way, a pass that is not full waits for it (up to the delay, here an
 * hour): the next request's rows join the same pass. */
static void test_waits_for_arriving_rows(void **state)
{
    (void)state;
    recorder r = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, {0}, 0, 0, 0};
    atomic_long arriving;
    atomic_init(&arriving, 1);
    nn_batcher *b = recording(&r, (nn_batch_limits){4, 1, 3600L * 1000000L, &arriving, NULL});
    client c1 = {.b = b, .id = 1, .n = 1}, c2 = {.b = b, .id = 2, .n = 3};
    pthread_t t1, t2;
    pthread_create(&t1, NULL, ask, &c1);
    pthread_create(&t2, NULL, ask, &c2); /* 1 + 3 rows fill the batch of 4 */
    pthread_join(t1, NULL);
    pthread_join(t2, NULL);
    assert_true(c1.ok && c2.ok);
    assert_int_equal(r.n_passes, 1);
    assert_int_equal(r.sizes[0], 4);
    nn_batcher_free(b);
}

/* The real pass: rows answered in a batch of many equal the rows answered alone, to 1e-6
 * relative (sgemm may round a row differently by its place in the batch). */
typedef struct {
    nn_layout lo;
    float *p;
} real_model;

static void forward(void *ctx, nn_work *w, const float *x, size_t n, float *out, long *cls)
{
    real_model *m = ctx;
    nn_forward(&m->lo, m->p, w, x, (int)n);
    for (size_t i = 0; i < n; i++)
        cls[i] = nn_softmax_row(w->act[m->lo.n_layers] + i * K, K, out + i * K);
}

static void test_batched_equals_alone(void **state)
{
    (void)state;
    real_model m = {layout(), NULL};
    nn_rng rng;
    nn_rng_seed(&rng, 7, 0);
    m.p = malloc(m.lo.n_params * sizeof(float));
    nn_params_init(&m.lo, m.p, 7);
    enum { R = 100 };
    float x[R * D], alone[R * K], batched[R * K];
    long ca[R], cb[R];
    for (int i = 0; i < R * D; i++)
        x[i] = (float)(4.0 * nn_rng_uniform(&rng) - 2.0);
    nn_batch_limits lim = {R, 1, 0, NULL, NULL};
    nn_batcher *b = nn_batcher_new(&m.lo, &lim, forward, &m);
    for (int i = 0; i < R; i++)
        assert_int_equal(nn_batcher_run(b, x + i * D, 1, alone + i * K, ca + i), 0);
    assert_int_equal(nn_batcher_run(b, x, R, batched, cb), 0);
    for (int i = 0; i < R * K; i++)
        assert_true(fabsf(batched[i] - alone[i]) <= 1e-6f * fabsf(alone[i]) + 1e-12f);
    for (int i = 0; i < R; i++)
        assert_int_equal(ca[i], cb[i]);
    nn_batcher_free(b);
    free(m.p);
}

/* nn_batcher_submit: with the only executor held in a pass, 40 submitted requests queue and
 * the call returns at once; when the pass ends, that executor drains the queue and calls each
 * back exactly once, with its own answers. A submit that finds the slot free is called back
 * before it returns. */
typedef struct {
    float x[4 * D], out[4 * K];
    long cls[4];
    size_t n;
    int calls;
    pthread_t by;
} sub;

static pthread_mutex_t back_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t back_cond = PTHREAD_COND_INITIALIZER;
static int backs;

static void called_back(void *ctx)
{
    sub *u = ctx;
    pthread_mutex_lock(&back_lock);
    u->calls++;
    u->by = pthread_self();
    backs++;
    pthread_cond_broadcast(&back_cond);
    pthread_mutex_unlock(&back_lock);
}

typedef struct {
    nn_batcher *b;
    sub *u;
} first_arg;

static void *submit_first(void *arg)
{
    first_arg *a = arg;
    assert_int_equal(nn_batcher_submit(a->b, a->u->x, a->u->n, a->u->out, a->u->cls,
                                       called_back, a->u), 0);
    return NULL;
}

static void fill(sub *u, int id)
{
    u->n = (size_t)(1 + id % 4);
    for (size_t i = 0; i < u->n; i++)
        for (int j = 0; j < D; j++)
            u->x[i * D + j] = j == 0 ? (float)(id * 10 + (int)i) : 0.25f * (float)j;
}

static void check_answers(const sub *u, int id)
{
    for (size_t i = 0; i < u->n; i++) {
        float s = (float)(id * 10 + (int)i) + 0.25f * (1 + 2 + 3 + 4 + 5);
        for (int k = 0; k < K; k++)
            assert_true(u->out[i * K + k] == s * (float)(k + 1));
        assert_int_equal(u->cls[i], id * 10 + (long)i);
    }
}

static void test_submit_called_back(void **state)
{
    (void)state;
    recorder r = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, {0}, 0, 1, 0};
    nn_batcher *b = recording(&r, (nn_batch_limits){16, 1, 0, NULL, NULL});
    enum { N = 40 };
    static sub u[N + 1];
    memset(u, 0, sizeof u);
    backs = 0;
    for (int i = 0; i <= N; i++)
        fill(&u[i], i);
    pthread_t t;
    first_arg a = {b, &u[0]};
    assert_int_equal(pthread_create(&t, NULL, submit_first, &a), 0);
    pthread_mutex_lock(&r.lock); /* the first pass holds the only slot */
    while (!r.in_pass)
        pthread_cond_wait(&r.cond, &r.lock);
    pthread_mutex_unlock(&r.lock);
    for (int i = 1; i <= N; i++) /* queued: each returns without running or calling back */
        assert_int_equal(nn_batcher_submit(b, u[i].x, u[i].n, u[i].out, u[i].cls, called_back,
                                           &u[i]), 0);
    pthread_mutex_lock(&back_lock);
    assert_int_equal(backs, 0);
    pthread_mutex_unlock(&back_lock);
    pthread_mutex_lock(&r.lock);
    r.gate_closed = 0;
    pthread_cond_broadcast(&r.cond);
    pthread_mutex_unlock(&r.lock);
    pthread_mutex_lock(&back_lock);
    while (backs < N + 1)
        pthread_cond_wait(&back_cond, &back_lock);
    pthread_mutex_unlock(&back_lock);
    pthread_join(t, NULL);
    for (int i = 0; i <= N; i++) {
        assert_int_equal(u[i].calls, 1);
        assert_true(pthread_equal(u[i].by, t)); /* the executor drained the queue */
        check_answers(&u[i], i);
    }
    assert_true(r.n_passes < N + 1); /* the queued requests rode together */
    /* the slot is free now: called back before nn_batcher_submit returns, on this thread */
    sub lone = {0};
    fill(&lone, 7);
    assert_int_equal(nn_batcher_submit(b, lone.x, lone.n, lone.out, lone.cls, called_back,
                                       &lone), 0);
    assert_int_equal(lone.calls, 1);
    assert_true(pthread_equal(lone.by, pthread_self()));
    check_answers(&lone, 7);
    nn_batcher_free(b);
}

/* nn_batcher_queue then nn_batcher_flush (an HTTP worker's round): queued rows are not run
 * until the flush, which runs them on this thread in as few passes as max_batch allows (10
 * requests of 1-4 rows, 23 rows, max_batch 16: two passes), each called back once with its own
 * answers. A flush with nothing queued runs nothing. */
static void test_queue_then_flush(void **state)
{
    (void)state;
    recorder r = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, {0}, 0, 0, 0};
    nn_batcher *b = recording(&r, (nn_batch_limits){16, 2, 0, NULL, NULL});
    enum { N = 10 };
    static sub u[N];
    memset(u, 0, sizeof u);
    backs = 0;
    size_t rows = 0;
    for (int i = 0; i < N; i++) {
        fill(&u[i], i);
        rows += u[i].n;
        assert_int_equal(nn_batcher_queue(b, u[i].x, u[i].n, u[i].out, u[i].cls, called_back,
                                          &u[i]), 0);
    }
    assert_int_equal(rows, 23);
    assert_int_equal(backs, 0);
    assert_int_equal(r.n_passes, 0);
    nn_batcher_flush(b);
    assert_int_equal(backs, N);
    assert_int_equal(r.n_passes, 2);
    assert_int_equal(r.sizes[0] + r.sizes[1], rows);
    assert_true(r.sizes[0] <= 16 && r.sizes[1] <= 16);
    for (int i = 0; i < N; i++) {
        assert_int_equal(u[i].calls, 1);
        assert_true(pthread_equal(u[i].by, pthread_self()));
        check_answers(&u[i], i);
    }
    nn_batcher_flush(b);
    assert_int_equal(r.n_passes, 2);
    nn_batcher_free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_answers_routed),
        cmocka_unit_test(test_lone_request_not_delayed),
        cmocka_unit_test(test_waits_for_arriving_rows),
        cmocka_unit_test(test_batched_equals_alone),
        cmocka_unit_test(test_submit_called_back),
        cmocka_unit_test(test_queue_then_flush),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
