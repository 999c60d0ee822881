/* http.c: the HTTP edge (libmicrohttpd, epoll). One acceptor thread takes the connections and
 * hands each to the worker that has the fewest open: libmicrohttpd's own thread pool lets
 * whichever worker wakes first accept up to ten at once, and 16 connections opened together
 * could all land on one worker, which then served them on one core while the other idled.
 * Each worker is one libmicrohttpd daemon whose event loop the worker's own thread runs in
 * rounds (work()): a round reads every connection that is ready, and the inference requests
 * among them only queue their rows; after the round the worker runs the queued rows in one
 * pass (one sgemm per layer for all of them, up to --max-batch rows) and their connections
 * are answered in the next round. A request's body is gathered up to --max-body, then route()
 * picks the endpoint on the model of the moment (a reference held until the answer is
 * queued); the protocols' parsing and answers are request.c's and answer.c's, the model's work
 * model.c's and batch.c's. Every request is counted in the metrics. On stop: no new
 * connections (the acceptor stops and the listening socket closes), the requests begun finish
 * (answers then carry "Connection: close"), then the workers and their daemons stop and close
 * the idle connections. */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "nn_args.h"
#include "nn_clock.h"
#include "nn_metrics.h"
#include "nn_serve.h"

typedef struct nn_server nn_server;

/* A connection accepted and not yet given to its worker's daemon. */
typedef struct handed {
    int fd;
    socklen_t len;
    struct sockaddr_storage sa;
    struct handed *next;
} handed;

enum { HELD_MAX = 4 }; /* models one round of a worker queued rows on (2 during a reload) */

/* One worker: a daemon, the thread that runs it, and its count of open connections (the
 * acceptor's choice). */
typedef struct {
    struct MHD_Daemon *d;
    nn_server *s;
    atomic_int open;
    atomic_int quit;
    pthread_t thread;
    int started;
    int efd;                   /* eventfd: connections handed over, or quit */
    pthread_mutex_t lock;      /* the hand-over list */
    handed *inbox;
    nn_serve_model *held[HELD_MAX]; /* models with rows queued in this round, a reference each */
    int n_held;
} worker;

struct nn_server {
    worker *w;             /* n_w workers */
    int n_w;
    int lfd;               /* the listening socket */
    long max_conn;         /* open connections at once, over all workers */
    pthread_t acceptor;
    nn_registry *g;
    nn_metrics *mx;
    atomic_long *arriving; /* bodies being read: the batcher may wait for them */
    const char *key;       /* NULL: no key */
    size_t max_body;
    int quiet;
    pthread_mutex_t lock;  /* the log, and the count below */
    pthread_cond_t idle;
    long busy;             /* requests begun and not yet completed */
    int stopping;
};

/* An inference whose rows are in the batcher: what its answer needs, kept while the
 * connection is parked (suspended) and the thread reads other requests. */
typedef struct {
    nn_serve_model *m; /* held until the answer is queued */
    nn_serve_req q;
    float *out;
    long *cls;
    int tf;
    pthread_mutex_t lock; /* done and parked: the rows' callback and the request's thread */
    int done;             /* the rows are back */
    int parked;           /* the connection is suspended, waiting for them */
    struct MHD_Connection *conn;
    worker *w;            /* the worker whose daemon has conn */
} pending;

typedef struct {
    nn_buf body;
    int too_big;
    int arriving; /* counted in *arriving until its body is parsed */
    int answered; /* nn_metrics_end called */
    double t0;
    pending *p;   /* an inference in the batcher, or NULL */
    worker *w;    /* the worker whose daemon has the connection */
} conn_state;

typedef struct {
    int status;
    nn_buf out;          /* the body; empty for health */
    const char *allow;   /* for 405 */
    const char *type;    /* Content-Type when not JSON */
    size_t json_len;     /* binary answers: the JSON part's length */
    nn_endpoint ep;
} reply;

