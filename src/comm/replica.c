/* replica.c: the replica (nn_replica.h): the model state that every rank keeps identical,
 * shared by the ranks of a node in MPI-3 shared-memory windows, and each step's gradient sum
 * (shared memory within a node, MPI_Allreduce between nodes), with a private copy and one
 * MPI_Allreduce as the fall-back. It builds on comm.c's collectives and names its waits for
 * the watchdog like every other wait (comm_impl.h). */
#include <mpi.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>

#include "comm_impl.h"
#include "nn_clock.h"
#include "nn_replica.h"
#include "nn_trace.h"

/* Floats per cache line: slices start on a line of their own, so two ranks never write the
 * same line. */
#define LINE_FLOATS 16
/* The sum is added up and applied in blocks of 16 KiB, which stay in L1 between the two. */
#define SUM_BLOCK 4096

/* One node's coordination words, in shared memory, each on a cache line of its own. */
typedef struct {
    _Alignas(64) _Atomic uint64_t v;
} shm_word;

struct nn_replica {
    const nn_comm *c;
    size_t n_state, n_grad;
    enum { R_SINGLE, R_MPI, R_SHM } kind;
    float *state[NN_REPLICA_STATES]; /* n_state floats each (node-shared under R_SHM) */
    float *grads;                    /* this rank's n_grad floats */
    float *sum;                      /* the sum of all ranks' grads, n_grad floats */
    float *block;                    /* R_SINGLE/R_MPI: the one allocation behind it all */
    /* R_SHM: this node's ranks share one segment of gradient buffers, one result and one
     * state; rank r of the node owns the slice [lo, hi) of the result and of the state. */
    MPI_Comm node, cross, leaders; /* cross: same node rank on every node; leaders: node rank 0 */
    MPI_Win win_grads, win_sum, win_state, win_ctl;
    int node_rank, node_size, nodes, locked;
    float **peer; /* peer[q]: node rank q's gradient buffer */
    size_t lo, hi;
    /* One node: claim[(g % 2) p + s] counts the blocks of slice s claimed in step g, and
     * ready[q] says how far node rank q's buffer is final (see progress()); gen counts this
     * rank's steps. slo/shi: every rank's slice; spent: the slices this rank found done. */
    shm_word *claim, *ready;
    uint64_t gen;
    size_t *slo, *shi;
    unsigned char *spent;
    float *scratch; /* SUM_BLOCK floats: a block of the sum that only its owner reads */
    /* The sum between nodes (xsum.c): this rank's range [lo, hi), with the ranks of the same
     * place on the other nodes (R_MPI: every rank, the whole buffer), in buckets; overlap:
     * buckets start while backward runs (nn_replica_ready); my_from: R_MPI, how far this
     * rank's own buffer is final this step. */
    comm_xsum *xs;
    int overlap;
    size_t my_from;
    void *ph; /* during nn_replica_step: its --trace phase, for the bucket's local sum */
    char what[320];
    char warning[256]; /* why the shared-memory path was not taken, when it matters */
};

static int xs_create(nn_replica *r);

/* The slice [lo, hi) of n floats that node rank r of p owns: cut on cache lines. */
static void slice(size_t n, int r, int p, size_t *lo, size_t *hi)
{
    size_t lines = (n + LINE_FLOATS - 1) / LINE_FLOATS;
    *lo = lines * (size_t)r / (size_t)p * LINE_FLOATS;
    *hi = lines * (size_t)(r + 1) / (size_t)p * LINE_FLOATS;
    *lo = *lo < n ? *lo : n;
    *hi = *hi < n ? *hi : n;
}

static size_t padded(size_t n) { return (n + LINE_FLOATS - 1) / LINE_FLOATS * LINE_FLOATS; }

/* Which ranks count as one node: the same host name, or, for tests on one host,
 * NN_TEST_RANKS_PER_NODE=k groups ranks k by k. Returns the node's lowest rank. */
