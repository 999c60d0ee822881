/* batch.c: dynamic batching. Leader/follower, no thread of its own: the request threads
 * themselves run the passes. A request queues its rows; while fewer than `executors` passes
 * run, it becomes an executor at once and takes the queue from its head, whole requests up to
 * max_batch rows (its own among them, or older ones first: FIFO), and goes on with passes
 * until the queue is empty. A request that finds every executor busy leaves its rows queued
 * and is called back when they are done (nn_batcher_submit: the HTTP thread parks the
 * connection meanwhile and reads others; nn_batcher_run waits for the call). So a
 * lone request runs immediately, and under load the rows that queue while the passes run go
 * together into the next pass: one sgemm per layer for all of them. Each executor has its
 * own work slot (nn_work, and gather/scatter buffers), allocated once. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nn_clock.h"
#include "nn_metrics.h"
#include "nn_serve.h"

typedef struct job {
    const float *x; /* (n, D) */
    size_t n;
    float *out;     /* (n, K) */
    long *cls;      /* (n) or NULL */
    double queued;  /* nn_now() when queued */
    void (*back)(void *ctx); /* called when done, then the job is freed */
    void *ctx;
    struct job *next;
} job;

typedef struct {
    nn_work w;
    float *x;   /* (max_batch, D): the batch's rows gathered */
    float *out; /* (max_batch, K) */
    long *cls;  /* (max_batch) */
} slot;

struct nn_batcher {
    nn_batch_limits lim;
    int D, K;
    nn_batch_fn fn;
    void *ctx;
    pthread_mutex_t lock;
    pthread_cond_t moved; /* a job was queued (an executor waiting for rows may take it) */
    job *head, *tail;     /* the queue */
    size_t queued_rows;
    int n_free;
    slot *slots;
    slot **free_slots;    /* (executors) stack */
};

static void slot_free(slot *s)
{
    nn_work_free(&s->w);
    free(s->x);
    free(s->out);
    free(s->cls);
}

nn_batcher *nn_batcher_new(const nn_layout *lo, const nn_batch_limits *lim, nn_batch_fn fn,
                           void *ctx)
{
    nn_batcher *b = calloc(1, sizeof *b);
    if (!b)
        return NULL;
    b->lim = *lim;
    b->D = lo->sizes[0];
    b->K = lo->sizes[lo->n_layers];
    b->fn = fn;
    b->ctx = ctx;
    pthread_mutex_init(&b->lock, NULL);
    pthread_cond_init(&b->moved, NULL);
    int E = lim->executors;
    size_t B = (size_t)lim->max_batch;
    b->slots = calloc((size_t)E, sizeof *b->slots);
    b->free_slots = calloc((size_t)E, sizeof *b->free_slots);
    int fail = !b->slots || !b->free_slots;
    for (int i = 0; i < E && !fail; i++) {
        slot *s = &b->slots[i];
        /* the first slot probes BLAS for the plans, the others copy them */
        fail = nn_work_init_as(&s->w, lo, lim->max_batch, i ? &b->slots[0].w : NULL) != 0;
        s->x = malloc(B * (size_t)b->D * sizeof(float));
        s->out = malloc(B * (size_t)b->K * sizeof(float));
        s->cls = malloc(B * sizeof(long));
        fail = fail || !s->x || !s->out || !s->cls;
        b->free_slots[b->n_free++] = s;
    }
    if (fail) {
        nn_batcher_free(b);
        return NULL;
    }
    return b;
}

void nn_batcher_free(nn_batcher *b)
{
    if (!b)
        return;
    for (int i = 0; b->slots && i < b->lim.executors; i++)
        slot_free(&b->slots[i]);
    free(b->slots);
    free(b->free_slots);
    pthread_mutex_destroy(&b->lock);
    pthread_cond_destroy(&b->moved);
    free(b);
}

/* With the lock held: waits up to delay_us for rows still on their way, but only while the
 * batch is not full and some request body is being read (so a lone request never waits). */
static void wait_for_more(nn_batcher *b)
{
    if (b->lim.delay_us <= 0 || !b->lim.arriving)
        return;
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    long long ns = until.tv_nsec + b->lim.delay_us * 1000LL;
    until.tv_sec += (time_t)(ns / 1000000000LL);
    until.tv_nsec = (long)(ns % 1000000000LL);
    while (b->queued_rows < (size_t)b->lim.max_batch && atomic_load(b->lim.arriving) > 0)
        if (pthread_cond_timedwait(&b->moved, &b->lock, &until) == ETIMEDOUT)
            break;
}