static int fail(reply *r, int status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(reply *r, int status, const char *fmt, ...)
{
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    r->status = status;
    nn_serve_error_json(&r->out, msg);
    return status;
}

static int method_is(reply *r, const char *method, const char *want)
{
    if (strcmp(method, want) == 0)
        return 1;
    r->allow = want;
    fail(r, 405, "method %.16s is not allowed here; expected %s", method, want);
    return 0;
}

/* The body has been read and parsed: the batcher no longer waits for it. */
static void arrived(nn_server *s, conn_state *c)
{
    if (c->arriving) {
        c->arriving = 0;
        atomic_fetch_sub(s->arriving, 1);
    }
}

static void pending_free(pending *p)
{
    if (!p)
        return;
    nn_serve_req_free(&p->q);
    free(p->out);
    free(p->cls);
    nn_serve_model_release(p->m);
    pthread_mutex_destroy(&p->lock);
    free(p);
}

/* Wakes worker w's thread (new connections, a connection resumed by another thread, or quit).
 * A resume alone signals libmicrohttpd's own channel, which the worker's round may have read
 * and cleared after it looked for resumed connections: it would then sleep on the resumed one. */
static void wake(worker *w)
{
    uint64_t one = 1;
    if (write(w->efd, &one, sizeof one) < 0) { /* cannot fail: the counter is far from full */
    }
}

/* The batcher's callback: the rows are back. Resumes the connection if it is parked; after
 * the unlock, p may be answered and freed by the request's thread at any moment. */
static void rows_back(void *ctx)
{
    pending *p = ctx;
    pthread_mutex_lock(&p->lock);
    p->done = 1;
    int parked = p->parked;
    struct MHD_Connection *conn = p->conn;
    worker *w = p->w;
    pthread_mutex_unlock(&p->lock);
    if (parked) { /* it stays suspended until this call: conn is valid */
        MHD_resume_connection(conn);
        if (!pthread_equal(pthread_self(), w->thread))
            wake(w);
    }
}

/* The answer of an inference whose rows are back. */
static void infer_answer(reply *r, pending *p)
{
    r->status = 200;
    if (p->tf)
        nn_serve_answer_tf(&r->out, p->m, p->q.n, p->out, p->cls);
    else
        nn_serve_answer_v2(&r->out, p->m, &p->q, p->out, p->cls, &r->json_len);
}

/* The worker queues rows on m in this round: it runs them (nn_batcher_flush) once the round
 * has read every connection that is ready, so that their rows ride in one pass. -1: no room
 * to note m (more reloads in one round than expected); the rows are then run at once. */
static int hold(worker *w, nn_serve_model *m)
{
    for (int i = 0; i < w->n_held; i++)
        if (w->held[i] == m)
            return 0;
    if (w->n_held == HELD_MAX)
        return -1;
    w->held[w->n_held++] = nn_serve_model_ref(m);
    return 0;
}

/* POST .../infer or :predict: parse, then hand the rows to the batcher. Either the answer
 * (or an error) is in r, or the connection is parked until the rows are back and c->p holds
 * the inference. */
static void infer(nn_server *s, nn_serve_model *m, reply *r, int tf, conn_state *c,
                 struct MHD_Connection *conn)
{
    char err[512];
    int K = nn_serve_outputs(m), D = nn_serve_inputs(m);
    size_t max = (size_t)m->max_batch;
    pending *p = calloc(1, sizeof *p);
    r->ep = tf ? NN_EP_PREDICT : NN_EP_INFER;
    if (!p) {
        arrived(s, c);
        fail(r, 500, "out of memory for a request");
        return;
    }
    int st = tf ? nn_serve_parse_tf_enc(c->body.s, c->body.len, D, max,
                                        m->enc.ncol ? &m->enc : NULL, &p->q, err, sizeof err)
                : nn_serve_parse_v2(c->body.s, c->body.len,
                                    MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                                                "Inference-Header-Content-Length"),
                                    D, max, &p->q, err, sizeof err);
    arrived(s, c);
    if (!st && !tf)
        st = nn_serve_check_outputs(m, &p->q, err, sizeof err);
    pthread_mutex_init(&p->lock, NULL);
    p->tf = tf, p->conn = conn, p->w = c->w;
    if (st) {
        fail(r, st, "%s", err);
        pending_free(p);
        return;
    }
    p->out = malloc(p->q.n * (size_t)K * sizeof(float));
    p->cls = malloc(p->q.n * sizeof(long));
    p->m = nn_serve_model_ref(m);
    int (*predict)(nn_serve_model *, float *, size_t, float *, long *, void (*)(void *),
                   void *) = hold(c->w, m) == 0 ? nn_serve_predict_queued : nn_serve_predict;
    if (!p->out || !p->cls || predict(m, p->q.x, p->q.n, p->out, p->cls, rows_back, p) != 0) {
        fail(r, 500, "out of memory for %zu rows of %d outputs", p->q.n, K);
        pending_free(p);
        return;
    }
    pthread_mutex_lock(&p->lock);
    if (!p->done) { /* in an executor's queue: park the connection and read others */
        p->parked = 1;
        c->p = p;
        MHD_suspend_connection(conn);
        pthread_mutex_unlock(&p->lock);
        return;
    }
    pthread_mutex_unlock(&p->lock); /* this thread ran the pass itself */
    infer_answer(r, p);
    pending_free(p);
}