static int node_color(const nn_comm *c)
{
    const char *fake = getenv("NN_TEST_RANKS_PER_NODE");
    if (fake && atoi(fake) > 0)
        return c->rank / atoi(fake) * atoi(fake);
    char mine[NAME_W];
    char *all = comm_host_names(c, mine);
    int color = c->rank;
    for (int q = 0; q < c->rank; q++)
        if (comm_cmp_names(all + (size_t)q * NAME_W, mine) == 0) {
            color = q;
            break;
        }
    free(all);
    return color;
}

/* Orders this rank's accesses to every shared window (a memory barrier for the windows). */
static void sync_windows(nn_replica *r)
{
    MPI_Win_sync(r->win_grads);
    MPI_Win_sync(r->win_sum);
    MPI_Win_sync(r->win_state);
    MPI_Win_sync(r->win_ctl);
}

/* A node-wide barrier that also orders the shared-memory accesses around it. */
static void node_sync(nn_replica *r)
{
    sync_windows(r);
    MPI_Barrier(r->node);
    sync_windows(r);
}

/* Coordination words of a node: two claim counters per slice, then one progress word per
 * rank, and one word of room to align them. */
static size_t ctl_words(const nn_replica *r) { return 3 * (size_t)r->node_size + 1; }

/* The node of this rank (r->node, node_rank, node_size) and the number of nodes; 0 when the
 * shared-memory path is worth it: at least two ranks a node, and the same count on every
 * node (nodes of different sizes cannot pair their slices). Every rank returns the same. */
static int shm_node(nn_replica *r)
{
    const nn_comm *c = r->c;
    MPI_Comm_split(c->impl->comm, node_color(c), c->rank, &r->node);
    MPI_Comm_rank(r->node, &r->node_rank);
    MPI_Comm_size(r->node, &r->node_size);
    int sizes[2] = {r->node_size, -r->node_size};
    MPI_Allreduce(MPI_IN_PLACE, sizes, 2, MPI_INT, MPI_MIN, c->impl->comm);
    if (sizes[0] < 2 || sizes[0] != -sizes[1])
        return -1;
    int leader = r->node_rank == 0;
    MPI_Allreduce(&leader, &r->nodes, 1, MPI_INT, MPI_SUM, c->impl->comm);
    return 0;
}

/* Open MPI backs shared windows with files in /dev/shm (its default backing directory),
 * whose pages are only taken when first touched: a /dev/shm smaller than the windows
 * (64 MiB in a default Docker container) would end in SIGBUS in the middle of a run.
 * Each node's leader checks the room, with 32 MiB left for Open MPI's own segments; 0 if
 * every node has it, else -1 with r->warning saying why. Every rank returns the same. */
static int shm_room(nn_replica *r)
{
    double need = ((double)r->node_size * (double)padded(r->n_grad) + (double)padded(r->n_grad) +
                   NN_REPLICA_STATES * (double)padded(r->n_state)) * sizeof(float),
           room = 1e300;
    struct statvfs sv;
    if (r->node_rank == 0 && statvfs("/dev/shm", &sv) == 0)
        room = (double)sv.f_bavail * (double)sv.f_frsize;
    MPI_Allreduce(MPI_IN_PLACE, &room, 1, MPI_DOUBLE, MPI_MIN, r->c->impl->comm);
    if (room < need + 32.0 * 1048576) {
        snprintf(r->warning, sizeof r->warning,
                 "/dev/shm has %.0f MiB free on a node; the shared-memory gradient sum needs "
                 "%.0f MiB plus Open MPI's own segments: using MPI between the ranks instead (slower; "
                 "give the job more /dev/shm, e.g. docker run --shm-size, or pass "
                 "--allreduce mpi to silence this)",
                 room / 1048576, need / 1048576);
        return -1;
    }
    return 0;
}

