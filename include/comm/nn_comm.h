/* nn_comm.h: the communication layer. src/comm.c is the only file that includes <mpi.h>;
 * everything else talks to the other ranks through these calls, with the communicator passed
 * explicitly. Works the same under mpirun and as a plain single process (MPI singleton). */
#ifndef NN_COMM_H
#define NN_COMM_H

#include <stddef.h>
#include <stdint.h>

typedef struct nn_comm_impl nn_comm_impl;
typedef struct {
    int rank, size;
    nn_comm_impl *impl;
} nn_comm;

int nn_comm_init(nn_comm *c, int *argc, char ***argv); /* 0 on success */
void nn_comm_finalize(nn_comm *c);
/* Ends every rank of the job at once, with this exit code. Last resort only. */
void nn_comm_abort(const nn_comm *c, int code);

/* In-place sums over all ranks. Large buffers go in chunks (MPI counts are int). */
void nn_comm_sum_f32(const nn_comm *c, float *buf, size_t n);
void nn_comm_sum_f64(const nn_comm *c, double *buf, size_t n);
void nn_comm_sum_i64(const nn_comm *c, int64_t *buf, size_t n);
void nn_comm_max_f64(const nn_comm *c, double *buf, size_t n);
void nn_comm_min_f64(const nn_comm *c, double *buf, size_t n);
void nn_comm_bcast(const nn_comm *c, void *buf, size_t bytes, int root);
/* nn_comm_bcast under another name for the watchdog's message ("checkpoint write"). */
void nn_comm_bcast_as(const nn_comm *c, const char *op, void *buf, size_t bytes, int root);
void nn_comm_barrier(const nn_comm *c);
/* Collective error decision: every rank passes whether it failed; returns the lowest failing
 * rank, or -1 if none failed. All ranks get the same answer, so they can stop together. */
int nn_comm_agree(const nn_comm *c, int failed);

/* Where the ranks run, by host name. Collective. */
typedef struct {
    int hosts;          /* distinct host names */
    int local_ranks;    /* ranks on this rank's host */
    int max_per_host;
    char names[512];    /* "node1 (2), node2 (2)", the first 8 hosts */
} nn_topology;
void nn_comm_topology(const nn_comm *c, nn_topology *t);

/* Text about the MPI library ("Open MPI v4.1.4 ..."), for banners. */
void nn_comm_library(char *buf, size_t len);

/* Exit status of a process whose collective timed out (the watchdog below). */
#define NN_EXIT_COMM_TIMEOUT 3
/* Starts a watchdog thread: a collective of this module that has not completed after
 * `seconds` prints which operation and step, and ends the process with NN_EXIT_COMM_TIMEOUT.
 * seconds <= 0 leaves it off. Returns 0, or -1 if the thread cannot start. */
int nn_comm_watchdog(nn_comm *c, double seconds);
/* Tells the watchdog which training step the next collectives belong to. */
void nn_comm_set_step(const nn_comm *c, long step);
/* The watchdog covers every wait of this module on other ranks, from nn_comm_watchdog until
 * MPI_Finalize has returned in nn_comm_finalize: collectives, the replica's set-up, its
 * spins in nn_replica_step and the freeing of its windows. Each wait has a name that the
 * timeout message gives: allreduce, broadcast, barrier, agreement, topology, gather,
 * shared-memory set-up, shared-memory release, MPI_Finalize, or the caller's (bcast_as).
 *
 * Tests only: NN_TEST_FREEZE=NAME:RANK[:STEP] in the environment makes that rank stop
 * itself (SIGSTOP) on reaching the wait NAME at step STEP or later, or the point NAME given
 * here, so a test freezes a rank exactly where it wants. With NN_TEST_FREEZE_SIGNAL=SIG:parent
 * (or :self) it sends signal number SIG twice to its parent (mpirun) or itself there instead
 * of stopping, so a test's signal lands at an exact step. */
void nn_comm_test_point(const nn_comm *c, const char *name);