/* /v2/models/<rest>: NAME [/versions/V] [/ready | /infer]. */
static void v2_model(nn_server *s, nn_serve_model *m, reply *r, const char *method,
                     const char *rest, conn_state *c, struct MHD_Connection *conn)
{
    size_t nl = strcspn(rest, "/");
    const char *tail = rest + nl;
    if (nl != strlen(m->name) || strncmp(rest, m->name, nl) != 0) {
        fail(r, 404, "unknown model '%.*s'; this server serves '%s'", (int)(nl > 128 ? 128 : nl),
             rest, m->name);
        return;
    }
    if (strncmp(tail, "/versions/", 10) == 0) {
        size_t vl = strcspn(tail + 10, "/");
        if (vl != strlen(m->version) || strncmp(tail + 10, m->version, vl) != 0) {
            fail(r, 404, "model '%s' has no version '%.*s'; it serves version %s", m->name,
                 (int)(vl > 64 ? 64 : vl), tail + 10, m->version);
            return;
        }
        tail += 10 + vl;
    }
    if (*tail == 0) {
        if (method_is(r, method, "GET"))
            r->status = 200, nn_serve_model_meta(&r->out, m);
    } else if (strcmp(tail, "/ready") == 0) {
        if (method_is(r, method, "GET"))
            r->status = 200;
    } else if (strcmp(tail, "/infer") == 0) {
        if (method_is(r, method, "POST"))
            infer(s, m, r, 0, c, conn);
    } else {
        fail(r, 404, "no endpoint %.200s", tail);
    }
}

/* /v1/models/<rest>: NAME [/versions/V] [:predict]. */
static void v1_model(nn_server *s, nn_serve_model *m, reply *r, const char *method,
                     const char *rest, conn_state *c, struct MHD_Connection *conn)
{
    size_t len = strlen(rest);
    int predict = len >= 8 && strcmp(rest + len - 8, ":predict") == 0;
    size_t nl = strcspn(rest, "/:");
    const char *tail = rest + nl;
    if (nl != strlen(m->name) || strncmp(rest, m->name, nl) != 0) {
        fail(r, 404, "unknown model '%.*s'; this server serves '%s'", (int)(nl > 128 ? 128 : nl),
             rest, m->name);
        return;
    }
    if (strncmp(tail, "/versions/", 10) == 0) {
        size_t vl = strcspn(tail + 10, "/:");
        if (vl != strlen(m->version) || strncmp(tail + 10, m->version, vl) != 0) {
            fail(r, 404, "model '%s' has no version '%.*s'; it serves version %s", m->name,
                 (int)(vl > 64 ? 64 : vl), tail + 10, m->version);
            return;
        }
        tail += 10 + vl;
    }
    if (predict && strcmp(tail, ":predict") == 0) {
        if (method_is(r, method, "POST"))
            infer(s, m, r, 1, c, conn);
    } else if (*tail == 0) {
        if (method_is(r, method, "GET"))
            r->status = 200, nn_serve_tf_status(&r->out, m);
    } else {
        fail(r, 404, "no endpoint %.200s", tail);
    }
}

static int authorized(const nn_server *s, struct MHD_Connection *conn)
{
    const char *h = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization");
    if (!s->key)
        return 1;
    if (!h || strncasecmp(h, "Bearer ", 7) != 0)
        return 0;
    const char *k = h + 7;
    size_t n = strlen(s->key);
    size_t kn = strlen(k);
    unsigned diff = kn != n; /* every byte compared: no early exit on a mismatch */
    for (size_t i = 0; i < n; i++)
        diff |= (unsigned)((unsigned char)s->key[i] ^ (unsigned char)(i < kn ? k[i] : 0));
    return diff == 0;
}