/* Allocates the node's four shared windows: every rank's gradient buffer, the result (each
 * rank contributes its slice [lo, hi), so the segment is contiguous in rank order), the
 * state (on node rank 0) and the coordination words (on node rank 0). Ranks that cannot
 * share memory (Open MPI decides by its own notion of a node) fail here, with errors
 * returned rather than fatal; 1 if this rank's allocations worked. */
static int shm_windows(nn_replica *r, float **mine_sum, float **state, void **ctl)
{
    MPI_Comm_set_errhandler(r->node, MPI_ERRORS_RETURN);
    slice(r->n_grad, r->node_rank, r->node_size, &r->lo, &r->hi);
    const MPI_Aint f = sizeof(float);
    int ok = MPI_Win_allocate_shared((MPI_Aint)padded(r->n_grad) * f, (int)f, MPI_INFO_NULL,
                                     r->node, &r->grads, &r->win_grads) == MPI_SUCCESS;
    ok = ok && MPI_Win_allocate_shared((MPI_Aint)(r->hi - r->lo) * f, (int)f, MPI_INFO_NULL,
                                       r->node, mine_sum, &r->win_sum) == MPI_SUCCESS;
    MPI_Aint st = r->node_rank == 0 ? (MPI_Aint)(NN_REPLICA_STATES * padded(r->n_state)) * f : 0;
    ok = ok && MPI_Win_allocate_shared(st, (int)f, MPI_INFO_NULL, r->node, state,
                                       &r->win_state) == MPI_SUCCESS;
    MPI_Aint ct = r->node_rank == 0 ? (MPI_Aint)(ctl_words(r) * sizeof(shm_word)) : 0;
    ok = ok && atomic_is_lock_free(&(_Atomic uint64_t){0}) &&
         MPI_Win_allocate_shared(ct, 1, MPI_INFO_NULL, r->node, ctl, &r->win_ctl) == MPI_SUCCESS;
    return ok;
}

/* The private arrays of the one-node path (peer, slo/shi, spent, scratch), and where the
 * windows' segments are: every rank's gradient buffer, the whole result, the state (into
 * *state) and the coordination words. 1 if all of it worked on this rank. */
static int shm_locate(nn_replica *r, const float *mine_sum, float **state, void *ctl)
{
    r->peer = calloc((size_t)r->node_size, sizeof *r->peer);
    r->slo = calloc(2 * (size_t)r->node_size, sizeof *r->slo);
    r->spent = calloc((size_t)r->node_size, 1);
    r->scratch = aligned_alloc(64, SUM_BLOCK * sizeof(float));
    if (!(r->peer && r->slo && r->spent && r->scratch))
        return 0;
    r->shi = r->slo + r->node_size;
    for (int q = 0; q < r->node_size; q++)
        slice(r->n_grad, q, r->node_size, &r->slo[q], &r->shi[q]);
    MPI_Aint sz;
    int du;
    for (int q = 0; q < r->node_size; q++)
        MPI_Win_shared_query(r->win_grads, q, &sz, &du, &r->peer[q]);
    /* MPI_PROC_NULL: the segment of the lowest rank with a non-empty slice, at 0. */
    MPI_Win_shared_query(r->win_sum, MPI_PROC_NULL, &sz, &du, &r->sum);
    MPI_Win_shared_query(r->win_state, 0, &sz, &du, state);
    MPI_Win_shared_query(r->win_ctl, 0, &sz, &du, &ctl);
    int ok = r->sum && *state && ctl && (r->hi == r->lo || r->sum + r->lo == mine_sum);
    if (ok) { /* on a cache line of their own, whatever the segment's alignment */
        const uintptr_t w = sizeof(shm_word);
        r->claim = (shm_word *)(((uintptr_t)ctl + w - 1) / w * w);
        r->ready = r->claim + 2 * r->node_size;
    }
    return ok;
}

/* Once every rank has its windows: errors on the node become fatal, like every other
 * collective's, the windows are locked for the whole run, the coordination words and the
 * state are zeroed, and with several nodes the communicators between them are made. */
