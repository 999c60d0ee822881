/* comm_impl.h: private to src/comm (not installed in include/): the state behind nn_comm's
 * impl pointer, the naming of waits for the watchdog (enter/leave), and the few helpers of
 * comm.c and watchdog.c that the replica (replica.c) also uses. The files of src/comm depend
 * on each other in one direction only: replica.c calls comm.c and watchdog.c, comm.c calls
 * watchdog.c, and watchdog.c calls neither. */
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

#endif
