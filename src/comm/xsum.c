/* xsum.c: the gradient sum between nodes (comm_impl.h, "xsum"), in buckets that can start
 * while backward still runs. A rank sums its range [lo, hi) of the buffer with the ranks of
 * the same place on the other H - 1 nodes. The range is cut into buckets, top down (backward
 * finishes the last layers first); each bucket's sum takes two nonblocking collectives:
 *   scatter  MPI_Ialltoallv: the bucket cut into H chunks, chunk k of every node to rank k;
 *   gather   once rank k has added up its chunk in float32, in node order 0..H-1,
 *            MPI_Iallgatherv: every chunk's sum to every node, in place.
 * The order of the additions is fixed by the node order alone, so the sum does not depend on
 * how the range is cut or when a bucket starts: overlapped or not, the bits are the same.
 * With bf16, the state positions travel as bfloat16 both ways (each node's contribution, and
 * the sums, the owner's own copy included, so every node ends with the same values); the
 * extras (from n_state on: loss, flags) always travel as float32.
 * MPI requires every rank to start the collectives of a communicator in the same order: the
 * scatters run on one duplicate of the communicator and the gathers on another, each started
 * in bucket order. Everything is allocated by xsum_create; a step allocates nothing. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "comm_impl.h"

enum { X_IDLE, X_SCATTER, X_SUMMED, X_GATHER, X_DONE, X_TAKEN };

typedef struct {
    size_t a, b;         /* positions of the buffer */
    int bf16, state;
    float *g;            /* where the bucket's sum is (the source's region) */
    MPI_Request req;
    int *cnt;            /* cnt, dsp (the H chunks), rcnt, rdsp (what this rank receives) */
    unsigned char *send; /* bf16: (b - a) elements; float32 travels from and into g itself */
    unsigned char *recv; /* H * the largest chunk */
} bucket;

struct comm_xsum {
    MPI_Comm scatter, gather;
    int H, me, nb, next_start, next_gather, taken;
    size_t n_state;
    bucket *bk;
    void *mem;
    int *ints;
};