static void shm_start(nn_replica *r, float *state)
{
    const nn_comm *c = r->c;
    MPI_Comm_set_errhandler(r->node, MPI_ERRORS_ARE_FATAL);
    for (int k = 0; k < NN_REPLICA_STATES; k++)
        r->state[k] = state + (size_t)k * padded(r->n_state);
    MPI_Win_lock_all(MPI_MODE_NOCHECK, r->win_grads);
    MPI_Win_lock_all(MPI_MODE_NOCHECK, r->win_sum);
    MPI_Win_lock_all(MPI_MODE_NOCHECK, r->win_state);
    MPI_Win_lock_all(MPI_MODE_NOCHECK, r->win_ctl);
    r->locked = 1;
    if (r->node_rank == 0)
        for (size_t q = 0; q + 1 < ctl_words(r); q++)
            atomic_init(&r->claim[q].v, 0);
    /* Each rank zeroes (and so first-touches, on its own NUMA node) the state it updates. */
    size_t a = r->lo < r->n_state ? r->lo : r->n_state, b = r->hi < r->n_state ? r->hi : r->n_state;
    for (int k = 0; k < NN_REPLICA_STATES; k++)
        memset(r->state[k] + a, 0, (b - a) * sizeof(float));
    node_sync(r);
    r->cross = r->leaders = MPI_COMM_NULL;
    if (r->nodes > 1) {
        MPI_Comm_split(c->impl->comm, r->node_rank, c->rank, &r->cross);
        MPI_Comm_split(c->impl->comm, r->node_rank == 0 ? 0 : MPI_UNDEFINED, c->rank,
                       &r->leaders);
    }
    if (r->nodes > 1)
        snprintf(r->what, sizeof r->what,
                 "shared memory within each node (%d ranks, one copy of the model state per "
                 "node), MPI between %d nodes",
                 r->node_size, r->nodes);
    else
        snprintf(r->what, sizeof r->what,
                 "shared memory (%d ranks on one node, one copy of the model state)",
                 r->node_size);
}

/* The shared-memory set-up; 0 on success. Every rank of the job returns the same. */
static int shm_setup(nn_replica *r)
{
    if (shm_node(r) != 0 || shm_room(r) != 0)
        return -1;
    float *mine_sum = NULL, *state = NULL;
    void *ctl = NULL;
    int ok = shm_windows(r, &mine_sum, &state, &ctl) && shm_locate(r, mine_sum, &state, ctl);
    if (nn_comm_agree(r->c, !ok) >= 0)
        return -1;
    shm_start(r, state);
    return 0;
}

static void shm_release(nn_replica *r)
{
    MPI_Win *wins[4] = {&r->win_grads, &r->win_sum, &r->win_state, &r->win_ctl};
    for (int i = 0; i < 4; i++)
        if (*wins[i] != MPI_WIN_NULL) {
            if (r->locked)
                MPI_Win_unlock_all(*wins[i]);
            MPI_Win_free(wins[i]);
        }
    MPI_Comm *comms[3] = {&r->leaders, &r->cross, &r->node};
    for (int i = 0; i < 3; i++)
        if (*comms[i] != MPI_COMM_NULL)
            MPI_Comm_free(comms[i]);
    free(r->peer);
    free(r->scratch);
    free(r->slo);
    free(r->spent);
    r->peer = NULL;
    r->scratch = NULL;
    r->slo = r->shi = NULL;
    r->spent = NULL;
    r->locked = 0;
}