/* Gathers n floats from every rank (n may differ between ranks, and be 0) into recv on root,
 * in rank order; recv has room for cap floats (other ranks may pass NULL). Sizes are size_t
 * end to end: the data travel point to point in chunks of at most 16 MiB, so no MPI int count
 * overflows. Collective; returns 0 on every rank, or -1 on every rank, with nothing sent,
 * when the total exceeds cap. */
int nn_comm_gatherv_f32(const nn_comm *c, const float *send, size_t n, float *recv, size_t cap,
                        int root);

/* The replica: the model state that data parallelism keeps identical everywhere
 * (NN_REPLICA_STATES arrays of n_state floats: parameters and the two optimizer moments), and
 * the sum over ranks of every step's gradient buffer (n_grad floats per rank).
 *
 * NN_ALLREDUCE_AUTO: the ranks of one node (same host name) share one copy of the state and
 * their gradient buffers in shared memory (MPI-3 shared windows). Node rank r owns a slice
 * [lo, hi) of the n_grad floats: it adds up that slice of every buffer on the node, in
 * node-rank order, and between nodes the slice is summed by an MPI_Allreduce among the ranks
 * with the same node rank; it then updates that slice of the state. A node therefore holds
 * one copy of the state, each rank updates 1/p of it, and every node computes the same.
 * On a single node the step starts without a barrier: each rank claims the blocks of its
 * slice from a shared counter, top down, as soon as every rank has published that part of
 * its buffer (nn_replica_ready), and when its own next block is not ready it claims ready
 * blocks of the other slices, so a rank done early takes work off the late ones.
 * It falls back to NN_ALLREDUCE_MPI (a private copy per rank, one MPI_Allreduce of the
 * whole buffer, every rank updates everything) when a node has one rank, nodes differ in
 * rank count, or the ranks cannot share memory.
 * NN_TEST_RANKS_PER_NODE=k in the environment groups ranks k by k instead of by host (tests).
 *
 * A step: fill nn_replica_grads (optionally publishing parts as they are final, with
 * nn_replica_ready), then nn_replica_step. */
typedef enum { NN_ALLREDUCE_AUTO = 0, NN_ALLREDUCE_MPI } nn_allreduce_mode;
enum { NN_REPLICA_STATES = 3 };
typedef struct nn_replica nn_replica;
/* Collective; the state starts zeroed. NULL on every rank if memory ran out. */
nn_replica *nn_replica_create(const nn_comm *c, size_t n_state, size_t n_grad,
                              nn_allreduce_mode mode);
float *nn_replica_state(const nn_replica *r, int k); /* k < NN_REPLICA_STATES */
float *nn_replica_grads(const nn_replica *r);         /* this rank's buffer */
/* This rank's gradient buffer is final from position `from` to the end, for the coming
 * nn_replica_step: other ranks may start adding it up. Calls within a step must not raise
 * `from`; nn_replica_step itself publishes the whole buffer. One atomic store, no MPI. */
void nn_replica_ready(nn_replica *r, size_t from);
/* update(ctx, g, a, b) must update the state on positions [a, b) of the n_grad (those from
 * n_state on are the caller's extras), where g[0 .. b-a) is the sum of those positions, and
 * touch nothing else. */
typedef void (*nn_replica_update_fn)(void *ctx, const float *g, size_t a, size_t b);
/* Collective: sums every rank's gradient buffer and calls update on consecutive ranges that
 * together cover this rank's slice (all n_grad when it has its own copy), each range while
 * it is fresh in cache; *t_update gets the seconds spent in update. On return every rank's
 * updates are done and visible. Returns the sum (n_grad floats) of which the extras, from
 * n_state on, are readable by every rank until the next step (the positions before may not
 * have been stored). */
const float *nn_replica_step(nn_replica *r, nn_replica_update_fn update, void *ctx,
                             double *t_update);
/* Collective: state k as rank 0 holds it, to every rank (rank 0 writes it beforehand). */
void nn_replica_bcast(nn_replica *r, int k);
/* What the gradient sum does here, for banners. */
const char *nn_replica_describe(const nn_replica *r);
/* Why the shared-memory path was refused although it was asked for and possible (/dev/shm
 * too small), or NULL. */
const char *nn_replica_warning(const nn_replica *r);
void nn_replica_free(nn_replica *r);

#endif
