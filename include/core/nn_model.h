/* nn_model.h: the multilayer perceptron, its flat parameter layout and its kernels.
 *
 * Pure math: no MPI, no HDF5, no I/O. Everything here is unit-tested on its own.
 *
 * Conventions
 *   - A dense layer computes Z = X W + b with X (B, in), W (in, out) row-major, b (out).
 *     W is stored exactly as the checkpoint's /model/dense_<i>/kernel [in, out].
 *   - All parameters live in one flat float buffer; layer i's kernel starts at w_off[i]
 *     and its bias at b_off[i]. Gradients and optimizer moments use the same layout.
 *   - Backward WRITES every gradient (=, not +=), so a step needs no zeroing pass.
 *   - Gradients are of the SUM of per-sample losses over the batch; the caller divides by the
 *     global sample count (after the allreduce), so every rank's share adds up exactly.
 */
#ifndef NN_MODEL_H
#define NN_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "nn_rng.h"

#define NN_MAX_LAYERS 32 /* dense layers; sizes[] has NN_MAX_LAYERS + 1 entries */

typedef enum { NN_ACT_RELU = 0, NN_ACT_TANH, NN_ACT_SIGMOID, NN_ACT_LINEAR } nn_act;
typedef enum { NN_LOSS_MSE = 0, NN_LOSS_XENT } nn_loss; /* XENT = softmax + cross-entropy */

/* Name <-> enum; *_from_name returns -1 for an unknown name. */
const char *nn_act_name(nn_act a);
int nn_act_from_name(const char *s);
const char *nn_loss_name(nn_loss l);

typedef struct {
    int n_layers;                     /* dense layers L */
    int sizes[NN_MAX_LAYERS + 1];     /* sizes[0] = input D, sizes[L] = outputs K */
    nn_act act;                       /* hidden activation; the output layer is linear */
    nn_loss loss;                     /* MSE on the linear output, or softmax cross-entropy */
    size_t n_params;                  /* total floats in the flat buffer */
    size_t w_off[NN_MAX_LAYERS];      /* kernel of layer i: (sizes[i], sizes[i+1]) */
    size_t b_off[NN_MAX_LAYERS];      /* bias of layer i: (sizes[i+1]) */
    int max_width;                    /* max over sizes[] */
} nn_layout;

/* Parses "784,256,128,10" into sizes; returns 0, or -1 with a reason in err. */
int nn_parse_layers(const char *s, int *sizes, int *n_layers, char *err, size_t errlen);

/* Fills offsets and n_params; returns 0, or -1 (err) if a size is out of range or n_params
 * would overflow. */
int nn_layout_init(nn_layout *lo, const int *sizes, int n_layers, nn_act act, nn_loss loss,
                   char *err, size_t errlen);

/* Initialises params: He-uniform for relu, Glorot-uniform otherwise; biases zero.
 * Deterministic in seed alone. */
void nn_params_init(const nn_layout *lo, float *params, uint64_t seed);

/* Scratch for one forward/backward pass over at most max_batch samples. Allocated once. */
typedef struct {
    int max_batch;
    int row_multiple;              /* nn_forward pads a batch to a multiple of it */
    int kc[NN_MAX_LAYERS];         /* nn_forward's k-slices per layer (nn_gemm_plan) */
    int rows_alike;                /* nn_forward gives a row the same bits in any batch */
    float *act[NN_MAX_LAYERS + 1]; /* act[0] aliases the input; act[i] (B, sizes[i]); act[L] = logits */
    float *delta_a, *delta_b;      /* (B, max_width) ping-pong buffers for dL/dZ */
    float *block;                  /* the one allocation behind act[1..L] and the deltas */
    /* dropout: mask[i] (B, sizes[i]) for hidden layers i = 1..L-1, each 0 or 1/(1-p) */
    float *mask[NN_MAX_LAYERS + 1];
    float *mask_block;
    float drop_p;                  /* the rate the last nn_forward_train used (0: none) */
} nn_work;

int nn_work_init(nn_work *w, const nn_layout *lo, int max_batch);
/* nn_work_init taking the layers' plans (nn_gemm_plan) from like, a work of the same layout,
 * instead of probing BLAS again: for several work slots of one model. */
