/* comm.c: the MPI wrappers of nn_comm.h: start and end of MPI, the collectives (sums,
 * broadcast, barrier, agreement), the topology query and nn-predict's gather. Each names its
 * wait for the watchdog (watchdog.c). The replica is in replica.c, which builds on these;
 * nothing here calls it. */
#include <limits.h>
#include <mpi.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "comm_impl.h"

/* MPI counts are int. Open MPI's allreduce also slows down sharply above ~32 MiB, so big
 * buffers go in chunks of at most 16 MiB. */
#define NN_CHUNK_BYTES (16u << 20)

int nn_comm_init(nn_comm *c, int *argc, char ***argv)
{
    memset(c, 0, sizeof *c);
    /* FUNNELED: only the main thread calls MPI; the watchdog thread never does. */
    int provided;
    if (MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS)
        return -1;
    c->impl = calloc(1, sizeof *c->impl);
    if (!c->impl)
        MPI_Abort(MPI_COMM_WORLD, 1);
    MPI_Comm_dup(MPI_COMM_WORLD, &c->impl->comm);
    /* Errors in collectives are fatal for the whole job rather than a hang on some ranks. */
    MPI_Comm_set_errhandler(c->impl->comm, MPI_ERRORS_ARE_FATAL);
    MPI_Comm_rank(c->impl->comm, &c->rank);
    MPI_Comm_size(c->impl->comm, &c->size);
    comm_watchdog_init(c->impl);
    return 0;
}

void nn_mpi_libver(nn_libver *v)
{
    char lib[MPI_MAX_LIBRARY_VERSION_STRING];
    int len = 0;
    MPI_Get_library_version(lib, &len);
    lib[len < 0 ? 0 : len < (int)sizeof lib ? len : (int)sizeof lib - 1] = '\0';
    snprintf(v->name, sizeof v->name, "MPI");
#ifdef OMPI_MAJOR_VERSION
    snprintf(v->built, sizeof v->built, "Open MPI %d.%d.%d (MPI %d.%d)", OMPI_MAJOR_VERSION,
             OMPI_MINOR_VERSION, OMPI_RELEASE_VERSION, MPI_VERSION, MPI_SUBVERSION);
#else
    snprintf(v->built, sizeof v->built, "MPI %d.%d", MPI_VERSION, MPI_SUBVERSION);
#endif
    snprintf(v->runs, sizeof v->runs, "%.*s", (int)strcspn(lib, ",\n"), lib); /* first clause */
}

/* MPI_Finalize waits for every other rank to reach it, so the watchdog keeps watching until
 * it returns: a rank that freezes after the last collective must not hang the job. */
void nn_comm_finalize(nn_comm *c)
{
    nn_comm_impl *w = c->impl;
    if (!w) {
        MPI_Finalize();
        return;
    }
    enter(c, "MPI_Finalize");
    MPI_Comm_free(&w->comm);
    MPI_Finalize();
    leave(c);
    comm_watchdog_stop(w);
    free(w);
    c->impl = NULL;
}

void nn_comm_abort(const nn_comm *c, int code)
{
    MPI_Abort(c->impl ? c->impl->comm : MPI_COMM_WORLD, code);
}

/* In-place allreduce and broadcast on any communicator, in chunks of NN_CHUNK_BYTES. */
void comm_allreduce_on(MPI_Comm comm, void *buf, size_t n, size_t elem, MPI_Datatype t,
                       MPI_Op op)
{
    size_t chunk = NN_CHUNK_BYTES / elem;
    for (size_t i = 0; i < n; i += chunk) {
        size_t m = n - i < chunk ? n - i : chunk;
        MPI_Allreduce(MPI_IN_PLACE, (char *)buf + i * elem, (int)m, t, op, comm);
    }
}

void comm_bcast_on(MPI_Comm comm, void *buf, size_t bytes, int root)
{
    for (size_t i = 0; i < bytes; i += NN_CHUNK_BYTES) {
        size_t m = bytes - i < NN_CHUNK_BYTES ? bytes - i : NN_CHUNK_BYTES;
        MPI_Bcast((char *)buf + i, (int)m, MPI_BYTE, root, comm);
    }
}

static void allreduce(const nn_comm *c, void *buf, size_t n, size_t elem, MPI_Datatype t,
                      MPI_Op op)
{
    enter(c, "allreduce");
    comm_allreduce_on(c->impl->comm, buf, n, elem, t, op);
    leave(c);
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
    nn_comm_bcast_as(c, "broadcast", buf, bytes, root);
}

void nn_comm_bcast_as(const nn_comm *c, const char *op, void *buf, size_t bytes, int root)
{
    enter(c, op);
    comm_bcast_on(c->impl->comm, buf, bytes, root);
    leave(c);
}

void nn_comm_barrier(const nn_comm *c)
{
    enter(c, "barrier");
    MPI_Barrier(c->impl->comm);
    leave(c);
}

int nn_comm_agree(const nn_comm *c, int failed)
{
    int mine = failed ? c->rank : INT_MAX, first;
    enter(c, "agreement");
    MPI_Allreduce(&mine, &first, 1, MPI_INT, MPI_MIN, c->impl->comm);
    leave(c);
    return first == INT_MAX ? -1 : first;
}

