/* nn_rng.h: a small deterministic random number generator (xoshiro256**, seeded by
 * splitmix64). Streams are independent functions of (seed, stream), so "the shuffle of
 * epoch e on rank r" is reproducible without any shared state. */
#ifndef NN_RNG_H
#define NN_RNG_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint64_t s[4];
} nn_rng;

/* Seeds from a seed and a stream id (e.g. a purpose tag mixed with epoch and rank). */
void nn_rng_seed(nn_rng *r, uint64_t seed, uint64_t stream);
uint64_t nn_rng_next(nn_rng *r);
/* Uniform double in [0, 1) with 53 random bits. */
double nn_rng_uniform(nn_rng *r);
/* Unbiased integer in [0, n), n > 0. */
uint64_t nn_rng_below(nn_rng *r, uint64_t n);
/* Fisher-Yates shuffle of a[0..n). */
void nn_shuffle_u32(uint32_t *a, size_t n, nn_rng *r);

/* Stream tags: one per purpose so that no two uses share a sequence. */
enum {
    NN_STREAM_INIT = 1,
    NN_STREAM_SPLIT = 2,
    NN_STREAM_SHUFFLE = 3,
    NN_STREAM_EXAMPLE = 4,
    NN_STREAM_DROPOUT = 5, /* per (step, rank): no state to carry, resume stays exact */
    NN_STREAM_ADVERSARIAL = 6, /* per (step, position): which samples, and PGD's start */
    NN_STREAM_TEST_SPLIT = 16, /* nn-data import-csv's /test subset: its value picks the rows */
};

/* Mixes up to three small integers into one stream id. */
static inline uint64_t nn_stream_id(uint64_t tag, uint64_t a, uint64_t b)
{
    return (tag << 56) ^ (a << 24) ^ b;
}

#endif
