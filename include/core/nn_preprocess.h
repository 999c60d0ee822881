/* nn_preprocess.h: the input and target scaling a checkpoint carries in its /preprocess group
 * (docs/nn-predict.md), read once and applied to every row before the forward pass.
 *
 *   /preprocess            attribute method (string, e.g. "standard"; "none" disables it)
 *   /preprocess/x_shift    float32 [D]   x' = (x - x_shift) / x_scale, per feature
 *   /preprocess/x_scale    float32 [D]
 *   /preprocess/y_shift    float32 [K]   optional (both or neither): a linear-output model's
 *   /preprocess/y_scale    float32 [K]   outputs map back as y = out * y_scale + y_shift
 *   /preprocess/class_weight float32 [K] optional: the cross-entropy's weight per class
 *                                        (--class-weight; training only, nn-predict ignores it)
 *
 * Method "identity" (x_shift 0, x_scale 1: x unchanged, bit for bit) carries target scaling or
 * class weights of a run whose inputs were not scaled (--normalize none).
 *
 * The apply functions are pure (src/core/preprocess.c); only nn_preprocess_read (nn_preprocess_h5.h)
 * touches HDF5. The arithmetic is float32 in exactly the order written above, so a
 * numpy or PyTorch reader that does the same gets the same bits. */
#ifndef NN_PREPROCESS_H
#define NN_PREPROCESS_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    char method[32];          /* "none" when nothing is applied */
    int d;                    /* features: length of x_shift and x_scale (0 for none) */
    int k;                    /* outputs: length of y_shift and y_scale (0: no target map) */
    float *x_shift, *x_scale; /* [d], or NULL for none */
    float *y_shift, *y_scale; /* [k], or NULL */
    int nc;                   /* classes: length of class_weight (0: none) */
    float *class_weight;      /* [nc], or NULL */
    float *x_min, *x_max;     /* [d], or NULL: the training rows' per-feature range in the
                               * raw units (nn-predict --attack clips to it) */
    char *encoder;            /* the raw-record encoder's text (nn_encode.h) the data file's
                               * /meta/encoder carried, written as the checkpoint's /encoder;
                               * NULL for none. Set last: nn_preprocess_alloc clears it. */
} nn_preprocess;

/* Sets p to method "none" with no arrays. */
void nn_preprocess_init(nn_preprocess *p);
/* Sets the method and allocates the arrays for d features and k outputs (k = 0: none);
 * 0, or -1 when out of memory (p is then "none"). Used by the reader and by ranks that
 * receive a broadcast copy. */
int nn_preprocess_alloc(nn_preprocess *p, const char *method, int d, int k);
void nn_preprocess_free(nn_preprocess *p); /* accepts NULL; leaves p as "none" */
/* Allocates class_weight for nc classes (replacing any); 0, or -1 when out of memory. */
int nn_preprocess_alloc_class_weight(nn_preprocess *p, int nc);

/* Checks p against a model with d inputs and k outputs; 0, or -1 with err. */
int nn_preprocess_check(const nn_preprocess *p, int d, int k, char *err, size_t errlen);

/* x (n, d) in place: x = (x - x_shift) / x_scale. No-op for "none". d must equal p->d. */
void nn_preprocess_apply_x(const nn_preprocess *p, float *x, size_t n, int d);
/* y (n, k) in place: y = y * y_scale + y_shift. No-op without y arrays. k must equal p->k.
 * Meant for linear (regression) outputs only; softmax probabilities are never mapped. */
void nn_preprocess_unapply_y(const nn_preprocess *p, float *y, size_t n, int k);
/* y (n, k) in place: y = (y - y_shift) / y_scale, the targets as the model is trained on them.
 * No-op without y arrays. */
void nn_preprocess_apply_y(const nn_preprocess *p, float *y, size_t n, int k);

#endif
