/* nn_shard.h: how the training set is cut into global batches and spread over ranks.
 *
 * Pure arithmetic on (n, batch, world, rank), so any number of ranks can be simulated in one
 * process. The training set is a sequence of n "positions". An epoch has
 * steps = ceil(n / batch) global batches; batch s covers positions [s*batch, min(n, (s+1)*batch)),
 * so the last batch is smaller when batch does not divide n (it is kept, never dropped or
 * padded). Inside every global batch the ranks take consecutive blocks in rank order: of a
 * batch of b, each takes b / world, and the b % world ranks starting at rank (step % world)
 * take one more, so the extra samples rotate. The positions a rank ever takes form its shard:
 * every position is in exactly one shard, and a shard holds n/world samples to within about
 * one per rank, spread evenly over the whole set. With --no-shuffle position p is training
 * sample p in file order; with shuffling, a rank permutes its own shard every epoch.
 */
#ifndef NN_SHARD_H
#define NN_SHARD_H

#include <stddef.h>
#include <stdint.h>

/* First index of part r when n items are split into p balanced blocks (r in [0, p]). */
static inline size_t nn_split_lo(size_t n, int p, int r)
{
    size_t q = n / (size_t)p, rem = n % (size_t)p;
    return q * (size_t)r + ((size_t)r < rem ? (size_t)r : rem);
}

typedef struct {
    size_t n;      /* training samples */
    size_t batch;  /* global batch (already resolved: 0 on the command line means n) */
    int world, rank;
    long steps;    /* global batches per epoch: ceil(n / batch) */
} nn_sched;

void nn_sched_init(nn_sched *s, size_t n, size_t batch, int world, int rank);
/* Global size of batch `step`. */
size_t nn_sched_global(const nn_sched *s, long step);
/* This rank's part of batch `step`: *count samples starting at *offset inside its shard,
 * and at global position *pos. */
void nn_sched_local(const nn_sched *s, long step, size_t *offset, size_t *count, size_t *pos);
/* Samples in this rank's shard. */
size_t nn_sched_shard_size(const nn_sched *s);
/* Largest local part of any batch on this rank (sizes the work buffers). */
size_t nn_sched_max_local(const nn_sched *s);
/* Writes the global positions of this rank's shard, ascending, into pos (shard_size items). */
void nn_sched_shard_positions(const nn_sched *s, size_t *pos);

/* The validation holdout when the file has no /val: floor(frac * n) samples picked at random
 * from seed alone (Floyd's algorithm), so the same samples whatever the number of ranks.
 * Writes ascending row numbers into val and train (each with room for n); returns 0, or -1
 * if out of memory. */
int nn_holdout_split(size_t n, double frac, uint64_t seed, size_t *val, size_t *n_val,
                     size_t *train, size_t *n_train);

#endif