static void route(nn_server *s, nn_serve_model *m, reply *r, struct MHD_Connection *conn,
                  const char *method, const char *url, conn_state *c)
{
    r->ep = NN_EP_METADATA;
    if (strcmp(url, "/v2/health/live") == 0 || strcmp(url, "/v2/health/ready") == 0) {
        r->ep = NN_EP_HEALTH;
        if (method_is(r, method, "GET"))
            r->status = 200;
    } else if (!authorized(s, conn)) {
        r->ep = NN_EP_OTHER;
        fail(r, 401, "missing or wrong API key; expected 'Authorization: Bearer KEY'");
    } else if (c->too_big) {
        r->ep = NN_EP_OTHER;
        fail(r, 413, "body over --max-body %zu bytes", s->max_body);
    } else if (strcmp(url, "/metrics") == 0) {
        r->ep = NN_EP_METRICS;
        if (method_is(r, method, "GET")) {
            r->status = 200, r->type = "text/plain; version=0.0.4; charset=utf-8";
            nn_metrics_render(s->mx, &r->out);
        }
    } else if (strcmp(url, "/v2") == 0 || strcmp(url, "/v2/") == 0) {
        if (method_is(r, method, "GET"))
            r->status = 200, nn_serve_server_meta(&r->out);
    } else if (strncmp(url, "/v2/models/", 11) == 0) {
        v2_model(s, m, r, method, url + 11, c, conn);
    } else if (strncmp(url, "/v1/models/", 11) == 0) {
        v1_model(s, m, r, method, url + 11, c, conn);
    } else {
        r->ep = NN_EP_OTHER;
        fail(r, 404, "no endpoint %.200s; see docs/serving.md", url);
    }
}

static void access_log(nn_server *s, const char *method, const char *url, const reply *r,
                       const conn_state *c, double seconds)
{
    if (s->quiet)
        return;
    pthread_mutex_lock(&s->lock);
    printf("%.16s ", method);
    nn_put_escaped(url, stdout);
    printf(" %d in %zu out %zu %.3fms\n", r->status, c->body.len, r->out.len, seconds * 1e3);
    fflush(stdout);
    pthread_mutex_unlock(&s->lock);
}

/* Queues r's answer; its buffer passes to libmicrohttpd, which frees it. */
static enum MHD_Result respond(nn_server *s, const nn_serve_model *m,
                               struct MHD_Connection *conn, reply *r)
{
    char jl[32];
    if (r->out.oom) {
        nn_buf_free(&r->out);
        r->status = 500, r->json_len = 0;
    }
    struct MHD_Response *res = r->out.len
        ? MHD_create_response_from_buffer(r->out.len, r->out.s, MHD_RESPMEM_MUST_FREE)
        : MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    if (!res)
        return MHD_NO;
    if (r->out.len)
        r->out.s = NULL, r->out.cap = 0; /* libmicrohttpd's now */
    if (r->json_len) {
        snprintf(jl, sizeof jl, "%zu", r->json_len);
        MHD_add_response_header(res, "Inference-Header-Content-Length", jl);
        MHD_add_response_header(res, "Content-Type", "application/octet-stream");
    } else if (r->out.len) {
        MHD_add_response_header(res, "Content-Type", r->type ? r->type : "application/json");
    }
    MHD_add_response_header(res, "NN-Model-Version", m->version);
    if (r->allow)
        MHD_add_response_header(res, "Allow", r->allow);
    if (r->status == 401)
        MHD_add_response_header(res, "WWW-Authenticate", "Bearer");
    pthread_mutex_lock(&s->lock);
    int stopping = s->stopping;
    pthread_mutex_unlock(&s->lock);
    if (stopping || r->status == 413)
        MHD_add_response_header(res, "Connection", "close");
    enum MHD_Result ok = MHD_queue_response(conn, (unsigned)r->status, res);
    MHD_destroy_response(res);
    return ok;
}

/* A request begins: counted in flight, and (a POST) among the bodies on their way. */
static conn_state *begin(worker *w, struct MHD_Connection *conn, const char *method)
{
    nn_server *s = w->s;
    conn_state *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->t0 = nn_now();
    c->w = w;
    const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");
    c->too_big = cl && strtod(cl, NULL) > (double)s->max_body;
    if (strcmp(method, "POST") == 0) {
        c->arriving = 1;
        atomic_fetch_add(s->arriving, 1);
    }
    pthread_mutex_lock(&s->lock);
    s->busy++;
    pthread_mutex_unlock(&s->lock);
    nn_metrics_begin(s->mx);
    return c;
}

