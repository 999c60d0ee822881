/* shard.c: the batch schedule (see nn_shard.h for the scheme). */
#include <stdlib.h>

#include "nn_rng.h"
#include "nn_shard.h"

void nn_sched_init(nn_sched *s, size_t n, size_t batch, int world, int rank)
{
    s->n = n;
    s->batch = batch < n ? batch : n; /* a batch larger than the set is the whole set */
    s->world = world;
    s->rank = rank;
    s->steps = (long)((n + batch - 1) / batch);
}

size_t nn_sched_global(const nn_sched *s, long step)
{
    size_t start = (size_t)step * s->batch;
    size_t left = s->n - start;
    return left < s->batch ? left : s->batch;
}

/* How many x in [0, t) lie in the cyclic interval [lo, lo + len) modulo w (len <= w). */
static size_t count_cyclic(size_t lo, size_t len, size_t w, size_t t)
{
    size_t end = lo + len, n = 0;
    size_t a = lo < t ? lo : t, b = (end < w ? end : w) < t ? (end < w ? end : w) : t;
    n += b - a;
    if (end > w) /* the interval wraps round to [0, end - w) */
        n += (end - w) < t ? (end - w) : t;
    return n;
}

/* In batch `step` of b samples, each rank takes b / w, and the b % w ranks starting at
 * rank step % w take one more. Rotating the extra samples keeps the shards within about one
 * sample per rank of n / w, whatever the batch. */
void nn_sched_local(const nn_sched *s, long step, size_t *offset, size_t *count, size_t *pos)
{
    size_t w = (size_t)s->world, r = (size_t)s->rank, st = (size_t)step;
    size_t b = nn_sched_global(s, step);
    size_t base = b / w, rem = b % w, first = st % w;
    /* ranks before r that take an extra sample this step */
    size_t before = count_cyclic(first, rem, w, r);
    *count = base + count_cyclic(first, rem, w, r + 1) - before;
    *pos = st * s->batch + r * base + before;
    /* Every earlier batch was full: rank r took an extra one in step j iff
     * (r - j) mod w < rem_full, i.e. iff j mod w is in the cyclic interval
     * [r - rem_full + 1, r] (mod w). */
    size_t fbase = s->batch / w, frem = s->batch % w;
    size_t lo = (r + w - frem + 1) % w;
    size_t extras = frem ? (st / w) * frem + count_cyclic(lo, frem, w, st % w) : 0;
    *offset = st * fbase + extras;
}

size_t nn_sched_shard_size(const nn_sched *s)
{
    size_t off, cnt, pos;
    if (s->steps == 0)
        return 0;
    nn_sched_local(s, s->steps - 1, &off, &cnt, &pos);
    return off + cnt;
}

size_t nn_sched_max_local(const nn_sched *s)
{
    return (s->batch + (size_t)s->world - 1) / (size_t)s->world; /* base + one extra */
}

void nn_sched_shard_positions(const nn_sched *s, size_t *out)
{
    for (long step = 0; step < s->steps; step++) {
        size_t off, cnt, pos;
        nn_sched_local(s, step, &off, &cnt, &pos);
        for (size_t i = 0; i < cnt; i++)
            out[off + i] = pos + i;
    }
}

int nn_holdout_split(size_t n, double frac, uint64_t seed, size_t *val, size_t *n_val,
                     size_t *train, size_t *n_train)
{
    size_t k = (size_t)(frac * (double)n);
    unsigned char *in_val = calloc(n ? n : 1, 1);
    if (!in_val)
        return -1;
    nn_rng r;
    nn_rng_seed(&r, seed, nn_stream_id(NN_STREAM_SPLIT, 0, 0));
    for (size_t j = n - k; j < n; j++) { /* Floyd: a uniform k-subset in k draws */
        size_t t = (size_t)nn_rng_below(&r, j + 1);
        in_val[in_val[t] ? j : t] = 1;
    }
    *n_val = *n_train = 0;
    for (size_t i = 0; i < n; i++) {
        if (in_val[i])
            val[(*n_val)++] = i;
        else
            train[(*n_train)++] = i;
    }
    free(in_val);
    return 0;
}
