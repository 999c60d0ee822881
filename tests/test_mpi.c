/* test_mpi.c: the trainer's set-up under real mpirun (ctest runs it at -np 1, 2 and 4).
 *
 * Uses a file whose row i has x = (i, 0), so every rank can say exactly which file rows it
 * holds. Checks, for several batch sizes:
 *   - every rank holds identical initial parameters, equal to the seed's initialisation;
 *   - every row of the file is in exactly one place: one training shard or one validation
 *     block, never two, never none;
 *   - the validation rows are the seed's holdout, whatever the number of ranks;
 *   - a rank holds ~1/world of the training set.
 * Failures are counted on each rank and agreed on collectively, so a failing check never
 * leaves another rank waiting; every rank then exits non-zero. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn_comm.h"
#include "nn_config.h"
#include "nn_h5write.h"
#include "nn_trainer.h"

static int failures;
#define CHECK(cond, ...)                                                                      \
    do {                                                                                      \
        if (!(cond)) {                                                                        \
            fprintf(stderr, "[rank %d] FAIL %s:%d: ", comm.rank, __FILE__, __LINE__);         \
            fprintf(stderr, __VA_ARGS__);                                                     \
            fputc('\n', stderr);                                                              \
            failures++;                                                                       \
        }                                                                                     \
    } while (0)

/* Writes /train with n rows: x = (i, 0) float32 [n, 2], y = i % 2 int32 [n]. 0 or -1 (err). */
static int write_rowid(const char *path, size_t n, char *err, size_t errlen)
{
    nn_h5w *w = nn_h5w_create(path, err, errlen);
    nn_h5w_split *s = w ? nn_h5w_add_split(w, "train", 2, 0, err, errlen) : NULL;
    for (size_t i = 0; s && i < n; i++) {
        float x[2] = {(float)i, 0.0f};
        int32_t y = (int32_t)(i % 2);
        if (nn_h5w_append(s, x, &y, err, errlen) != 0)
            s = NULL;
    }
    if (!s) {
        nn_h5w_abort(w);
        return -1;
    }
    return nn_h5w_commit(w, err, errlen);
}

int main(int argc, char **argv)
{
    nn_comm comm;
    if (nn_comm_init(&comm, &argc, &argv) != 0 || argc < 2) {
        fprintf(stderr, "usage: mpirun -np N test_mpi SCRATCH_FILE.h5\n");
        return 2;
    }
    const char *path = argv[1];
    enum { N = 1037 };
    char werr[256];
    if (comm.rank == 0 && write_rowid(path, N, werr, sizeof werr) != 0) {
        fprintf(stderr, "%s\n", werr);
        nn_comm_abort(&comm, 2);
    }
    nn_comm_barrier(&comm);

    const char *batches[] = {"64", "1", "7", "0", "5000"};
    for (size_t b = 0; b < sizeof batches / sizeof *batches; b++) {
        if (strcmp(batches[b], "1") == 0 && comm.size > 1)
            continue; /* a global batch below the rank count is rejected (tested elsewhere) */
        /* --normalize none: x keeps the row number the checks below read */
        char *args[] = {"nn-train", "--data", (char *)path, "--layers", "2,5,2", "--batch",
                        (char *)batches[b], "--seed", "11", "--quiet", "--normalize", "none", NULL};
        nn_config cfg;
        char err[256];
        nn_trainer t;
        CHECK(nn_config_parse(&cfg, 12, args, err, sizeof err) == 0, "parse: %s", err);
        if (nn_trainer_setup(&t, &comm, &cfg, "test") != 0) {
            failures++;
            break; /* setup is collective: every rank is here */
        }
        /* identical initial parameters, equal to what the seed gives */
        float *mine = malloc(t.lo.n_params * sizeof(float));
        nn_params_init(&t.lo, mine, 11);
        CHECK(memcmp(mine, t.params, t.lo.n_params * sizeof(float)) == 0,
              "batch %s: parameters differ from the seed's initialisation", batches[b]);
        double sum = 0;
        for (size_t i = 0; i < t.lo.n_params; i++)
            sum += (double)t.params[i] * (double)(i + 1);
        double mn = sum, mx = sum;
        nn_comm_min_f64(&comm, &mn, 1);
        nn_comm_max_f64(&comm, &mx, 1);
        CHECK(mn == mx, "batch %s: ranks hold different parameters", batches[b]);
        free(mine);

        /* where every file row went */
        double *where = calloc(2 * N, sizeof(double)); /* [train count | val count] per row */
        int mislabelled = 0; /* y must travel with its x: label = row % 2 in this file */
        for (size_t i = 0; i < t.train.n; i++) {
            where[(size_t)t.train.x[2 * i]] += 1;
            mislabelled += t.train.labels[i] != (int32_t)((size_t)t.train.x[2 * i] % 2);
        }
        CHECK(mislabelled == 0, "batch %s: %d training rows with another row's label",
              batches[b], mislabelled);
        for (size_t i = 0; i < t.val.n; i++)
            where[N + (size_t)t.val.x[2 * i]] += 1;
        nn_comm_sum_f64(&comm, where, 2 * N);
        size_t *hv = malloc(N * sizeof(size_t)), *ht = malloc(N * sizeof(size_t)), nv, nt;
        nn_holdout_split(N, 0.1, 11, hv, &nv, ht, &nt);
        unsigned char *is_val = calloc(N, 1);
        for (size_t i = 0; i < nv; i++)
            is_val[hv[i]] = 1;
        int bad = 0;
        for (size_t i = 0; i < N; i++)
            if (where[i] + where[N + i] != 1.0 || where[N + i] != (double)is_val[i])
                bad++;
        CHECK(bad == 0, "batch %s: %d rows not in exactly one shard or in the wrong split",
              batches[b], bad);
        CHECK(t.n_train == nt && t.n_val == nv, "counts %zu/%zu", t.n_train, t.n_val);
        /* balance: a shard holds n_train / world rows to within about one per rank */
        double share = (double)t.n_train / comm.size;
        CHECK(fabs((double)t.train.n - share) <= comm.size + 1.0,
              "batch %s: shard of %zu rows, expected about %.0f", batches[b], t.train.n, share);
        free(where);
        free(hv);
        free(ht);
        free(is_val);
        nn_trainer_free(&t);
    }
    int first = nn_comm_agree(&comm, failures != 0);
    if (comm.rank == 0)
        printf("test_mpi at %d rank(s): %s\n", comm.size, first < 0 ? "all checks passed" : "FAILED");
    nn_comm_finalize(&comm);
    return first < 0 ? 0 : 1;
}
