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

void nn_sched_local(const nn_sched *s, long step, size_t *offset, size_t *count, size_t *pos)
{
    /* Every batch before the last is full, so this rank took the same count from each. */
    size_t full = nn_split_lo(s->batch, s->world, s->rank + 1) - nn_split_lo(s->batch, s->world, s->rank);
    size_t b = nn_sched_global(s, step);
    size_t lo = nn_split_lo(b, s->world, s->rank), hi = nn_split_lo(b, s->world, s->rank + 1);
    *offset = (size_t)step * full;
    *count = hi - lo;
    *pos = (size_t)step * s->batch + lo;
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
    size_t off, cnt, pos;
    if (s->steps == 0)
        return 0;
    nn_sched_local(s, 0, &off, &cnt, &pos); /* the first batch is full, hence the largest */
    return cnt;
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
