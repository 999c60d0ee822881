/* nn_optim.h: optimizers as pure functions over flat float arrays.
 *
 * Each update runs over one tensor (a kernel or a bias) of n floats in one pass. The raw
 * gradient g is the allreduced SUM over the global batch; grad_scale (1 / global samples)
 * turns it into the mean. Regularisation (l1, l2) and AdamW's decoupled weight decay are
 * passed per tensor, so the caller gives zeros for biases.
 */
#ifndef NN_OPTIM_H
#define NN_OPTIM_H

#include <math.h>
#include <stddef.h>

typedef enum { NN_OPT_SGD = 0, NN_OPT_GD, NN_OPT_ADAM, NN_OPT_ADAMW } nn_opt_kind;

const char *nn_opt_name(nn_opt_kind k);
int nn_opt_from_name(const char *s); /* -1 if unknown */

typedef struct {
    nn_opt_kind kind;
    float lr;
    float momentum;       /* sgd */
    float beta1, beta2;   /* adam, adamw */
    float eps;            /* adam, adamw */
    float weight_decay;   /* adamw, decoupled: p -= lr * wd * p */
} nn_opt_hparams;

/* Per-tensor regularisation and decay (zero for biases). */
typedef struct {
    float l1, l2, weight_decay;
} nn_opt_decay;

/* d/dw of l1*|w| + l2/2*w^2. sign(0) is taken as 0, as in PyTorch's sign(). */
static inline float nn_reg_term(float w, float l1, float l2)
{
    float s = (w > 0.0f) - (w < 0.0f);
    return l1 * s + l2 * w;
}

/* SGD with heavy-ball momentum (PyTorch's form): buf = mu*buf + g; p -= lr*buf.
 * buf may be NULL when momentum == 0 (plain gradient descent). */
void nn_sgd_update(float *p, const float *g, float *buf, size_t n, float grad_scale,
                   const nn_opt_hparams *hp, nn_opt_decay d);

/* Adam / AdamW with bias correction; t is the 1-based step number after this update.
 * m = b1*m + (1-b1)*g;  v = b2*v + (1-b2)*g^2;
 * p -= lr * (m / (1-b1^t)) / (sqrt(v / (1-b2^t)) + eps), after p -= lr*wd*p for AdamW. */
void nn_adam_update(float *p, const float *g, float *m, float *v, size_t n, float grad_scale,
                    const nn_opt_hparams *hp, nn_opt_decay d, long t);

/* The same update in pieces: the bias corrections 1/(1-b1^t), 1/(1-b2^t) of step t, computed
 * once, and the pass over n floats with them (p, g, m, v must not overlap). */
typedef struct {
    float c1, c2;
} nn_adam_corr;
nn_adam_corr nn_adam_corrections(const nn_opt_hparams *hp, long t);
void nn_adam_apply(float *restrict p, const float *restrict g, float *restrict m,
                   float *restrict v, size_t n, float grad_scale, const nn_opt_hparams *hp,
                   nn_opt_decay d, nn_adam_corr corr);

#endif