/* Queues r's answer on model m, logs and counts it. */
static enum MHD_Result finish(nn_server *s, struct MHD_Connection *conn, const char *method,
                              const char *url, conn_state *c, nn_serve_model *m, reply *r)
{
    size_t out_len = r->out.len;
    enum MHD_Result ok = respond(s, m, conn, r);
    double dt = nn_now() - c->t0;
    r->out.len = out_len;
    access_log(s, method, url, r, c, dt);
    nn_buf_free(&r->out);
    c->answered = 1;
    nn_metrics_end(s->mx, r->ep, r->status, dt);
    return ok;
}

/* The body is complete: answer on the model of the moment, which this request holds until
 * its answer is queued (a reload meanwhile does not touch it). An inference whose rows wait
 * in the batcher parks the connection (c->p); it is answered when resumed. */
static enum MHD_Result answer(nn_server *s, struct MHD_Connection *conn, const char *method,
                              const char *url, conn_state *c)
{
    reply r = {0, {0}, NULL, NULL, 0, NN_EP_OTHER};
    if (c->p) { /* resumed: the rows are back */
        pending *p = c->p;
        c->p = NULL;
        r.ep = p->tf ? NN_EP_PREDICT : NN_EP_INFER;
        infer_answer(&r, p);
        enum MHD_Result ok = finish(s, conn, method, url, c, p->m, &r);
        pending_free(p);
        return ok;
    }
    nn_serve_model *m = nn_registry_acquire(s->g);
    route(s, m, &r, conn, method, url, c);
    arrived(s, c);
    if (c->p) { /* parked */
        nn_serve_model_release(m);
        return MHD_YES;
    }
    enum MHD_Result ok = finish(s, conn, method, url, c, m, &r);
    nn_serve_model_release(m);
    return ok;
}

/* Gathers the body (up to --max-body; beyond it the rest is read and dropped, and the answer
 * is 413), then answers. */
static enum MHD_Result handler(void *cls, struct MHD_Connection *conn, const char *url,
                               const char *method, const char *version, const char *data,
                               size_t *size, void **con_cls)
{
    worker *w = cls;
    nn_server *s = w->s;
    conn_state *c = *con_cls;
    (void)version;
    if (!c)
        return (*con_cls = begin(w, conn, method)) ? MHD_YES : MHD_NO;
    if (*size) {
        if (!c->too_big && c->body.len + *size > s->max_body)
            c->too_big = 1, nn_buf_free(&c->body);
        if (!c->too_big)
            nn_buf_append(&c->body, data, *size);
        if (c->body.oom || *size > (size_t)1 << 30)
            return MHD_NO;
        *size = 0;
        return MHD_YES;
    }
    return answer(s, conn, method, url, c);
}

/* A request ends (answered, or its connection gone): uncounted. */
static void completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                      enum MHD_RequestTerminationCode why)
{
    nn_server *s = cls;
    conn_state *c = *con_cls;
    (void)conn, (void)why;
    if (!c)
        return;
    arrived(s, c);
    if (!c->answered) /* the client went away first */
        nn_metrics_end(s->mx, NN_EP_OTHER, 499, nn_now() - c->t0);
    pending_free(c->p); /* resumed (its rows back) but not answered: the client is gone */
    nn_buf_free(&c->body);
    free(c);
    *con_cls = NULL;
    pthread_mutex_lock(&s->lock);
    if (--s->busy == 0)
        pthread_cond_broadcast(&s->idle);
    pthread_mutex_unlock(&s->lock);
}

/* A worker's connection opened or closed (libmicrohttpd's notification): its count. */
static void conn_event(void *cls, struct MHD_Connection *conn, void **ctx,
                       enum MHD_ConnectionNotificationCode code)
{
    (void)conn, (void)ctx;
    worker *w = cls;
    if (code == MHD_CONNECTION_NOTIFY_CLOSED)
        atomic_fetch_sub(&w->open, 1);
}

/* The acceptor: each new connection to the worker with the fewest open, or closed at once
 * when --max-connections are open. Ends when nn_server_stop shuts the socket down. */