nn_replica *nn_replica_create(const nn_comm *c, size_t n_state, size_t n_grad,
                              nn_allreduce_mode mode)
{
    nn_replica *r = calloc(1, sizeof *r);
    if (nn_comm_agree(c, r == NULL) >= 0) {
        free(r);
        return NULL;
    }
    r->c = c;
    r->n_state = n_state;
    r->n_grad = n_grad;
    r->node = r->cross = r->leaders = MPI_COMM_NULL;
    r->win_grads = r->win_sum = r->win_state = r->win_ctl = MPI_WIN_NULL;
    if (c->size > 1 && mode == NN_ALLREDUCE_AUTO) {
        enter(c, "shared-memory set-up");
        int ok = shm_setup(r) == 0;
        if (!ok)
            shm_release(r);
        leave(c);
        if (ok) {
            r->kind = R_SHM;
            if (xs_create(r) == 0)
                return r;
            nn_replica_free(r);
            return NULL;
        }
    }
    /* Private memory: the state, and one buffer that is summed in place. */
    r->kind = c->size > 1 ? R_MPI : R_SINGLE;
    r->block = calloc(NN_REPLICA_STATES * padded(n_state) + padded(n_grad), sizeof(float));
    if (nn_comm_agree(c, r->block == NULL) >= 0) {
        free(r->block);
        free(r);
        return NULL;
    }
    for (int k = 0; k < NN_REPLICA_STATES; k++)
        r->state[k] = r->block + (size_t)k * padded(n_state);
    r->grads = r->sum = r->block + NN_REPLICA_STATES * padded(n_state);
    r->lo = 0;
    r->hi = n_grad;
    snprintf(r->what, sizeof r->what, "%s",
             r->kind == R_MPI ? "MPI (a full copy of the model state per rank)"
                              : "nothing to sum (one rank)");
    if (xs_create(r) != 0) {
        nn_replica_free(r);
        return NULL;
    }
    return r;
}

float *nn_replica_state(const nn_replica *r, int k) { return r->state[k]; }
const char *nn_replica_warning(const nn_replica *r) { return r->warning[0] ? r->warning : NULL; }
float *nn_replica_grads(const nn_replica *r) { return r->grads; }
const char *nn_replica_describe(const nn_replica *r) { return r->what; }

/* --trace: the sum's time told apart by what it is doing (NN_TR_WAIT, _ADD, _ALLREDUCE,
 * _OPTIMIZER). phase() ends the current span and starts the next; with the recorder off it
 * is one branch. Waits shorter than a microsecond (a block that was ready) are left out. */
typedef struct {
    int kind;
    double t0;
} phase_span;

static void phase(phase_span *p, int kind)
{
    if (!nn_trace_recording)
        return;
    double now = nn_now();
    if (p->kind >= 0 && (p->kind != NN_TR_WAIT || now - p->t0 > 1e-6))
        nn_trace_span((nn_trace_kind)p->kind, 0, p->t0, now);
    p->kind = kind;
    p->t0 = now;
}

/* ---- the sum between nodes (xsum.c) ---- */

static int xs_ready(void *ctx, size_t a);
static float *xs_local(void *ctx, size_t a, size_t b);

/* Builds the sum between nodes where there is one: R_MPI over every rank, R_SHM with several
 * nodes over cross. Collective; 0, or -1 on every rank. */
static int xs_create(nn_replica *r)
{
    int between = r->kind == R_MPI || (r->kind == R_SHM && r->cross != MPI_COMM_NULL);
    if (!between)
        return 0;
    /* buckets of 64 Ki floats or more, at most 8; NN_TEST_XSUM_BUCKET=N (tests): N or more,
     * so that a small model has several */
    const char *tb = getenv("NN_TEST_XSUM_BUCKET");
    size_t min = tb && atol(tb) > 0 ? (size_t)atol(tb) : (size_t)1 << 16;
    r->xs = xsum_create(r->kind == R_MPI ? r->c->impl->comm : r->cross, r->lo, r->hi, r->n_state,
                        8, min);
    r->overlap = 1;
    r->my_from = r->n_grad;
    if (nn_comm_agree(r->c, r->xs == NULL) >= 0) {
        xsum_free(r->xs);
        r->xs = NULL;
        return -1;
    }
    size_t w = strlen(r->what);
    snprintf(r->what + w, sizeof r->what - w, "; between %s: reduce-scatter and allgather in %d "
             "bucket%s", r->kind == R_MPI ? "ranks" : "nodes", xsum_buckets(r->xs),
             xsum_buckets(r->xs) > 1 ? "s" : "");
    return 0;
}

