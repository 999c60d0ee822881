/* nn_qfile.h: the exported model file (docs/export.md), an HDF5 file holding an nn_qmodel
 * (int8 codes with per-output-channel scales, CSC for pruned layers), its /preprocess, and
 * where it came from; and the one model loader that nn-predict and nn-serve call, which takes
 * a checkpoint or an exported model alike.
 *
 *   /                       nnq_format (int64, 1), layers (int32 [L+1]), activation, loss,
 *                           source (the checkpoint's path), source_checksum (its
 *                           state_checksum), source_step, program, created, checksum
 *   /model/dense_<i>        attribute storage: "int8" or "csc"
 *     kernel_q  int8 [in, out]                      (int8)
 *     values    int8 [nnz], row uint16 [nnz], col_ptr uint32 [out + 1]   (csc: column j's
 *               codes are values[col_ptr[j] .. col_ptr[j+1]), at input rows row[..])
 *     scale     float32 [out]   bias float32 [out]
 *   /preprocess             as in a checkpoint (nn_preprocess.h: the scaling and the training
 *                           range x_min, x_max), without class_weight
 *   /encoder                the checkpoint's raw-record encoder, when it has one (--csv, and
 *                           nn-serve's records by feature name)
 *
 * checksum: FNV-1a 64 over the model (nn_qmodel_hash), the range, the encoder's text, then
 * /preprocess's method and vectors; a reader refuses a file whose contents do not match it. */
#ifndef NN_QFILE_H
#define NN_QFILE_H

#include <stddef.h>
#include <stdint.h>

#include "nn_model.h"
#include "nn_preprocess.h"
#include "nn_qmodel.h"

#define NN_QFILE_FORMAT 1

/* Where an exported model came from. */
typedef struct {
    char source[1024];        /* the checkpoint's path as given to the exporter */
    uint64_t source_checksum; /* its state_checksum */
    int64_t source_step;      /* its step: nn-serve's model version */
} nn_qfile_meta;

/* Writes q and pre (may be NULL or "none") to path atomically ("<path>.tmp", fsync'ed,
 * renamed). 0, or -1 with err. */
int nn_qfile_write(const char *path, const nn_qmodel *q, const nn_preprocess *pre,
                   const nn_qfile_meta *meta, char *err, size_t errlen);

/* Whether path is meant as an exported model: its name ends in ".nnq", or it is an HDF5
 * file with an nnq_format attribute. */
int nn_qfile_is(const char *path);

/* Reads and verifies an exported model: the format, every array's type and shape, the
 * checksum, nn_qmodel_check. q, pre (may be NULL) and meta (may be NULL) are filled; free q
 * with nn_qmodel_free, pre with nn_preprocess_free. 0, or -1 with one line in err beginning
 * "WHAT PATH:" (what: the flag that named it). */
int nn_qfile_read(const char *what, const char *path, nn_qmodel *q, nn_preprocess *pre,
                  nn_qfile_meta *meta, char *err, size_t errlen);

/* The one model loader: a checkpoint (nn_ckpt_precheck, then nn_ckpt_load: *params
 * allocated, q zeroed) or an exported model (nn_qfile_read: q filled, *params NULL), with
 * layout and /preprocess; origin (may be NULL) gets an exported model's meta, or for a
 * checkpoint its path, state_checksum and step. 0, or -1 with one line in err. */
int nn_model_read(const char *what, const char *path, nn_layout *lo, float **params,
                  nn_qmodel *q, nn_preprocess *pre, nn_qfile_meta *origin, char *err,
                  size_t errlen);

#endif