static void *acceptor(void *arg)
{
    nn_server *s = arg;
    for (;;) {
        struct sockaddr_storage sa;
        socklen_t len = sizeof sa;
        int fd = accept(s->lfd, (struct sockaddr *)&sa, &len);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                poll(NULL, 0, 10); /* out of descriptors: let connections close first */
                continue;
            }
            return NULL; /* EINVAL: shut down by nn_server_stop */
        }
        int best = 0, total = 0;
        for (int i = 0; i < s->n_w; i++) {
            int o = atomic_load(&s->w[i].open);
            total += o;
            if (o < atomic_load(&s->w[best].open))
                best = i;
        }
        if (total >= s->max_conn) {
            close(fd); /* refused: the limit */
            continue;
        }
        handed *h = malloc(sizeof *h);
        if (!h) {
            close(fd);
            continue;
        }
        *h = (handed){fd, len, sa, NULL};
        worker *w = &s->w[best];
        atomic_fetch_add(&w->open, 1);
        pthread_mutex_lock(&w->lock);
        h->next = w->inbox;
        w->inbox = h;
        pthread_mutex_unlock(&w->lock);
        wake(w);
    }
}

/* The worker's thread, woken: the connections handed over become its daemon's (the rest,
 * resumed connections, are its daemon's round). */
static void adopt(worker *w)
{
    uint64_t n;
    if (read(w->efd, &n, sizeof n) < 0) { /* nothing to read: a spurious wake-up */
    }
    pthread_mutex_lock(&w->lock);
    handed *h = w->inbox;
    w->inbox = NULL;
    pthread_mutex_unlock(&w->lock);
    for (handed *next; h; h = next) {
        next = h->next;
        if (MHD_add_connection(w->d, h->fd, (struct sockaddr *)&h->sa, h->len) != MHD_YES)
            atomic_fetch_sub(&w->open, 1); /* it closed fd; no close notification */
        free(h);
    }
}

/* A worker: rounds of its daemon's event loop. A round reads every connection that is ready;
 * the requests among them queue their rows (infer), and after the round the worker runs
 * them, together, in as few passes as --max-batch allows, and resumes their connections,
 * answered in the next round. A lone request so waits for nothing but its own reading. */
static void *work(void *arg)
{
    worker *w = arg;
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(w->d, MHD_DAEMON_INFO_EPOLL_FD);
    struct pollfd pf[2] = {{info->epoll_fd, POLLIN, 0}, {w->efd, POLLIN, 0}};
    int again = 0;
    while (!atomic_load(&w->quit)) {
        MHD_UNSIGNED_LONG_LONG to = 0;
        int ms = again ? 0 : MHD_get_timeout(w->d, &to) != MHD_YES ? -1
                             : to > INT_MAX ? INT_MAX : (int)to;
        if (poll(pf, 2, ms) < 0 && errno != EINTR)
            break; /* not expected: the descriptors are this worker's own */
        if (pf[1].revents & POLLIN)
            adopt(w);
        MHD_run(w->d);
        again = w->n_held > 0;
        for (int i = 0; i < w->n_held; i++) {
            nn_batcher_flush(w->held[i]->batch);
            nn_serve_model_release(w->held[i]);
        }
        w->n_held = 0;
    }
    return NULL;
}

