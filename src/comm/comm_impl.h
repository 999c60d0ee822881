/* comm_impl.h: private to src/comm (not installed in include/): the state behind nn_comm's
 * impl pointer, the naming of waits for the watchdog (enter/leave), and the few helpers of
 * comm.c and watchdog.c that the replica (replica.c) also uses, and the sum between nodes
 * (xsum.c) that it runs. The files of src/comm depend on each other in one direction only:
 * replica.c calls comm.c, watchdog.c and xsum.c, comm.c calls watchdog.c, and watchdog.c and
 * xsum.c call neither. */
#ifndef NN_COMM_IMPL_H
#define NN_COMM_IMPL_H

#include <mpi.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>

#include "nn_clock.h"
#include "nn_comm.h"

struct nn_comm_impl {
    MPI_Comm comm; /* a duplicate of MPI_COMM_WORLD: our traffic never mixes with a library's */
    /* watchdog: what the main thread is waiting on, and since when (0: not in a collective) */
    _Atomic double since;
    _Atomic(const char *) op;
    _Atomic long step;
    _Atomic int stop;
    double timeout;
    int rank;
    pthread_t thread;
    int running;
    /* NN_TEST_FREEZE=OP:RANK[:STEP] (tests only): that rank stops itself with SIGSTOP when it
     * reaches the wait OP at step STEP or later, so a test can freeze a rank exactly at any
     * wait point (see comm_freeze_point) instead of guessing the moment with a delay. */
    int depth; /* nesting of enter() (main thread only) */
    char freeze_op[48];
    int freeze_rank;
    long freeze_step;
    /* NN_TEST_FREEZE_SIGNAL=SIG:parent|self (SIG: a number): instead of stopping, the rank
     * sends SIG twice, to its parent (mpirun, which forwards it to every rank) or to itself,
     * so a test's signal lands at an exact step with nothing to wait for. */
    int freeze_signal, freeze_to_parent;
};

/* ---- watchdog.c ---- */

/* The watchdog's part of a new w (zeroed): no wait yet, step 0, and the test hooks from
 * NN_TEST_FREEZE and NN_TEST_FREEZE_SIGNAL (anything malformed leaves a hook off). */
void comm_watchdog_init(nn_comm_impl *w);
/* The test hook at the wait or point `op` (only called while w->freeze_op is set). */
void comm_freeze_point(const nn_comm *c, const char *op);
/* Stops and joins the watchdog thread, if it runs. */
void comm_watchdog_stop(nn_comm_impl *w);

/* Marks the start and end of a wait on other ranks for the watchdog (two relaxed stores). */
static inline void enter(const nn_comm *c, const char *op)
{
    if (c->impl->freeze_op[0])
        comm_freeze_point(c, op);
    if (c->impl->depth++ > 0) /* inside a longer wait (an agreement during the set-up) */
        return;
    atomic_store_explicit(&c->impl->op, op, memory_order_relaxed);
    atomic_store_explicit(&c->impl->since, nn_now(), memory_order_release);
}
static inline void leave(const nn_comm *c)
{
    if (--c->impl->depth == 0)
        atomic_store_explicit(&c->impl->since, 0.0, memory_order_release);
}

/* ---- comm.c ---- */

/* In-place allreduce and broadcast on any communicator, in chunks of at most 16 MiB (MPI
 * counts are int). They name no wait: the caller does. */
void comm_allreduce_on(MPI_Comm comm, void *buf, size_t n, size_t elem, MPI_Datatype t,
                       MPI_Op op);
void comm_bcast_on(MPI_Comm comm, void *buf, size_t bytes, int root);

enum { NAME_W = 64 }; /* bytes per host name in the topology exchange */
/* strncmp over NAME_W bytes, for qsort. */
int comm_cmp_names(const void *a, const void *b);
/* Every rank's host name, NAME_W bytes each in rank order, from one allgather; the caller
 * frees the array; mine receives this rank's name. Collective; names no wait. */
char *comm_host_names(const nn_comm *c, char mine[NAME_W]);

/* ---- xsum.c: the gradient sum between nodes, in buckets ---- */

/* Where a bucket's contributions come from: ready(ctx, a) says that every contribution of
 * this node to positions [a, ...) is final; local(ctx, a, b) returns this node's sum of
 * [a, b), computed then, where the bucket's sum will go. */
typedef struct {
    void *ctx;
    int (*ready)(void *ctx, size_t a);
    float *(*local)(void *ctx, size_t a, size_t b);
} xsum_source;
typedef struct comm_xsum comm_xsum;
/* For the range [lo, hi) of the buffer, summed over comm (H > 1 ranks), in at most
 * max_buckets buckets of at least min_floats (plus one for the extras from n_state on).
 * Collective (it duplicates comm twice); NULL when out of memory. */
comm_xsum *xsum_create(MPI_Comm comm, size_t lo, size_t hi, size_t n_state, int max_buckets,
                       size_t min_floats);
void xsum_free(comm_xsum *x);
/* bfloat16 on the wire for the state positions (not the extras). */
void xsum_set_bf16(comm_xsum *x, int on);
int xsum_buckets(const comm_xsum *x);
/* Starts the buckets that are ready, in order, and moves those in flight on (MPI_Test);
 * never waits. 1 if anything moved. */
int xsum_progress(comm_xsum *x, const xsum_source *s);
/* A bucket whose sum is complete and not yet taken: its range and sum; 0 if none. */
int xsum_take(comm_xsum *x, size_t *a, size_t *b, const float **g);
/* Every bucket taken; then xsum_reset for the next step. */
int xsum_done(const comm_xsum *x);
void xsum_reset(comm_xsum *x);

#endif