/* With the lock held: takes whole jobs from the head, up to max_batch rows. */
static job *take(nn_batcher *b, size_t *rows, size_t *count, double now)
{
    job *first = b->head, *last = NULL;
    *rows = *count = 0;
    for (job *j = b->head; j && *rows + j->n <= (size_t)b->lim.max_batch; j = j->next) {
        *rows += j->n;
        (*count)++;
        if (b->lim.mx)
            nn_metrics_queued(b->lim.mx, now - j->queued);
        last = j;
    }
    b->head = last->next;
    if (!b->head)
        b->tail = NULL;
    last->next = NULL;
    b->queued_rows -= *rows;
    return first;
}

/* Without the lock: one pass over the jobs of list (rows in all). A single job runs in place;
 * several are gathered into the slot, run, and scattered back. */
static void run_pass(nn_batcher *b, slot *s, job *list, size_t rows)
{
    size_t D = (size_t)b->D, K = (size_t)b->K;
    if (!list->next) {
        b->fn(b->ctx, &s->w, list->x, rows, list->out, list->cls);
        return;
    }
    size_t at = 0;
    for (job *j = list; j; j = j->next) {
        memcpy(s->x + at * D, j->x, j->n * D * sizeof(float));
        at += j->n;
    }
    b->fn(b->ctx, &s->w, s->x, rows, s->out, s->cls);
    at = 0;
    for (job *j = list; j; j = j->next) {
        memcpy(j->out, s->out + at * K, j->n * K * sizeof(float));
        if (j->cls)
            memcpy(j->cls, s->cls + at, j->n * sizeof(long));
        at += j->n;
    }
}

/* With the lock held, a slot free and the queue not empty: one pass. Returns with the lock
 * held; in between, without it, the pass and the callbacks of the submitted jobs it ran. */
static void execute(nn_batcher *b)
{
    slot *s = b->free_slots[--b->n_free];
    wait_for_more(b);
    if (!b->head) { /* other executors took the rows while this one waited */
        b->free_slots[b->n_free++] = s;
        return;
    }
    size_t rows, count;
    job *list = take(b, &rows, &count, nn_now());
    pthread_mutex_unlock(&b->lock);
    run_pass(b, s, list, rows);
    if (b->lim.mx)
        nn_metrics_batch(b->lim.mx, rows, count);
    pthread_mutex_lock(&b->lock);
    b->free_slots[b->n_free++] = s;
    pthread_mutex_unlock(&b->lock);
    for (job *j = list, *next; j; j = next) {
        next = j->next;
        j->back(j->ctx);
        free(j);
    }
    pthread_mutex_lock(&b->lock);
}

/* With the lock held: queues j. */
static void enqueue(nn_batcher *b, job *j)
{
    if (b->tail)
        b->tail->next = j;
    else
        b->head = j;
    b->tail = j;
    b->queued_rows += j->n;
    pthread_cond_broadcast(&b->moved); /* an executor waiting for rows may take these */
}

int nn_batcher_queue(nn_batcher *b, const float *x, size_t n, float *out, long *cls,
                     void (*back)(void *ctx), void *ctx)
{
    job *j = malloc(sizeof *j);
    if (!j)
        return -1;
    *j = (job){x, n, out, cls, nn_now(), back, ctx, NULL};
    pthread_mutex_lock(&b->lock);
    enqueue(b, j);
    pthread_mutex_unlock(&b->lock);
    return 0;
}

void nn_batcher_flush(nn_batcher *b)
{
    pthread_mutex_lock(&b->lock);
    /* Passes while the queue has rows and a slot is free (every executor busy: one of them
     * takes these later); after a pass, only while no other executor is at work, which goes
     * on with the queue after its own pass: so this thread gets back to its connections. */
    while (b->head && b->n_free > 0) {
        execute(b);
        if (b->n_free < b->lim.executors)
            break;
    }
    pthread_mutex_unlock(&b->lock);
}

int nn_batcher_submit(nn_batcher *b, const float *x, size_t n, float *out, long *cls,
                      void (*back)(void *ctx), void *ctx)
{
    if (nn_batcher_queue(b, x, n, out, cls, back, ctx) != 0)
        return -1;
    nn_batcher_flush(b);
    return 0;
}

/* nn_batcher_run's side of the call back: its rows are done. */
typedef struct {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int done;
} waiter;

static void wake(void *ctx)
{
    waiter *w = ctx;
    pthread_mutex_lock(&w->lock);
    w->done = 1;
    pthread_cond_signal(&w->cond);
    pthread_mutex_unlock(&w->lock);
}

int nn_batcher_run(nn_batcher *b, const float *x, size_t n, float *out, long *cls)
{
    waiter w = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0};
    if (nn_batcher_submit(b, x, n, out, cls, wake, &w) != 0)
        return -1;
    pthread_mutex_lock(&w.lock);
    while (!w.done)
        pthread_cond_wait(&w.cond, &w.lock);
    pthread_mutex_unlock(&w.lock);
    pthread_mutex_destroy(&w.lock);
    pthread_cond_destroy(&w.cond);
    return 0;
}