/* The listening socket on --host:--port (0: any free port, then *port says which). */
static int listen_on(const nn_serve_config *cfg, int *port, char *err, size_t errlen)
{
    struct sockaddr_in sa = {0};
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)cfg->port);
    if (inet_pton(AF_INET, cfg->host, &sa.sin_addr) != 1) {
        snprintf(err, errlen, "--host %s: expected an IPv4 address such as 127.0.0.1", cfg->host);
        return -1;
    }
    int one = 1, fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    socklen_t len = sizeof sa;
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(fd, SOMAXCONN) != 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &len) != 0) {
        snprintf(err, errlen, "cannot listen on %s:%ld: %s (in use, or not an address of this "
                 "host?)", cfg->host, cfg->port, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    *port = ntohs(sa.sin_port);
    return fd;
}

/* Stops the workers' threads, then their daemons (which close the connections still open). */
static void stop_workers(nn_server *s)
{
    for (int i = 0; i < s->n_w; i++) {
        worker *w = &s->w[i];
        if (w->started) {
            atomic_store(&w->quit, 1);
            wake(w);
            pthread_join(w->thread, NULL);
        }
        if (w->d)
            MHD_stop_daemon(w->d);
        for (handed *h = w->inbox, *next; h; h = next) {
            next = h->next;
            close(h->fd);
            free(h);
        }
        if (w->efd >= 0)
            close(w->efd);
        pthread_mutex_destroy(&w->lock);
    }
    free(s->w);
}

/* Worker i: its daemon (external epoll, run by its own thread) and that thread. */
static int start_worker(nn_server *s, int i, const nn_serve_config *cfg)
{
    worker *w = &s->w[i];
    w->s = s;
    w->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (w->efd < 0)
        return -1;
    w->d = MHD_start_daemon(
        MHD_USE_EPOLL | MHD_USE_ITC | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_NO_LISTEN_SOCKET, 0,
        NULL, NULL, handler, w,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)cfg->max_conn,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)cfg->timeout,
        MHD_OPTION_NOTIFY_COMPLETED, completed, s,
        MHD_OPTION_NOTIFY_CONNECTION, conn_event, w, MHD_OPTION_END);
    if (!w->d || pthread_create(&w->thread, NULL, work, w) != 0)
        return -1;
    w->started = 1;
    return 0;
}

nn_server *nn_server_start(const nn_serve_config *cfg, nn_registry *g, nn_metrics *mx,
                           atomic_long *arriving, const char *key, int *port, char *err,
                           size_t errlen)
{
    nn_server *s = calloc(1, sizeof *s);
    if (!s)
        return snprintf(err, errlen, "out of memory"), NULL;
    *s = (nn_server){NULL, 0, -1, cfg->max_conn, 0, g, mx, arriving, key,
                     (size_t)cfg->max_body, cfg->quiet, PTHREAD_MUTEX_INITIALIZER,
                     PTHREAD_COND_INITIALIZER, 0, 0};
    s->n_w = (int)cfg->threads;
    if (!(s->w = calloc((size_t)s->n_w, sizeof *s->w))) {
        snprintf(err, errlen, "out of memory");
        free(s);
        return NULL;
    }
    for (int i = 0; i < s->n_w; i++) {
        s->w[i].efd = -1;
        pthread_mutex_init(&s->w[i].lock, NULL);
    }
    int fail = 0;
    for (int i = 0; i < s->n_w && !fail; i++)
        fail = start_worker(s, i, cfg) != 0;
    if (fail)
        snprintf(err, errlen, "cannot start %d HTTP worker threads (libmicrohttpd)", s->n_w);
    else if ((s->lfd = listen_on(cfg, port, err, errlen)) < 0)
        fail = 1;
    else if (pthread_create(&s->acceptor, NULL, acceptor, s) != 0) {
        snprintf(err, errlen, "cannot start the thread that accepts connections");
        close(s->lfd);
        fail = 1;
    }
    if (fail) {
        stop_workers(s);
        free(s);
        return NULL;
    }
    return s;
}

/* No new connections; the requests begun finish and are answered (with Connection: close);
 * then the daemons close the idle keep-alive connections and stop. */
void nn_server_stop(nn_server *s)
{
    if (!s)
        return;
    pthread_mutex_lock(&s->lock);
    s->stopping = 1;
    pthread_mutex_unlock(&s->lock);
    shutdown(s->lfd, SHUT_RDWR); /* the acceptor's accept fails: no new connections */
    pthread_join(s->acceptor, NULL);
    close(s->lfd); /* refuse at once, rather than queue in the backlog */
    pthread_mutex_lock(&s->lock);
    while (s->busy > 0)
        pthread_cond_wait(&s->idle, &s->lock);
    pthread_mutex_unlock(&s->lock);
    stop_workers(s);
    free(s);
}

void nn_serve_mhd_libver(nn_libver *v)
{
    unsigned x = MHD_VERSION; /* 0xMMmmrrpp, hex digits read as decimal */
    snprintf(v->name, sizeof v->name, "libmicrohttpd");
    snprintf(v->built, sizeof v->built, "%x.%x.%x", x >> 24, (x >> 16) & 0xffu, (x >> 8) & 0xffu);
    snprintf(v->runs, sizeof v->runs, "%s", MHD_get_version());
}
