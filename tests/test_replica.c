/* test_replica.c: the replica (nn_replica: model state plus the per-step gradient sum) under
 * real mpirun, at several rank counts, both modes, and sizes that do and do not fill whole
 * cache lines or give every rank a slice. ctest also runs it with NN_TEST_RANKS_PER_NODE=2
 * at 4 ranks: two pseudo-nodes of two ranks, so the between-node path runs too.
 *
 * Each round, rank r fills position i of its gradient buffer with a small integer of
 * (i, r, round), so sums are exact in float. The update callback must see the exact sum on
 * each range it is given, and writes it into state 0 (as the optimizer would); the ranges of
 * all ranks must cover every position exactly once; after the step every rank must read the
 * exact sum in all of state 0 and in the extras (the positions past the state). Several
 * rounds in a row check that no rank reads a buffer before its owner filled it nor
 * overwrites a result still being read. Every other round the buffers are filled top down
 * in pieces, each published with nn_replica_ready as it is written, and one rank is late:
 * a rank that added up a piece before every rank had published it would read the previous
 * round's values. A broadcast of state 1 from rank 0 must reach every
 * rank. With the argument "shm", the shared-memory path must have been taken.
 * With the argument "bf16" (nn_replica_set_compression NN_GRAD_BF16), the state positions
 * hold values that bfloat16 cannot hold exactly, and where the sum crosses nodes (the MPI
 * path, or shared memory between pseudo-nodes) the expected sum is computed here as the
 * compression defines it: each node's sum (in node-rank order) rounded to bf16, those added
 * in float32 in node order, the total rounded to bf16; bf16_ref rounds with frexpf and rintf,
 * not with the bit operations of replica.c. Elsewhere (one rank, one node) and in the
 * extras, the sum must be exact as without compression.
 * Exit status 1 on any mismatch. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nn_comm.h"
#include "nn_replica.h"

/* The bf16 run: compression asked; the replica's state size, whether its sum crosses nodes,
 * and the ranks per (pseudo-)node. */
static int g_bf16, g_between, g_per_node = 1;
static size_t g_n_state;

static float value(size_t i, int r, int round)
{
    float v = (float)((i * 7 + (size_t)r * 3 + (size_t)round) % 101);
    return g_bf16 && i < g_n_state ? v * (1.0f + (float)(r + 1) / 7.0f) : v;
}

/* x rounded to bfloat16 (8 significant bits), to nearest, ties to even. */
static float bf16_ref(float x)
{
    if (x == 0.0f)
        return x;
    int e;
    float m = frexpf(x, &e); /* x = m 2^e, 0.5 <= |m| < 1 */
    return ldexpf(rintf(m * 256.0f), e - 8);
}

static float expected(size_t i, int size, int round)
{
    float want = 0.0f;
    if (g_bf16 && g_between && i < g_n_state) {
        int k = g_per_node, nodes = size / k;
        for (int j = 0; j < nodes; j++) {
            float node = value(i, j * k, round);
            for (int q = 1; q < k; q++)
                node += value(i, j * k + q, round);
            want = j == 0 ? bf16_ref(node) : want + bf16_ref(node);
        }
        return bf16_ref(want);
    }
    for (int r = 0; r < size; r++)
        want += value(i, r, round);
    return want;
}

static int check(const nn_comm *c, const char *what, const float *got, size_t a, size_t b,
                 size_t n, int round)
{
    for (size_t i = a; i < b; i++)
        if (got[i] != expected(i, c->size, round)) {
            fprintf(stderr, "rank %d: n %zu round %d: %s[%zu] = %g, expected %g\n", c->rank, n,
                    round, what, i, (double)got[i], (double)expected(i, c->size, round));
            return 1;
        }
    return 0;
}

typedef struct {
    const nn_comm *c;
    float *state;
    size_t n_state, n;
    int round, bad;
    unsigned char *seen; /* how many times each position was given to update */
} upd;

static void update(void *ctx, const float *g, size_t a, size_t b)
{
    upd *u = ctx;
    for (size_t i = a; i < b; i++) {
        if (!u->bad && g[i - a] != expected(i, u->c->size, u->round)) {
            fprintf(stderr, "rank %d: n %zu round %d: update got %g at position %zu, expected "
                    "%g\n", u->c->rank, u->n, u->round, (double)g[i - a], i,
                    (double)expected(i, u->c->size, u->round));
            u->bad = 1;
        }
        u->seen[i]++;
        if (i < u->n_state)
            u->state[i] = g[i - a];
    }
}

