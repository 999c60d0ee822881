/* comm.c: every MPI call of nn-train lives here (see nn_comm.h). */
#include <limits.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn_comm.h"

struct nn_comm_impl {
    MPI_Comm comm; /* a duplicate of MPI_COMM_WORLD: our traffic never mixes with a library's */
};

/* MPI counts are int. Open MPI's allreduce also slows down sharply above ~32 MiB, so big
 * buffers go in chunks of at most 16 MiB. */
#define NN_CHUNK_BYTES (16u << 20)

int nn_comm_init(nn_comm *c, int *argc, char ***argv)
{
    memset(c, 0, sizeof *c);
    if (MPI_Init(argc, argv) != MPI_SUCCESS)
        return -1;
    c->impl = malloc(sizeof *c->impl);
    if (!c->impl)
        MPI_Abort(MPI_COMM_WORLD, 1);
    MPI_Comm_dup(MPI_COMM_WORLD, &c->impl->comm);
    /* Errors in collectives are fatal for the whole job rather than a hang on some ranks. */
    MPI_Comm_set_errhandler(c->impl->comm, MPI_ERRORS_ARE_FATAL);
    MPI_Comm_rank(c->impl->comm, &c->rank);
    MPI_Comm_size(c->impl->comm, &c->size);
    return 0;
}

void nn_comm_finalize(nn_comm *c)
{
    if (c->impl) {
        MPI_Comm_free(&c->impl->comm);
        free(c->impl);
        c->impl = NULL;
    }
    MPI_Finalize();
}

void nn_comm_abort(const nn_comm *c, int code)
{
    MPI_Abort(c->impl ? c->impl->comm : MPI_COMM_WORLD, code);
}

static void allreduce(const nn_comm *c, void *buf, size_t n, size_t elem, MPI_Datatype t,
                      MPI_Op op)
{
    size_t chunk = NN_CHUNK_BYTES / elem;
    for (size_t i = 0; i < n; i += chunk) {
        size_t m = n - i < chunk ? n - i : chunk;
        MPI_Allreduce(MPI_IN_PLACE, (char *)buf + i * elem, (int)m, t, op, c->impl->comm);
    }
}

void nn_comm_sum_f32(const nn_comm *c, float *b, size_t n)
{
    allreduce(c, b, n, sizeof *b, MPI_FLOAT, MPI_SUM);
}
void nn_comm_sum_f64(const nn_comm *c, double *b, size_t n)
{
    allreduce(c, b, n, sizeof *b, MPI_DOUBLE, MPI_SUM);
}
void nn_comm_sum_i64(const nn_comm *c, int64_t *b, size_t n)
{
    allreduce(c, b, n, sizeof *b, MPI_INT64_T, MPI_SUM);
}
void nn_comm_max_f64(const nn_comm *c, double *b, size_t n)
{
    allreduce(c, b, n, sizeof *b, MPI_DOUBLE, MPI_MAX);
}
void nn_comm_min_f64(const nn_comm *c, double *b, size_t n)
{
    allreduce(c, b, n, sizeof *b, MPI_DOUBLE, MPI_MIN);
}

void nn_comm_bcast(const nn_comm *c, void *buf, size_t bytes, int root)
{
    for (size_t i = 0; i < bytes; i += NN_CHUNK_BYTES) {
        size_t m = bytes - i < NN_CHUNK_BYTES ? bytes - i : NN_CHUNK_BYTES;
        MPI_Bcast((char *)buf + i, (int)m, MPI_BYTE, root, c->impl->comm);
    }
}

void nn_comm_barrier(const nn_comm *c) { MPI_Barrier(c->impl->comm); }

int nn_comm_agree(const nn_comm *c, int failed)
{
    int mine = failed ? c->rank : INT_MAX, first;
    MPI_Allreduce(&mine, &first, 1, MPI_INT, MPI_MIN, c->impl->comm);
    return first == INT_MAX ? -1 : first;
}

void nn_comm_library(char *buf, size_t len)
{
    char v[MPI_MAX_LIBRARY_VERSION_STRING];
    int n = 0;
    MPI_Get_library_version(v, &n);
    v[strcspn(v, ",\n")] = '\0'; /* the first clause: "Open MPI v4.1.4" */
    snprintf(buf, len, "%s", v);
}
