/* test_shard.c: the batch schedule, the validation holdout and the shuffle, simulated for many
 * ranks in one process (sharding is pure arithmetic on (n, batch, world, rank)). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "nn_rng.h"
#include "nn_shard.h"

/* Every position of the training set lands in exactly one rank's shard; the local parts of
 * each step add up to the global batch; every rank takes the same number of steps. */
static void check_schedule(size_t n, size_t batch, int world)
{
    unsigned char *seen = calloc(n, 1);
    long steps = -1;
    for (int r = 0; r < world; r++) {
        nn_sched s;
        nn_sched_init(&s, n, batch, world, r);
        if (steps >= 0)
            assert_int_equal(s.steps, steps);
        steps = s.steps;
        size_t m = nn_sched_shard_size(&s);
        size_t *pos = malloc((m ? m : 1) * sizeof(size_t));
        nn_sched_shard_positions(&s, pos);
        for (size_t i = 0; i < m; i++) {
            assert_true(pos[i] < n);
            if (seen[pos[i]]++)
                fail_msg("n=%zu batch=%zu world=%d: position %zu in two shards", n, batch, world,
                         pos[i]);
            if (i)
                assert_true(pos[i] > pos[i - 1]);
        }
        /* the shard's slice for each step is the step's positions */
        for (long st = 0; st < s.steps; st++) {
            size_t off, cnt, p0;
            nn_sched_local(&s, st, &off, &cnt, &p0);
            assert_true(off + cnt <= m);
            for (size_t i = 0; i < cnt; i++)
                assert_int_equal(pos[off + i], p0 + i);
            assert_true(cnt <= nn_sched_max_local(&s));
        }
        free(pos);
    }
    /* balance: the rotating extra sample keeps every shard near n / world */
    size_t mn = n, mx = 0;
    for (int r = 0; r < world; r++) {
        nn_sched s;
        nn_sched_init(&s, n, batch, world, r);
        size_t m = nn_sched_shard_size(&s);
        mn = m < mn ? m : mn;
        mx = m > mx ? m : mx;
    }
    if (mx - mn > (size_t)world / 2 + 1)
        fail_msg("n=%zu batch=%zu world=%d: shards from %zu to %zu rows", n, batch, world, mn, mx);
    for (size_t i = 0; i < n; i++)
        if (seen[i] != 1)
            fail_msg("n=%zu batch=%zu world=%d: position %zu in %d shards", n, batch, world, i,
                     seen[i]);
    for (long st = 0; st < steps; st++) {
        size_t sum = 0, g = 0;
        for (int r = 0; r < world; r++) {
            nn_sched s;
            nn_sched_init(&s, n, batch, world, r);
            size_t off, cnt, p0;
            nn_sched_local(&s, st, &off, &cnt, &p0);
            sum += cnt;
            g = nn_sched_global(&s, st);
        }
        assert_int_equal(sum, g);
    }
    free(seen);
}

static void test_schedule_covers_once(void **s)
{
    (void)s;
    size_t ns[] = {1, 2, 7, 10, 100, 101, 1000, 1023};
    size_t bs[] = {1, 2, 3, 8, 32, 128, 5000};
    int ws[] = {1, 2, 3, 4, 7, 16};
    for (size_t a = 0; a < sizeof ns / sizeof *ns; a++)
        for (size_t b = 0; b < sizeof bs / sizeof *bs; b++)
            for (size_t c = 0; c < sizeof ws / sizeof *ws; c++)
                if ((size_t)ws[c] <= ns[a] && (size_t)ws[c] <= bs[b])
                    check_schedule(ns[a], bs[b], ws[c]);
}