int nn_work_init_as(nn_work *w, const nn_layout *lo, int max_batch, const nn_work *like);
/* Allocates the dropout masks (once, at set-up); 0 or -1. */
int nn_work_enable_dropout(nn_work *w, const nn_layout *lo);
void nn_work_free(nn_work *w);

/* Targets for one batch: class labels (B) for XENT with hard labels, or float targets (B, K).
 * For MSE with labels, the label is one-hot encoded on the fly. */
typedef struct {
    const int32_t *labels;  /* NULL when targets are given */
    const float *targets;   /* (B, K) or NULL */
    /* XENT with labels: a weight per class (K) that multiplies each sample's loss and
     * gradient (--class-weight); NULL: 1 */
    const float *class_w;
    /* MSE: the targets' scale per output (K, --normalize-targets): the loss is reported in
     * the targets' own units, mean_k (y_scale_k * (z_k - t_k))^2, while the gradient stays
     * that of the scaled loss; NULL: as computed */
    const float *y_scale;
} nn_batch_y;

/* Forward pass for inference. x (B, D). Leaves the logits/outputs in w->act[L]. A row's answer
 * is the same bits whatever the batch it is computed in: each layer's product follows the
 * plan nn_work_init found for it (nn_gemm_plan: k in slices, or the batch padded with copies
 * of its last row to a row multiple, through w->delta_a: so nn_forward must not come between
 * nn_forward_train and nn_backward); w->rows_alike says whether the BLAS kernels allow it.
 * Training's passes are one sgemm per layer. */
void nn_forward(const nn_layout *lo, const float *params, nn_work *w, const float *x, int B);

/* Forward pass for training with inverted dropout at rate p on every hidden activation:
 * each value is kept with probability 1 - p and then scaled by 1/(1 - p), so nothing changes
 * at inference. The masks come from r and stay in w for nn_backward. p = 0 is nn_forward. */
void nn_forward_train(const nn_layout *lo, const float *params, nn_work *w, const float *x,
                      int B, float p, nn_rng *r);

/* Backward pass, using w->delta_a as dL/dZ_L (from nn_loss_and_grad). Overwrites all of
 * grads (n_params floats); B must be at least 1. */
void nn_backward(const nn_layout *lo, const float *params, float *grads, nn_work *w, int B);
/* nn_backward that calls done(ctx, from) after each layer, last layer first: grads is final
 * from position `from` to n_params (so a gradient sum can start on it). done may be NULL. */
void nn_backward_notify(const nn_layout *lo, const float *params, float *grads, nn_work *w,
                        int B, void (*done)(void *ctx, size_t from), void *ctx);

/* The gradient with respect to the input: dx (B, D) = dL/dX for the dL/dZ_L in w->delta_a
 * (from nn_loss_and_grad, or any output gradient the caller writes there, e.g. a one-hot row
 * for one logit), after nn_forward or nn_forward_train on the same x. No parameter gradient
 * is formed (one sgemm per layer). Uses w->delta_a and w->delta_b; dx must not alias them.
 * Explanations (saliency, integrated gradients) and adversarial inputs are built on it. */
void nn_backward_input(const nn_layout *lo, const float *params, nn_work *w, int B, float *dx);

/* One row of logits z (K) as a classifier's answer: prob (K) the softmax, computed in double
 * and rounded to float, and the class returned: the argmax of the logits, the first on a tie
 * (the class the accuracy counts). nn-predict and nn-serve answer through it alike. */
int nn_softmax_row(const float *z, int K, float *prob);

/* Regularisation over the kernels only (biases are not penalised):
 * R = l1 * sum|w| + l2/2 * sum w^2. nn_reg_loss returns R; nn_reg_grad adds dR/dw into grads
 * (the optimizers fold the same term, nn_reg_term, into their update). */
double nn_reg_loss(const nn_layout *lo, const float *params, float l1, float l2);
void nn_reg_grad(const nn_layout *lo, const float *params, float *grads, float l1, float l2);

#endif
