/* nn_attack.h: adversarial inputs within an L-infinity ball (docs/robustness.md), for
 * nn-predict --attack and nn-train --adversarial.
 *
 * A perturbed row x of a clean row x0 (both (d) floats) keeps every feature j inside
 *     [L_j, U_j] = [max(min(lo_j, x0_j), x0_j - e_j), min(max(hi_j, x0_j), x0_j + e_j)]:
 * the ball of radius e_j around x0_j, clipped to the range [lo_j, hi_j] (the training data's),
 * widened to include x0_j itself, so that a clean value already outside the range may stay
 * where it is or move towards the range, never further out. L_j <= x0_j <= U_j always.
 *
 * FGSM is one signed-gradient step of size e from x0; PGD repeats steps of size a, each
 * followed by the projection onto [L, U]. The signs make the step the steepest ascent of the
 * loss under the L-infinity norm. All arrays are per feature (d), so the caller may work in
 * raw units (nn-predict: e, a constant) or in the model's scaled units (nn-train: e_j =
 * eps / |x_scale_j|, the same raw ball).
 *
 * Pure math: no MPI, no I/O, no allocation. */
#ifndef NN_ATTACK_H
#define NN_ATTACK_H

#include <stddef.h>

#include "nn_model.h"
#include "nn_preprocess.h"

typedef enum { NN_ATTACK_NONE = 0, NN_ATTACK_FGSM, NN_ATTACK_PGD } nn_attack_kind;

/* "none", "fgsm", "pgd" <-> the kind; nn_attack_from_name returns -1 for another name. */
int nn_attack_from_name(const char *s);
const char *nn_attack_name(nn_attack_kind k);

/* The signed step, in place on n rows: x = clamp(x + a_j * sign(g), L_j, U_j), with L, U
 * from x0 as above. A zero gradient leaves the feature where it is. x may equal x0 (FGSM:
 * a = e). */
void nn_attack_step(float *x, const float *x0, const float *g, size_t n, int d, const float *a,
                    const float *e, const float *lo, const float *hi);

/* The projection alone: x = clamp(x, L_j, U_j) (after a random start). */
void nn_attack_project(float *x, const float *x0, size_t n, int d, const float *e,
                       const float *lo, const float *hi);

/* The loss gradient with respect to the model's input for n rows of xs (n, D), already scaled
 * as the model expects: one forward pass without dropout (nn_forward_train, p = 0), the loss
 * of y (nn_loss_and_grad) and nn_backward_input into g (n, D). Each row's loss goes into
 * row_loss (n) when not NULL (the logits are left in w->act[L]). w holds at least n rows. */
void nn_attack_grad(const nn_layout *lo, const float *params, nn_work *w, const float *xs,
                    nn_batch_y y, int n, float *g, float *row_loss);

/* The per-row losses of n rows of outputs out (n, K) against y (n rows), into row_loss. */
void nn_attack_row_loss(const nn_layout *lo, const float *out, nn_batch_y y, int n,
                        float *row_loss);

#endif