void nn_replica_set_compression(nn_replica *r, nn_grad_compression comp)
{
    size_t w = strlen(r->what);
    if (comp != NN_GRAD_NONE)
        snprintf(r->what + w, sizeof r->what - w, "%s",
                 r->xs ? ", bfloat16 on the wire" : "; no sum between nodes to compress");
    if (r->xs)
        xsum_set_bf16(r->xs, comp == NN_GRAD_BF16);
}

void nn_replica_set_overlap(nn_replica *r, int on)
{
    r->overlap = on;
    size_t w = strlen(r->what);
    if (r->xs)
        snprintf(r->what + w, sizeof r->what - w, "%s",
                 on ? ", started during backward" : ", after backward");
}

/* Calls update on [a, b) in pieces of at most `block` floats, timing the calls; g holds the
 * sum of [a, b). */
static void apply(nn_replica_update_fn update, void *ctx, const float *g, size_t a, size_t b,
                  size_t block, double *t_update)
{
    double t0 = nn_now();
    for (size_t i = a; i < b; i += block)
        update(ctx, g + (i - a), i, b - i < block ? b : i + block);
    *t_update += nn_now() - t0;
}

/* Adds up the block [a, a + m) of every buffer of the node into out, in node-rank order, so
 * the result does not depend on which rank adds it up. */
static void sum_block(const nn_replica *r, float *restrict out, size_t a, size_t m)
{
    const float *restrict x = r->peer[0] + a, *restrict y = r->peer[1] + a;
    for (size_t i = 0; i < m; i++)
        out[i] = x[i] + y[i];
    for (int q = 2; q < r->node_size; q++) {
        const float *restrict z = r->peer[q] + a;
        for (size_t i = 0; i < m; i++)
            out[i] += z[i];
    }
}

/* A rank's progress word counts up through the steps: in step g, the value
 * g (n_grad + 1) + (n_grad - from) says that its buffer is final on [from, n_grad). */
static uint64_t progress(const nn_replica *r, size_t from)
{
    return r->gen * (uint64_t)(r->n_grad + 1) + (uint64_t)(r->n_grad - from);
}

static xsum_source xs_source(nn_replica *r) { return (xsum_source){r, xs_ready, xs_local}; }

void nn_replica_ready(nn_replica *r, size_t from)
{
    if (r->kind == R_SHM)
        atomic_store_explicit(&r->ready[r->node_rank].v, progress(r, from), memory_order_release);
    else
        r->my_from = from < r->my_from ? from : r->my_from;
    if (r->xs && r->overlap) { /* buckets of the sum between nodes start as they are ready */
        xsum_source s = xs_source(r);
        enter(r->c, "allreduce"); /* never waits, but the step's sum begins here (test hooks) */
        xsum_progress(r->xs, &s);
        leave(r->c);
    }
}

/* Whether every rank of the node has published its buffer from a on. */
static int is_ready(const nn_replica *r, size_t a)
{
    const uint64_t want = progress(r, a);
    for (int q = 0; q < r->node_size; q++)
        if (atomic_load_explicit(&r->ready[q].v, memory_order_acquire) < want)
            return 0;
    return 1;
}

/* A short pause in a wait: spins briefly, then yields the core, since with more ranks than
 * cores the rank waited for may need it. */
static void pause_wait(unsigned *spin)
{
    if ((*spin)++ >= 64)
        sched_yield();
#if defined(__x86_64__) || defined(__i386__)
    else
        __builtin_ia32_pause();
#endif
}

/* xsum's source: R_MPI, this rank's own buffer as backward publishes it; R_SHM, the node's
 * sum of the slice, once every rank of the node has published it (summed here, into the
 * shared result). */
