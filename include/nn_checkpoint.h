/* nn_checkpoint.h: HDF5 checkpoints (layout in docs/checkpoint.md). */
#ifndef NN_CHECKPOINT_H
#define NN_CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>

#include "nn_model.h"
#include "nn_optim.h"

#define NN_CKPT_FORMAT_VERSION 1

typedef struct {
    long epoch;          /* epochs completed */
    long step;           /* optimizer steps taken */
    uint64_t seed;
    int world_size;
    const char *config;  /* the command line that produced it */
} nn_ckpt_meta;

/* Writes a checkpoint atomically: into "<path>.tmp" in the same directory, flushed and
 * fsync'ed, then renamed over path. m and v may be NULL (sgd: m holds the momentum buffer). */
int nn_ckpt_write(const char *path, const nn_layout *lo, const float *params,
                  const nn_opt_hparams *hp, const float *m, const float *v, long opt_step,
                  const nn_ckpt_meta *meta, char *err, size_t errlen);

/* Reads the model of a checkpoint: layout (from /model's attributes) and parameters
 * (allocated here; the caller frees). */
int nn_ckpt_read_model(const char *path, nn_layout *lo, float **params, char *err,
                       size_t errlen);

#endif
