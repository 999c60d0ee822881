/* nn_replica.h: the replica (src/comm/replica.c), the model state shared by the ranks of a
 * node and the gradient sum of every step; part of the communication layer (nn_comm.h). */
#ifndef NN_REPLICA_H
#define NN_REPLICA_H

#include <stddef.h>

#include "nn_comm.h"

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
/* What travels between nodes in the gradient sum (--grad-compression).
 * NN_GRAD_BF16: the state positions of the sum between nodes (the MPI_Allreduce of the
 * fall-back, the slices' sum between nodes under shared memory) travel as bfloat16, half
 * the bytes: each node's contribution rounded to bf16 (round to nearest even), added up in
 * float32 on arrival in node order (a reduce-scatter), and the sums rounded to bf16 again on
 * their way back to every node (an allgather), so every rank ends with the same values. The
 * extras (loss, flags) stay float32. Within a node nothing changes. */
typedef enum { NN_GRAD_NONE = 0, NN_GRAD_BF16 } nn_grad_compression;
/* Before the first step; every rank the same. Cannot fail: the buffers it needs were sized
 * for it by nn_replica_create. */
void nn_replica_set_compression(nn_replica *r, nn_grad_compression comp);
/* The sum between nodes (in either path) runs in buckets: a reduce-scatter then an allgather
 * per bucket, nonblocking, each chunk added up in node order (so the bits do not depend on
 * the buckets or their timing). With overlap on (the default), a bucket starts as soon as
 * every rank of the node has published it (nn_replica_ready, during backward) and its
 * update runs as soon as its sum is complete; off, they all start in nn_replica_step. The
 * results are the same bits either way. Before the first step; every rank the same. */
void nn_replica_set_overlap(nn_replica *r, int on);
/* Collective: state k as rank 0 holds it, to every rank (rank 0 writes it beforehand). */
void nn_replica_bcast(nn_replica *r, int k);
/* What the gradient sum does here, for banners. */
const char *nn_replica_describe(const nn_replica *r);
/* Why the shared-memory path was refused although it was asked for and possible (/dev/shm
 * too small), or NULL. */
const char *nn_replica_warning(const nn_replica *r);
void nn_replica_free(nn_replica *r);

#endif