static int xs_ready(void *ctx, size_t a)
{
    const nn_replica *r = ctx;
    return r->kind == R_SHM ? is_ready(r, a) : r->my_from <= a;
}

static float *xs_local(void *ctx, size_t a, size_t b)
{
    nn_replica *r = ctx;
    if (r->kind != R_SHM)
        return r->grads + a;
    /* --trace: in the step, a phase of the sum; during backward, a span inside the layer's */
    double t0 = !r->ph && nn_trace_recording ? nn_now() : 0.0;
    if (r->ph)
        phase(r->ph, NN_TR_ADD);
    for (size_t i = a; i < b; i += SUM_BLOCK)
        sum_block(r, r->sum + i, i, b - i < SUM_BLOCK ? b - i : SUM_BLOCK);
    if (r->ph)
        phase(r->ph, NN_TR_ALLREDUCE);
    else if (nn_trace_recording)
        nn_trace_span(NN_TR_ADD, 0, t0, nn_now());
    return r->sum + a;
}

/* The sum between nodes of this rank's range: the buckets started during backward or
 * now, each updated (update) as soon as its sum is complete. Inside the step's wait
 * (enter); no allocation. */
static void between_nodes(nn_replica *r, nn_replica_update_fn update, void *ctx,
                          double *t_update, phase_span *ph)
{
    xsum_source s = xs_source(r);
    r->ph = ph;
    phase(ph, NN_TR_ALLREDUCE);
    for (unsigned spin = 0; !xsum_done(r->xs);) {
        int moved = xsum_progress(r->xs, &s);
        size_t a, b;
        const float *g;
        while (xsum_take(r->xs, &a, &b, &g)) {
            phase(ph, NN_TR_OPTIMIZER);
            apply(update, ctx, g, a, b, SUM_BLOCK, t_update);
            phase(ph, NN_TR_ALLREDUCE);
            moved = 1;
        }
        if (!moved)
            pause_wait(&spin);
    }
    r->ph = NULL;
    xsum_reset(r->xs);
    r->my_from = r->n_grad;
}

/* Block j of slice s, counted from the top of the slice down: [*a, *a + *m). Blocks start
 * every SUM_BLOCK floats from the slice's start, so on cache lines; the top one may be
 * shorter. 0 if the slice has fewer blocks. */
static int block_of(const nn_replica *r, int s, uint64_t j, size_t *a, size_t *m)
{
    size_t lo = r->slo[s], hi = r->shi[s], nb = (hi - lo + SUM_BLOCK - 1) / SUM_BLOCK;
    if (j >= nb)
        return 0;
    *a = lo + (nb - 1 - (size_t)j) * SUM_BLOCK;
    *m = hi - *a < SUM_BLOCK ? hi - *a : SUM_BLOCK;
    return 1;
}

/* The slice to claim the next block from: this rank's own slice if its next block is ready,
 * else the first other slice, from the top of the buffer down, whose next block is ready;
 * waits while blocks remain but none is ready. -1 when every block is claimed. */
static int pick_slice(nn_replica *r, shm_word *claims)
{
    const int p = r->node_size;
    for (unsigned spin = 0;; pause_wait(&spin)) {
        int left = 0;
        for (int k = 0; k < p; k++) {
            int s = k == 0 ? r->node_rank : p - k <= r->node_rank ? p - k - 1 : p - k;
            size_t a, m;
            if (r->spent[s])
                continue;
            uint64_t next = atomic_load_explicit(&claims[s].v, memory_order_relaxed);
            if (!block_of(r, s, next, &a, &m)) {
                r->spent[s] = 1;
                continue;
            }
            left = 1;
            if (is_ready(r, a))
                return s;
        }
        if (!left)
            return -1;
    }
}

