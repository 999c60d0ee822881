/* comm_bench.c: the time of one step's gradient sum, without the training around it, for the
 * cost model of docs/performance.md (scripts/bench.sh runs it at 2 and 4 ranks).
 *
 *   mpirun -np N comm_bench MODE FLOATS...      MODE: auto | mpi
 *
 * For each size, it times nn_replica_step (the sum over ranks plus the barriers that publish
 * it; the update callback does nothing) over enough repetitions for about 0.3 s, after a
 * barrier each time so every rank starts together, and prints on rank 0 one line
 *   ranks=N mode=MODE floats=F bytes=B median_s=T mean_s=T
 * A tool, not a test: it asserts nothing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn_clock.h"
#include "nn_comm.h"
#include "nn_replica.h"

static void nothing(void *ctx, const float *sum, size_t a, size_t b)
{
    (void)ctx, (void)sum, (void)a, (void)b;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    nn_comm c;
    if (nn_comm_init(&c, &argc, &argv) != 0)
        return 1;
    if (argc < 3 || (strcmp(argv[1], "auto") != 0 && strcmp(argv[1], "mpi") != 0)) {
        if (c.rank == 0)
            fprintf(stderr, "usage: mpirun -np N comm_bench auto|mpi FLOATS...\n");
        nn_comm_finalize(&c);
        return 2;
    }
    nn_allreduce_mode mode = strcmp(argv[1], "mpi") == 0 ? NN_ALLREDUCE_MPI : NN_ALLREDUCE_AUTO;
    enum { MAXREP = 2000 };
    static double t[MAXREP];
    for (int k = 2; k < argc; k++) {
        size_t n = (size_t)strtoull(argv[k], NULL, 10);
        nn_replica *r = nn_replica_create(&c, n, n, mode);
        if (!r)
            break;
        float *g = nn_replica_grads(r);
        for (size_t i = 0; i < n; i++)
            g[i] = 1.0f;
        double spent = 0.0, tu;
        int reps = 0;
        for (int w = 0; w < 3; w++)
            nn_replica_step(r, nothing, NULL, &tu);
        /* rank 0 decides when to stop, so every rank runs the same number of repetitions */
        for (int more = 1; more && reps < MAXREP;) {
            nn_comm_barrier(&c);
            double t0 = nn_now();
            nn_replica_step(r, nothing, NULL, &tu);
            t[reps] = nn_now() - t0;
            spent += t[reps++];
            more = spent < 0.3 || reps < 10;
            nn_comm_bcast(&c, &more, sizeof more, 0);
        }
        double mean = 0.0;
        for (int i = 0; i < reps; i++)
            mean += t[i] / reps;
        qsort(t, (size_t)reps, sizeof *t, cmp);
        if (c.rank == 0)
            printf("ranks=%d mode=%s floats=%zu bytes=%zu median_s=%.9f mean_s=%.9f path=\"%s\"\n",
                   c.size, argv[1], n, n * sizeof(float), t[reps / 2], mean,
                   nn_replica_describe(r));
        nn_replica_free(r);
    }
    nn_comm_finalize(&c);
    return 0;
}
