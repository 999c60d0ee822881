/* nn_preprocess_h5.h: a checkpoint's or exported model's /preprocess group (layout in
 * nn_preprocess.h, docs/nn-predict.md) and its /encoder, both ways, with the HDF5 C API. */
#ifndef NN_PREPROCESS_H5_H
#define NN_PREPROCESS_H5_H

#include <stddef.h>
#include <stdint.h>

#include "nn_preprocess.h"

/* Reads ckpt's /preprocess. Returns 0 with p->method "none" when the group is absent (or its
 * method is "none"); 0 with the arrays filled when present; -1 with one line in err when the
 * group is malformed: a missing method, a missing or non-float x_shift/x_scale, arrays of
 * different lengths, only one of y_shift/y_scale, or a scale that is zero or not finite. */
int nn_preprocess_read(const char *ckpt, nn_preprocess *p, char *err, size_t errlen);
/* The same on an HDF5 file the caller opened and still owns (f is an hid_t; tests/fuzz feeds
 * images from memory this way); ckpt only names it in messages. */
int nn_preprocess_read_fid(int64_t f, const char *ckpt, nn_preprocess *p, char *err,
                           size_t errlen);

/* Writes one float32 vector v of n values as dataset name of group g (an hid_t), in the
 * file's own layout (a checkpoint's chunked Fletcher32 tensors, an exported model's
 * contiguous arrays); 0 or -1. */
typedef int (*nn_h5_vec_writer)(int64_t g, const char *name, size_t n, const float *v);
/* Writes group /preprocess of the open file f (an hid_t) from pre, which has x_shift: the
 * method attribute, x_shift and x_scale, then those present of y_shift and y_scale,
 * class_weight, x_min and x_max, each through vec. 0, or -1 when HDF5 failed. */
int nn_preprocess_write_fid(int64_t f, const nn_preprocess *pre, nn_h5_vec_writer vec);

/* /encoder: the raw-record encoder's text (nn_encode.h), as a 1-D dataset of one
 * variable-length UTF-8 string, the form of the data file's /meta/encoder. Checkpoints and
 * exported models (nn_qfile.h) carry it alike. f is an open file (hid_t). Write: 0 or -1.
 * Read: *out malloc'd, or NULL when the file has none; 0, or -1 when it is not one string. */
int nn_encoder_write_fid(int64_t f, const char *text);
int nn_encoder_read_fid(int64_t f, char **out);

#endif