/* R_SHM on one node: no barrier first. Each rank owns a slice of the buffer, cut on cache
 * lines, whose blocks it claims from a shared counter from the top down (backward writes
 * the last layer first), adds up once every rank has published them (nn_replica_ready), and
 * updates while they are in L1. A rank whose own next block is not ready yet, or whose slice
 * is done, claims ready blocks of the other slices: a rank that finishes backward early
 * takes over work from a late one instead of waiting for it, and in a balanced step every
 * rank keeps to its own slice (and its cache). The counters of step g are claim[g % 2]; each
 * rank zeroes its own counter for step g + 1, which nobody touches in step g. Blocks of
 * state positions are summed into a scratch block (only the rank that claimed it needs it);
 * blocks that hold extras go to the shared result.
 * R_SHM on several nodes: once every rank's buffer is complete, each rank adds up its own
 * slice, the slices are summed between nodes, and each rank updates its slice.
 * Either way the final barrier publishes the state and the extras. */
const float *nn_replica_step(nn_replica *r, nn_replica_update_fn update, void *ctx,
                             double *t_update)
{
    *t_update = 0.0;
    phase_span ph = {-1, 0.0};
    if (r->kind != R_SHM) {
        if (r->kind == R_MPI) {
            enter(r->c, "allreduce");
            nn_replica_ready(r, 0);
            between_nodes(r, update, ctx, t_update, &ph);
            leave(r->c);
        } else {
            phase(&ph, NN_TR_OPTIMIZER);
            apply(update, ctx, r->sum, 0, r->n_grad, r->n_grad, t_update);
        }
        phase(&ph, -1);
        return r->sum;
    }
    enter(r->c, "allreduce");
    if (r->cross == MPI_COMM_NULL) {
        const size_t p = (size_t)r->node_size;
        shm_word *claims = r->claim + (r->gen % 2) * p, *next = r->claim + (r->gen + 1) % 2 * p;
        atomic_store_explicit(&next[r->node_rank].v, 0, memory_order_relaxed);
        memset(r->spent, 0, p);
        nn_replica_ready(r, 0);
        for (int s; phase(&ph, NN_TR_WAIT), (s = pick_slice(r, claims)) >= 0;) {
            size_t a, m;
            uint64_t j = atomic_fetch_add_explicit(&claims[s].v, 1, memory_order_relaxed);
            if (!block_of(r, s, j, &a, &m))
                continue; /* another rank took the last one */
            unsigned spin = 0; /* the block claimed may be below the one that was ready */
            while (!is_ready(r, a))
                pause_wait(&spin);
            float *out = a + m <= r->n_state ? r->scratch : r->sum + a;
            phase(&ph, NN_TR_ADD);
            sum_block(r, out, a, m);
            phase(&ph, NN_TR_OPTIMIZER);
            apply(update, ctx, out, a, a + m, m, t_update);
        }
    } else {
        nn_replica_ready(r, 0);
        between_nodes(r, update, ctx, t_update, &ph);
    }
    r->gen++;
    phase(&ph, NN_TR_WAIT);
    node_sync(r);
    phase(&ph, -1);
    leave(r->c);
    return r->sum;
}

void nn_replica_bcast(nn_replica *r, int k)
{
    size_t bytes = r->n_state * sizeof(float);
    if (r->kind != R_SHM) {
        nn_comm_bcast(r->c, r->state[k], bytes, 0);
        return;
    }
    /* One copy per node: rank 0 sends it to the other nodes' leaders, who write it into their
     * node's segment; the barrier makes it visible to every rank of the node. */
    if (r->leaders != MPI_COMM_NULL) {
        enter(r->c, "broadcast");
        comm_bcast_on(r->leaders, r->state[k], bytes, 0);
        leave(r->c);
    }
    enter(r->c, "broadcast");
    node_sync(r);
    leave(r->c);
}

void nn_replica_free(nn_replica *r)
{
    if (!r)
        return;
    if (r->kind == R_SHM) { /* freeing the windows waits for every rank of the node */
        enter(r->c, "shared-memory release");
        shm_release(r);
        leave(r->c);
    }
    xsum_free(r->xs);
    free(r->block);
    free(r);
}