static void test_schedule_numbers(void **s)
{
    (void)s;
    /* 10 samples, batch 4, 2 ranks: batches [0,4) [4,8) [8,10); rank 1 takes 2,3 6,7 9. */
    nn_sched sc;
    nn_sched_init(&sc, 10, 4, 2, 1);
    assert_int_equal(sc.steps, 3);
    assert_int_equal(nn_sched_global(&sc, 2), 2);
    assert_int_equal(nn_sched_shard_size(&sc), 5);
    size_t pos[5], want[5] = {2, 3, 6, 7, 9};
    nn_sched_shard_positions(&sc, pos);
    assert_memory_equal(pos, want, sizeof want);
    /* 10 samples, batch 3, 2 ranks: batches [0,3) [3,6) [6,9) [9,10). The extra sample of a
     * batch goes to rank (step % 2), the last batch's single one to rank 3 % 2 = 1:
     * rank 0 takes 0,1 3 6,7 and rank 1 takes 2 4,5 8 9, five each. */
    nn_sched_init(&sc, 10, 3, 2, 0);
    size_t p0[5], w0[5] = {0, 1, 3, 6, 7};
    assert_int_equal(nn_sched_shard_size(&sc), 5);
    nn_sched_shard_positions(&sc, p0);
    assert_memory_equal(p0, w0, sizeof w0);
    nn_sched_init(&sc, 10, 3, 2, 1);
    size_t p1[5], w1[5] = {2, 4, 5, 8, 9};
    assert_int_equal(nn_sched_shard_size(&sc), 5);
    nn_sched_shard_positions(&sc, p1);
    assert_memory_equal(p1, w1, sizeof w1);
    /* batch larger than the set: one full-batch step */
    nn_sched_init(&sc, 10, 64, 3, 0);
    assert_int_equal(sc.steps, 1);
    assert_int_equal(nn_sched_global(&sc, 0), 10);
    assert_int_equal(nn_sched_shard_size(&sc), 4);
}

static void test_holdout(void **s)
{
    (void)s;
    const size_t n = 1000;
    size_t *v = malloc(n * sizeof *v), *t = malloc(n * sizeof *t), nv, nt;
    size_t *v2 = malloc(n * sizeof *v), *t2 = malloc(n * sizeof *t), nv2, nt2;
    assert_int_equal(nn_holdout_split(n, 0.1, 5, v, &nv, t, &nt), 0);
    assert_int_equal(nv, 100);
    assert_int_equal(nt, 900);
    unsigned char seen[1000] = {0};
    for (size_t i = 0; i < nv; i++)
        seen[v[i]]++;
    for (size_t i = 0; i < nt; i++)
        seen[t[i]]++;
    for (size_t i = 0; i < n; i++)
        assert_int_equal(seen[i], 1);
    for (size_t i = 1; i < nt; i++)
        assert_true(t[i] > t[i - 1]);
    /* not simply the first or last rows, spread over the file */
    assert_true(v[0] < 100 && v[nv - 1] > 900);
    assert_int_equal(nn_holdout_split(n, 0.1, 5, v2, &nv2, t2, &nt2), 0);
    assert_memory_equal(v, v2, nv * sizeof *v);
    assert_int_equal(nn_holdout_split(n, 0.1, 6, v2, &nv2, t2, &nt2), 0);
    assert_true(memcmp(v, v2, nv * sizeof *v) != 0);
    assert_int_equal(nn_holdout_split(n, 0.0, 5, v2, &nv2, t2, &nt2), 0);
    assert_int_equal(nv2, 0);
    free(v);
    free(t);
    free(v2);
    free(t2);
}

static void test_shuffle(void **s)
{
    (void)s;
    uint32_t a[257], b[257];
    for (uint32_t i = 0; i < 257; i++)
        a[i] = b[i] = i;
    nn_rng r1, r2;
    nn_rng_seed(&r1, 42, nn_stream_id(NN_STREAM_SHUFFLE, 3, 1));
    nn_rng_seed(&r2, 42, nn_stream_id(NN_STREAM_SHUFFLE, 3, 1));
    nn_shuffle_u32(a, 257, &r1);
    nn_shuffle_u32(b, 257, &r2);
    assert_memory_equal(a, b, sizeof a);
    unsigned char seen[257] = {0};
    int moved = 0;
    for (uint32_t i = 0; i < 257; i++) {
        seen[a[i]]++;
        moved += a[i] != i;
    }
    for (int i = 0; i < 257; i++)
        assert_int_equal(seen[i], 1);
    assert_true(moved > 200);
    /* uniform draws: mean of 100000 draws within 1% of 0.5 */
    double sum = 0;
    for (int i = 0; i < 100000; i++)
        sum += nn_rng_uniform(&r1);
    assert_true(sum / 100000 > 0.495 && sum / 100000 < 0.505);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_schedule_covers_once),
        cmocka_unit_test(test_schedule_numbers),
        cmocka_unit_test(test_holdout),
        cmocka_unit_test(test_shuffle),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
