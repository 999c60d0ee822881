/* nn_comm.h: the communication layer (src/comm/comm.c, the watchdog in src/comm/watchdog.c).
 * The files of src/comm/ are the only ones that include <mpi.h>; everything else talks to the
 * other ranks through these calls, with the communicator passed explicitly. Works the same
 * under mpirun and as a plain single process (MPI singleton). The replica (the model state
 * and the gradient sum) has its own header, nn_replica.h. */
#ifndef NN_COMM_H
#define NN_COMM_H

#include <stddef.h>
#include <stdint.h>

#include "nn_version.h"

typedef struct nn_comm_impl nn_comm_impl;
typedef struct {
    int rank, size;
    nn_comm_impl *impl;
} nn_comm;

int nn_comm_init(nn_comm *c, int *argc, char ***argv); /* 0 on success */
void nn_comm_finalize(nn_comm *c);
/* MPI for --version: the standard and implementation compiled against, and the loaded
 * library's own version line (callable before nn_comm_init). */
void nn_mpi_libver(nn_libver *v);
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
    int host_first;     /* 1: this rank is the lowest-numbered of its host (energy counters) */
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
/* The same for n bytes of plain data (structs travel as bytes, never as floats). */
int nn_comm_gatherv_bytes(const nn_comm *c, const void *send, size_t n, void *recv, size_t cap,
                          int root);

#endif