static int one_size(const nn_comm *c, size_t n, nn_allreduce_mode mode, int want_shm)
{
    size_t n_state = n > 3 ? n - 3 : n; /* like the trainer: a tail that is summed, not state */
    nn_replica *r = nn_replica_create(c, n_state, n, mode);
    if (!r) {
        fprintf(stderr, "rank %d: create failed for n = %zu\n", c->rank, n);
        return 1;
    }
    const char *what = nn_replica_describe(r);
    int bad = 0;
    g_n_state = n_state;
    if (g_bf16) {
        const char *k = getenv("NN_TEST_RANKS_PER_NODE");
        int shm = strncmp(what, "shared memory", 13) == 0;
        g_between = c->size > 1 && (!shm || strstr(what, "between") != NULL);
        g_per_node = shm && k && atoi(k) > 0 ? atoi(k) : 1;
        nn_replica_set_compression(r, NN_GRAD_BF16);
    }
    if (want_shm && mode == NN_ALLREDUCE_AUTO && c->size > 1 &&
        strncmp(what, "shared memory", 13) != 0) {
        fprintf(stderr, "rank %d: expected the shared-memory path, got '%s'\n", c->rank, what);
        bad = 1;
    }
    if (c->rank == 0 && n == 5)
        printf("test_replica: %d ranks, mode %s: %s\n", c->size,
               mode == NN_ALLREDUCE_MPI ? "mpi" : "auto", what);
    for (int k = 0; k < NN_REPLICA_STATES; k++)
        for (size_t i = 0; i < n_state && !bad; i++)
            if (nn_replica_state(r, k)[i] != 0.0f) {
                fprintf(stderr, "rank %d: state %d does not start zeroed\n", c->rank, k);
                bad = 1;
            }
    unsigned char *seen = malloc(n);
    int64_t *count = malloc(n * sizeof *count);
    for (int round = 0; round < 5 && !bad; round++) {
        float *g = nn_replica_grads(r);
        if (round % 2 == 0) {
            for (size_t i = 0; i < n; i++)
                g[i] = value(i, c->rank, round);
        } else {
            /* As backward does: top down in pieces, each published when written, with one
             * rank late by 2 ms per piece, so the others start on what is published. */
            for (int piece = 3; piece >= 0; piece--) {
                size_t a = n * (size_t)piece / 4, b = n * (size_t)(piece + 1) / 4;
                if (c->rank == round % c->size) {
                    struct timespec nap = {0, 2000000};
                    nanosleep(&nap, NULL);
                }
                for (size_t i = a; i < b; i++)
                    g[i] = value(i, c->rank, round);
                nn_replica_ready(r, a);
            }
        }
        memset(seen, 0, n);
        upd u = {c, nn_replica_state(r, 0), n_state, n, round, 0, seen};
        double t_update = -1.0;
        const float *sum = nn_replica_step(r, update, &u, &t_update);
        bad |= u.bad || t_update < 0.0;
        bad |= check(c, "extras of the sum", sum, n_state, n, n, round);
        bad |= check(c, "state", u.state, 0, n_state, n, round);
        /* Every position updated exactly once over all ranks: once per rank with its own
         * copy (the MPI path), once per node with a shared one. */
        for (size_t i = 0; i < n; i++)
            count[i] = seen[i];
        nn_comm_sum_i64(c, count, n);
        int64_t copies = strncmp(what, "shared memory", 13) == 0 ? 0 : c->size;
        if (copies == 0) { /* one per node: count the nodes as ranks / ranks per node */
            const char *k = getenv("NN_TEST_RANKS_PER_NODE");
            copies = k && atoi(k) > 0 ? (c->size + atoi(k) - 1) / atoi(k) : 1;
        }
        for (size_t i = 0; i < n && !bad; i++)
            if (count[i] != copies) {
                fprintf(stderr, "rank %d: n %zu: position %zu was updated %lld times, expected "
                        "%lld\n", c->rank, n, i, (long long)count[i], (long long)copies);
                bad = 1;
            }
        bad = nn_comm_agree(c, bad) >= 0; /* every rank stops at the same round */
    }
    free(seen);
    free(count);
    float *s1 = nn_replica_state(r, 1);
    if (c->rank == 0)
        for (size_t i = 0; i < n_state; i++)
            s1[i] = (float)(i % 977) + 0.5f;
    nn_replica_bcast(r, 1);
    for (size_t i = 0; i < n_state && !bad; i++)
        if (s1[i] != (float)(i % 977) + 0.5f) {
            fprintf(stderr, "rank %d: n %zu: broadcast state[%zu] = %g\n", c->rank, n, i,
                    (double)s1[i]);
            bad = 1;
        }
    nn_replica_free(r);
    return bad;
}

int main(int argc, char **argv)
{
    nn_comm c;
    if (nn_comm_init(&c, &argc, &argv) != 0)
        return 1;
    int want_shm = 0;
    for (int i = 1; i < argc; i++) {
        want_shm |= strcmp(argv[i], "shm") == 0;
        g_bf16 |= strcmp(argv[i], "bf16") == 0;
    }
    const size_t sizes[] = {5, 16, 17, 1000, 65537, (size_t)3 << 20};
    int bad = 0;
    for (int mode = 0; mode < 2 && !bad; mode++)
        for (size_t k = 0; k < sizeof sizes / sizeof *sizes && !bad; k++)
            bad = nn_comm_agree(&c, one_size(&c, sizes[k], (nn_allreduce_mode)mode, want_shm)) >= 0;
    if (c.rank == 0)
        printf("test_replica: %s\n", bad ? "FAIL" : "OK");
    nn_comm_finalize(&c);
    return bad;
}