int comm_cmp_names(const void *a, const void *b) { return strncmp(a, b, NAME_W); }

/* Every rank's host name, NAME_W bytes each in rank order, from one allgather (not
 * MPI_Comm_split_type: Open MPI hangs in it when two hosts share a hostname, e.g. network
 * namespaces). The caller frees the array; mine receives this rank's name. */
char *comm_host_names(const nn_comm *c, char mine[NAME_W])
{
    char name[MPI_MAX_PROCESSOR_NAME] = "";
    int len = 0;
    MPI_Get_processor_name(name, &len);
    snprintf(mine, NAME_W, "%.*s", NAME_W - 1, name); /* long names are cut */
    char *all = calloc((size_t)c->size, NAME_W);
    if (!all)
        MPI_Abort(c->impl->comm, 1);
    MPI_Allgather(mine, NAME_W, MPI_CHAR, all, NAME_W, MPI_CHAR, c->impl->comm);
    return all;
}

/* Host names counted on every rank; duplicates only mislabel the banner. */
void nn_comm_topology(const nn_comm *c, nn_topology *t)
{
    memset(t, 0, sizeof *t);
    char mine[NAME_W];
    enter(c, "topology");
    char *all = comm_host_names(c, mine);
    leave(c);
    t->host_first = 1; /* no lower rank has this host's name (all is in rank order here) */
    for (int r = 0; r < c->rank && t->host_first; r++)
        t->host_first = comm_cmp_names(all + (size_t)r * NAME_W, mine) != 0;
    qsort(all, (size_t)c->size, NAME_W, comm_cmp_names);
    int shown = 0;
    for (int i = 0; i < c->size;) {
        const char *h = all + (size_t)i * NAME_W;
        int j = i + 1;
        while (j < c->size && comm_cmp_names(all + (size_t)j * NAME_W, h) == 0)
            j++;
        int n = j - i;
        t->hosts++;
        t->max_per_host = n > t->max_per_host ? n : t->max_per_host;
        if (comm_cmp_names(h, mine) == 0)
            t->local_ranks = n;
        if (shown < 8)
            snprintf(t->names + strlen(t->names), sizeof t->names - strlen(t->names), "%s%.*s (%d)",
                     shown ? ", " : "", NAME_W, h, n);
        shown++;
        i = j;
    }
    if (shown > 8)
        snprintf(t->names + strlen(t->names), sizeof t->names - strlen(t->names), ", +%d more",
                 shown - 8);
    free(all);
}

void nn_comm_library(char *buf, size_t len)
{
    char v[MPI_MAX_LIBRARY_VERSION_STRING];
    int n = 0;
    MPI_Get_library_version(v, &n);
    v[strcspn(v, ",\n")] = '\0'; /* the first clause: "Open MPI v4.1.4" */
    snprintf(buf, len, "%s", v);
}

/* ---- nn-predict: gathering the predictions on one rank ---- */

/* Point to point, in rank order, in chunks of at most NN_CHUNK_BYTES: every int count stays
 * small and offsets stay size_t, whatever the total. The root posts its receives rank by rank,
 * so a rank's sends wait until its turn. */
int nn_comm_gatherv_bytes(const nn_comm *c, const void *send, size_t n, void *recv, size_t cap,
                          int root)
{
    uint64_t total = n;
    enter(c, "gather");
    MPI_Allreduce(MPI_IN_PLACE, &total, 1, MPI_UINT64_T, MPI_SUM, c->impl->comm);
    int ok = c->rank == root ? (recv != NULL || total == 0) && total <= cap : 1;
    MPI_Bcast(&ok, 1, MPI_INT, root, c->impl->comm);
    if (!ok) {
        leave(c);
        return -1;
    }
    const size_t chunk = NN_CHUNK_BYTES;
    const unsigned char *src = send;
    unsigned char *dst = recv;
    if (c->rank != root) {
        uint64_t mine = n;
        MPI_Send(&mine, 1, MPI_UINT64_T, root, 1, c->impl->comm);
        for (size_t i = 0; i < n; i += chunk) {
            size_t m = n - i < chunk ? n - i : chunk;
            MPI_Send(src + i, (int)m, MPI_BYTE, root, 2, c->impl->comm);
        }
        leave(c);
        return 0;
    }
    size_t off = 0;
    for (int r = 0; r < c->size; r++) {
        uint64_t cnt = n;
        if (r == root) {
            if (n > 0)
                memcpy(dst + off, src, n);
        } else {
            MPI_Recv(&cnt, 1, MPI_UINT64_T, r, 1, c->impl->comm, MPI_STATUS_IGNORE);
            for (size_t i = 0; i < cnt; i += chunk) {
                size_t m = cnt - i < chunk ? (size_t)cnt - i : chunk;
                MPI_Recv(dst + off + i, (int)m, MPI_BYTE, r, 2, c->impl->comm,
                         MPI_STATUS_IGNORE);
            }
        }
        off += (size_t)cnt;
    }
    leave(c);
    return 0;
}

int nn_comm_gatherv_f32(const nn_comm *c, const float *send, size_t n, float *recv, size_t cap,
                        int root)
{
    /* cap * 4 cannot overflow: recv holds cap floats */
    return nn_comm_gatherv_bytes(c, send, n * sizeof(float), recv, cap * sizeof(float), root);
}
