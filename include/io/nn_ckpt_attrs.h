/* nn_ckpt_attrs.h: a checkpoint's attributes in one table (expanded from nn_ckpt_fields.def),
 * and the state checksum over them and the tensors (docs/checkpoint.md, Integrity).
 *
 * Each attribute's value lives in nn_ckpt_meta at the table's offset, in the file's own type.
 * The writer hashes the values it writes and the reader the values it read, so any change to
 * a covered attribute in the file fails the check. Pure C: src/io/checkpoint.c moves the
 * values to and from HDF5. */
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

/* Every attribute of /, /model and /optimizer but state_checksum itself, in the table's order:
 * the covered ones first, in the order the format 2 state checksum hashes them, then the
 * provenance ones (from program on), which no resume or nn-predict reads back into a run. */
enum {
#define NN_CKPT_FIELD(field, ...) NN_A_##field,
#include "nn_ckpt_fields.def"
#undef NN_CKPT_FIELD
    NN_A_N,
    NN_A_N_COVERED = NN_A_program
};

typedef struct {
    const char *group; /* "/", "/model" or "/optimizer" */
    const char *name;
    nn_attr_type type;
    size_t len;        /* NN_AT_STR: the reader's buffer, NUL included; NN_AT_I32S: most entries */
    size_t off;        /* of the value in nn_ckpt_meta */
} nn_attr_spec;

extern const nn_attr_spec nn_ckpt_attrs[NN_A_N];

/* The format that added attribute k: 3 for normalize_targets and class_weight, 4 for the
 * rows after them (pruning, distillation: from prune_to on), else 1. An older file neither
 * holds nor hashes them; the reader takes them as "none" (strings) or 0 (numbers). */
static inline int nn_ckpt_attr_since(int k)
{
    _Static_assert(NN_A_class_weight == NN_A_normalize_targets + 1 &&
                       NN_A_prune_to == NN_A_class_weight + 1 && NN_A_prune_to < NN_A_N_COVERED,
                   "the format 3 rows, then the format 4 rows, are the last covered ones");
    return k >= NN_A_prune_to && k < NN_A_N_COVERED                       ? 4
           : k == NN_A_normalize_targets || k == NN_A_class_weight ? 3
                                                                   : 1;
}

/* The value of attribute k in meta. */
static inline void *nn_ckpt_attr_at(nn_ckpt_meta *meta, int k)
{
    return (char *)meta + nn_ckpt_attrs[k].off;
}
static inline const void *nn_ckpt_attr_in(const nn_ckpt_meta *meta, int k)
{
    return (const char *)meta + nn_ckpt_attrs[k].off;
}

/* The writer's side: the rows nn_ckpt_write fills itself (src FILE in the table): the format
 * version, the model and optimizer from lo and hp, the optimizer's step, the settings' hash,
 * and the writer (this program, `created`). */
void nn_ckpt_meta_finish(nn_ckpt_meta *meta, const nn_layout *lo, const nn_opt_hparams *hp,
                         const char *created);

/* The reader's side: info->lo and info->hp from info->meta's /model and /optimizer rows (and
 * format_version); 0, or -1 with one line in err when a name or the layer sizes are not
 * valid. */
int nn_ckpt_meta_model(nn_ckpt_info *info, const char *path, char *err, size_t errlen);

/* Whether a /preprocess group is written for pre (and so read back as other than "none"). */
int nn_ckpt_pre_present(const nn_preprocess *pre);

/* Completes the state checksum h, which already holds the tensors (parameters, then the
 * optimizer buffers present, as little-endian float32): format 1 adds the position, format 2
 * every covered attribute and /preprocess (pre may be NULL for none). */
uint64_t nn_ckpt_sum_finish(uint64_t h, int version, const nn_ckpt_meta *meta,
                            const nn_preprocess *pre);

#endif
