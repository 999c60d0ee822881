/* nn_checkpoint.h: HDF5 checkpoints and the checkpoint directory (docs/checkpoint.md).
 *
 * A checkpoint holds everything that decides the rest of a run: parameters, optimizer state,
 * the position in the run (epoch, step inside the epoch, loss so far), the settings that shape
 * the trajectory, and a checksum over all of it. Files are written atomically, so a reader sees
 * either the previous checkpoint or the complete new one, never a mix. */
#ifndef NN_CHECKPOINT_H
#define NN_CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>

#include "nn_hash.h"
#include "nn_model.h"
#include "nn_optim.h"
#include "nn_preprocess.h"

#define NN_CKPT_FORMAT_VERSION 4 /* what nn-train writes */
#define NN_CKPT_FORMAT_OLDEST 1  /* the oldest it still reads (and resumes) */

/* The layer sizes, input to output: /model/layers. */
typedef struct {
    int n;                    /* entries: layers + 1 */
    int a[NN_MAX_LAYERS + 1];
} nn_ckpt_sizes;

/* Every attribute of a checkpoint, one member per row of nn_ckpt_fields.def (named by its
 * `field` column) in the file's own types: int64_t, uint64_t, double, char[len], nn_ckpt_sizes.
 * Plain data, so it can be copied and broadcast whole. The writer fills the rows whose src is
 * RUN or FLAG and nn_ckpt_write the FILE ones; the reader fills them all. */
#define NN_CKPT_MEMBER_I64(field, len) int64_t field;
#define NN_CKPT_MEMBER_U64(field, len) uint64_t field;
#define NN_CKPT_MEMBER_F64(field, len) double field;
#define NN_CKPT_MEMBER_STR(field, len) char field[len];
#define NN_CKPT_MEMBER_I32S(field, len) nn_ckpt_sizes field;
typedef struct {
#define NN_CKPT_FIELD(field, group, name, type, len, ...) NN_CKPT_MEMBER_##type(field, len)
#include "nn_ckpt_fields.def"
#undef NN_CKPT_FIELD
} nn_ckpt_meta;

/* What a checkpoint holds besides the tensors. */
typedef struct {
    nn_layout lo;           /* the model, from meta's /model rows */
    nn_opt_hparams hp;      /* the optimizer, from meta's /optimizer rows (lr as float32) */
    nn_ckpt_meta meta;      /* every attribute as read */
    int format_version;     /* of the file read: NN_CKPT_FORMAT_OLDEST .. NN_CKPT_FORMAT_VERSION */
    uint64_t checksum;      /* state_checksum, verified on load */
    int has_mask;           /* format 4: the file holds pruning masks (/prune) */
} nn_ckpt_info;

/* Which optimizer buffers a checkpoint of this kind carries: adam/adamw m and v, sgd with
 * momentum its momentum buffer (in m), plain gd none. */
int nn_ckpt_has_m(const nn_opt_hparams *hp);
int nn_ckpt_has_v(const nn_opt_hparams *hp);

/* FNV-1a 64 of a settings string: the config_hash attribute. */
static inline uint64_t nn_ckpt_config_hash(const char *settings)
{
    return nn_fnv1a_str(settings);
}
/* One line on what a file's state_checksum covers: format 2 every tensor and every attribute
 * a resume or nn-predict reads, format 1 the tensors and the position only. */
void nn_ckpt_checksum_covers(int version, char *buf, size_t len);

/* Writes a checkpoint atomically: "<path>.tmp" in the same directory, flushed and fsync'ed,
 * renamed over path, directory fsync'ed. On failure the tmp file is removed and any earlier
 * file is untouched. m and v as nn_ckpt_has_m/v say (NULL otherwise). meta's rows of src RUN
 * and FLAG are stored as given; its FILE rows are ignored and written from lo, hp, the
 * settings' hash, this program and the time. pre (may be NULL or
 * "none") becomes the /preprocess group that nn-predict applies. */
int nn_ckpt_write(const char *path, const nn_layout *lo, const float *params,
                  const nn_opt_hparams *hp, const float *m, const float *v,
                  const nn_ckpt_meta *meta, const nn_preprocess *pre, char *err,
                  size_t errlen);

/* nn_ckpt_write with the pruning masks (docs/shrink.md): mask has n_params bytes in the flat
 * layout, 1 where a weight is kept; the kernels' go into /prune/dense_<i>/mask (uint8
 * [in, out]) and into the state checksum after the optimizer buffers. NULL: no /prune. */
int nn_ckpt_write_masked(const char *path, const nn_layout *lo, const float *params,
                         const nn_opt_hparams *hp, const float *m, const float *v,
                         const unsigned char *mask, const nn_ckpt_meta *meta,
                         const nn_preprocess *pre, char *err, size_t errlen);

/* Reads and verifies a whole checkpoint: format version (1 or 2), every attribute, /preprocess,
 * every tensor (Fletcher32), and the state checksum over them. Allocates params and, when
 * present, m and v (else NULL); the caller frees them (and pre, with nn_preprocess_free).
 * Any pointer argument may be NULL to discard that part: it is still read and verified, a
 * discarded optimizer buffer one tensor at a time. */
int nn_ckpt_load(const char *path, nn_ckpt_info *info, float **params, float **m, float **v,
                 nn_preprocess *pre, char *err, size_t errlen);

/* nn_ckpt_load that also hands out the pruning masks: *mask (n_params bytes, the biases' 1,
 * allocated here) when info->has_mask, else NULL. nn_ckpt_load reads and verifies them too,
 * and discards them. */
int nn_ckpt_load_masked(const char *path, nn_ckpt_info *info, float **params, float **m,
                        float **v, unsigned char **mask, nn_preprocess *pre, char *err,
                        size_t errlen);

/* The same on a file the caller opened and still owns (an hid_t: for example an image in
 * memory through HDF5's core driver, as the fuzz harnesses in tests/fuzz do), with /preprocess
 * verified and discarded; path only names the file in messages. */
int nn_ckpt_load_fid(int64_t f, const char *path, nn_ckpt_info *info, float **params,
                     float **m, float **v, char *err, size_t errlen);

/* Checks that path is an nn-train checkpoint before it is read, so that a missing, unreadable,
 * truncated or foreign file gets a message that says which, beginning "WHAT PATH:" (what: the
 * flag that named it, "--model"). 0 or -1 (err). */
int nn_ckpt_precheck(const char *what, const char *path, char *err, size_t errlen);

/* Reads the model only (layout, parameters allocated here, and /preprocess when pre is not
 * NULL), after the same checks: nn-predict's load. */
int nn_ckpt_read_model(const char *path, nn_layout *lo, float **params, nn_preprocess *pre,
                       char *err, size_t errlen);

/* ---- the checkpoint directory ---- */

/* "<dir>/ckpt-e<epoch>-s<step>.h5": names sort in the order they were written. */
void nn_ckpt_path(char *buf, size_t len, const char *dir, long epoch, long step);
/* After a successful write: points <dir>/latest at it (atomically) and deletes all but the
 * newest `keep` checkpoints. Returns 0, or -1 with err (the checkpoint itself is fine). */
int nn_ckpt_commit(const char *dir, const char *path, long keep, char *err, size_t errlen);
/* The checkpoints in dir, newest first (the one `latest` names leads). *list is allocated;
 * free with nn_ckpt_list_free. Returns the count, or -1 if dir cannot be read. */
int nn_ckpt_list(const char *dir, char ***list);
void nn_ckpt_list_free(char **list, int n);
/* Removes temporary files a killed writer left in dir. */
void nn_ckpt_clean_tmp(const char *dir);

#endif