/* float32 to bfloat16, rounding to nearest, ties to even; a NaN stays a (quiet) NaN. */
static uint16_t to_bf16(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    if ((u & 0x7fffffffu) > 0x7f800000u)
        return (uint16_t)((u >> 16) | 0x40u);
    return (uint16_t)((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
}

static float from_bf16(uint16_t h)
{
    uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* n values of x into out as bf16; decoded: element i of what arrived, bf16 or float32. */
static void encode(const float *x, size_t n, unsigned char *out)
{
    uint16_t *h = (uint16_t *)(void *)out;
    for (size_t i = 0; i < n; i++)
        h[i] = to_bf16(x[i]);
}

static float decoded(const bucket *k, const unsigned char *in, size_t i)
{
    if (k->bf16)
        return from_bf16(((const uint16_t *)(const void *)in)[i]);
    float f;
    memcpy(&f, in + i * sizeof f, sizeof f);
    return f;
}

static MPI_Datatype type(const bucket *k) { return k->bf16 ? MPI_UINT16_T : MPI_FLOAT; }

comm_xsum *xsum_create(MPI_Comm comm, size_t lo, size_t hi, size_t n_state, int max_buckets,
                       size_t min_floats)
{
    comm_xsum *x = calloc(1, sizeof *x);
    if (!x)
        return NULL;
    MPI_Comm_size(comm, &x->H);
    MPI_Comm_rank(comm, &x->me);
    x->n_state = n_state;
    /* Buckets of at least min_floats (fewer messages for a small model), at most
     * max_buckets; the extras are a bucket of their own. */
    size_t n = hi - lo, want = n / (min_floats ? min_floats : 1);
    int nb = want < 1 ? 1 : want > (size_t)max_buckets ? max_buckets : (int)want;
    int split = lo < n_state && n_state < hi;
    x->nb = nb + split;
    x->bk = calloc((size_t)x->nb, sizeof *x->bk);
    x->ints = malloc((size_t)x->nb * 4 * (size_t)x->H * sizeof *x->ints);
    size_t per = n / (size_t)nb + 1, bytes = 0;
    int j = 0;
    for (size_t top = hi; x->bk && top > lo; j++) {
        size_t bot = top - lo > per ? (top - per) / 16 * 16 : lo; /* on cache lines */
        if (bot < lo)
            bot = lo;
        if (top > n_state && bot < n_state) /* the extras apart */
            bot = n_state;
        x->bk[j] = (bucket){.a = bot, .b = top};
        size_t m = top - bot, chunk = m / (size_t)x->H + 1;
        bytes += m * sizeof(uint16_t) + (size_t)x->H * chunk * sizeof(float);
        top = bot;
    }
    x->nb = j;
    x->mem = x->bk && x->ints ? malloc(bytes ? bytes : 1) : NULL;
    if (!x->mem || MPI_Comm_dup(comm, &x->scatter) != MPI_SUCCESS ||
        MPI_Comm_dup(comm, &x->gather) != MPI_SUCCESS) {
        xsum_free(x);
        return NULL;
    }
    unsigned char *p = x->mem;
    for (j = 0; j < x->nb; j++) {
        bucket *k = &x->bk[j];
        size_t m = k->b - k->a, chunk = m / (size_t)x->H + 1;
        k->send = p;
        k->recv = p + m * sizeof(uint16_t);
        p += m * sizeof(uint16_t) + (size_t)x->H * chunk * sizeof(float);
        k->cnt = x->ints + (size_t)j * 4 * (size_t)x->H;
        int *cnt = k->cnt, *dsp = cnt + x->H, *rcnt = dsp + x->H, *rdsp = rcnt + x->H;
        for (int q = 0; q < x->H; q++) {
            dsp[q] = (int)(m * (size_t)q / (size_t)x->H);
            cnt[q] = (int)(m * (size_t)(q + 1) / (size_t)x->H) - dsp[q];
        }
        for (int q = 0; q < x->H; q++) {
            rcnt[q] = cnt[x->me];
            rdsp[q] = q * cnt[x->me];
        }
        k->req = MPI_REQUEST_NULL;
    }
    return x;
}

void xsum_free(comm_xsum *x)
{
    if (!x)
        return;
    if (x->scatter != MPI_COMM_NULL && x->scatter)
        MPI_Comm_free(&x->scatter);
    if (x->gather != MPI_COMM_NULL && x->gather)
        MPI_Comm_free(&x->gather);
    free(x->mem);
    free(x->ints);
    free(x->bk);
    free(x);
}

void xsum_set_bf16(comm_xsum *x, int on)
{
    for (int j = 0; j < x->nb; j++)
        x->bk[j].bf16 = on && x->bk[j].b <= x->n_state;
}

int xsum_buckets(const comm_xsum *x) { return x->nb; }

/* What bucket k sends and gathers into: the bf16 copy, or (float32) its sum in place. */
static unsigned char *wire(const bucket *k) { return k->bf16 ? k->send : (unsigned char *)k->g; }

/* The scatter of bucket j, from the node's sum of it. */
static void start_scatter(comm_xsum *x, bucket *k, const xsum_source *s)
{
    int H = x->H, *cnt = k->cnt, *dsp = cnt + H, *rcnt = dsp + H, *rdsp = rcnt + H;
    k->g = s->local(s->ctx, k->a, k->b);
    if (k->bf16)
        encode(k->g, k->b - k->a, k->send);
    MPI_Ialltoallv(wire(k), cnt, dsp, type(k), k->recv, rcnt, rdsp, type(k), x->scatter,
                   &k->req);
    k->state = X_SCATTER;
}

/* This rank's chunk of bucket k: the H contributions added up in node order. */
static void own_sum(comm_xsum *x, bucket *k)
{
    int cm = k->cnt[x->me], c0 = k->cnt[x->H + x->me];
    float *acc = k->g + c0;
    for (int i = 0; i < cm; i++)
        acc[i] = decoded(k, k->recv, (size_t)i);
    for (int q = 1; q < x->H; q++)
        for (int i = 0; i < cm; i++)
            acc[i] += decoded(k, k->recv, (size_t)q * (size_t)cm + (size_t)i);
    if (k->bf16)
        encode(acc, (size_t)cm, k->send + (size_t)c0 * sizeof(uint16_t));
    k->state = X_SUMMED;
}

static void start_gather(comm_xsum *x, bucket *k)
{
    int *cnt = k->cnt, *dsp = cnt + x->H;
    MPI_Iallgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, wire(k), cnt, dsp, type(k), x->gather,
                    &k->req);
    k->state = X_GATHER;
}

static void finish(bucket *k)
{
    size_t m = k->b - k->a;
    for (size_t i = 0; k->bf16 && i < m; i++)
        k->g[i] = decoded(k, k->send, i);
    k->state = X_DONE;
}

int xsum_progress(comm_xsum *x, const xsum_source *s)
{
    int moved = 0, flag;
    while (x->next_start < x->nb && s->ready(s->ctx, x->bk[x->next_start].a)) {
        start_scatter(x, &x->bk[x->next_start++], s);
        moved = 1;
    }
    for (int j = x->next_gather; j < x->next_start; j++) {
        bucket *k = &x->bk[j];
        if (k->state == X_SCATTER && MPI_Test(&k->req, &flag, MPI_STATUS_IGNORE) == MPI_SUCCESS &&
            flag) {
            own_sum(x, k);
            moved = 1;
        }
    }
    while (x->next_gather < x->next_start && x->bk[x->next_gather].state == X_SUMMED) {
        start_gather(x, &x->bk[x->next_gather++]);
        moved = 1;
    }
    for (int j = 0; j < x->next_gather; j++) {
        bucket *k = &x->bk[j];
        if (k->state == X_GATHER && MPI_Test(&k->req, &flag, MPI_STATUS_IGNORE) == MPI_SUCCESS &&
            flag) {
            finish(k);
            moved = 1;
        }
    }
    return moved;
}

int xsum_take(comm_xsum *x, size_t *a, size_t *b, const float **g)
{
    for (int j = 0; j < x->nb; j++)
        if (x->bk[j].state == X_DONE) {
            x->bk[j].state = X_TAKEN;
            x->taken++;
            *a = x->bk[j].a;
            *b = x->bk[j].b;
            *g = x->bk[j].g;
            return 1;
        }
    return 0;
}

int xsum_done(const comm_xsum *x) { return x->taken == x->nb; }

void xsum_reset(comm_xsum *x)
{
    for (int j = 0; j < x->nb; j++)
        x->bk[j].state = X_IDLE;
    x->next_start = x->next_gather = x->taken = 0;
}
