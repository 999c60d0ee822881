/* nn_ckpt_attrs.h: a checkpoint's attributes in one table, their values in the file's own
 * types, and the state checksum over them and the tensors (docs/checkpoint.md, Integrity).
 *
 * The writer turns the run's state into values (nn_ckpt_attrs_from) and writes them; the reader
 * reads the values and turns them back (nn_ckpt_attrs_to_info). Both hash the same values:
 * the writer those it writes, the reader those it parsed, so any change to a covered attribute
 * in the file fails the check. Pure C: src/checkpoint.c moves the values to and from HDF5. */
#ifndef NN_CKPT_ATTRS_H
#define NN_CKPT_ATTRS_H

#include <stddef.h>
#include <stdint.h>

#include "nn_checkpoint.h"
#include "nn_hash.h"

typedef enum {
    NN_AT_I64,  /* int64 scalar */
    NN_AT_U64,  /* uint64 scalar */
    NN_AT_F64,  /* float64 scalar */
    NN_AT_STR,  /* fixed-length NUL-terminated ASCII string */
    NN_AT_I32S, /* int32 array */
} nn_attr_type;

/* Every attribute of /, /model and /optimizer but state_checksum itself. The covered ones
 * come first, in the order the format 2 state checksum hashes them; the provenance ones,
 * which no resume or nn-predict reads back into a run, come last. */
enum {
    NN_A_FORMAT_VERSION, NN_A_EPOCH, NN_A_EPOCH_STEP, NN_A_STEP, NN_A_EPOCH_LOSS_SUM,
    NN_A_SEED, NN_A_BATCH, NN_A_EPOCHS, NN_A_VAL_FRACTION, NN_A_NO_SHUFFLE, NN_A_WORLD_SIZE,
    NN_A_DATA, NN_A_SETTINGS, NN_A_CONFIG_HASH, NN_A_NORMALIZE, NN_A_DROPOUT,
    NN_A_LR_SCHEDULE, NN_A_WARMUP_EPOCHS, NN_A_LR_STEP_EPOCHS, NN_A_LR_GAMMA, NN_A_LR_MIN,
    NN_A_PATIENCE, NN_A_BEST_VAL_LOSS, NN_A_BEST_EPOCH, NN_A_BAD_EPOCHS,
    NN_A_LAYERS, NN_A_ACTIVATION, NN_A_OUTPUT, NN_A_LOSS,
    NN_A_OPT_NAME, NN_A_OPT_STEP, NN_A_LR, NN_A_MOMENTUM, NN_A_BETA1, NN_A_BETA2, NN_A_EPS,
    NN_A_WEIGHT_DECAY, NN_A_L1, NN_A_L2,
    NN_A_N_COVERED,
    NN_A_PROGRAM = NN_A_N_COVERED, NN_A_PROGRAM_VERSION, NN_A_CREATED, NN_A_CONFIG,
    NN_A_N
};

typedef struct {
    const char *group; /* "/", "/model" or "/optimizer" */
    const char *name;
    nn_attr_type type;
    size_t len;        /* NN_AT_STR: the reader's buffer, NUL included; NN_AT_I32S: most entries */
} nn_attr_spec;

extern const nn_attr_spec nn_ckpt_attrs[NN_A_N];

/* One attribute's value, in the field its type names. */
typedef struct {
    int64_t i;     /* NN_AT_I64 */
    uint64_t u;    /* NN_AT_U64 */
    double f;      /* NN_AT_F64 */
    const char *s; /* NN_AT_STR */
    const int *a;  /* NN_AT_I32S: n entries */
    int n;
} nn_attr_val;

/* The writer's values: the run's state as the file will hold it. created and config_hash are
 * provenance and settings digest; strings point into meta (or are constants). */
void nn_ckpt_attrs_from(const nn_layout *lo, const nn_opt_hparams *hp, const nn_ckpt_meta *meta,
                        const char *created, uint64_t config_hash, nn_attr_val v[NN_A_N]);

/* The reader's side: fills info from values read from path (format_version included);
 * 0, or -1 with one line in err when a name or the layer sizes are not valid. */
int nn_ckpt_attrs_to_info(const nn_attr_val v[NN_A_N], nn_ckpt_info *info, const char *path,
                          char *err, size_t errlen);

/* Whether a /preprocess group is written for pre (and so read back as other than "none"). */
int nn_ckpt_pre_present(const nn_preprocess *pre);

/* Completes the state checksum h, which already holds the tensors (parameters, then the
 * optimizer buffers present, as little-endian float32): format 1 adds the position, format 2
 * every covered attribute and /preprocess (pre may be NULL for none). */
uint64_t nn_ckpt_sum_finish(uint64_t h, int version, const nn_attr_val v[NN_A_N],
                            const nn_preprocess *pre);

#endif
