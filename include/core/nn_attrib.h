/* nn_attrib.h: attributions of a model's answer to its raw input features (docs/explain.md):
 * the gradient, gradient x input, saliency and integrated gradients (IG).
 *
 * The scalar attributed, f, is the one users see: for a softmax classifier the probability of
 * one class, for a regression model one output in the targets' own units (mapped back through
 * /preprocess's y_shift and y_scale). Inputs are the raw features, before /preprocess scales
 * them (x' = (x - x_shift) / x_scale), so every gradient here is df/dx in the data's units.
 *
 * Pure math over nn_model.h's kernels: no MPI, no I/O. Each call runs whole passes of B rows;
 * a row's answer depends only on its position in the pass and the pass's size (the caller
 * keeps both fixed for rank-count-invariant results). */
#ifndef NN_ATTRIB_H
#define NN_ATTRIB_H

#include <stddef.h>

#include "nn_model.h"
#include "nn_preprocess.h"

/* The model an attribution is taken of, and its scratch. */
typedef struct {
    const nn_layout *lo;
    const float *params;
    const nn_preprocess *pre; /* the checkpoint's /preprocess ("none": x used as is) */
    nn_work *w;               /* sized for the largest pass (rows x steps for IG) */
    float *xs;                /* (max pass rows, D): the pass's input, scaled */
} nn_attr_model;

/* f of one row of outputs z (K): the softmax probability of class k (classifier, computed in
 * double from the logits), or output k mapped back to the targets' units (regression). */
double nn_attr_value(const nn_layout *lo, const nn_preprocess *pre, const float *z, int k);

/* Forward and backward over x (B, D) raw: f (B) the attributed value for class cls[i] of
 * row i (cls NULL: each row's predicted class, the argmax of its logits, written to pred
 * when pred is not NULL), and g (B, D) = df/dx. g may be NULL (forward only). */
void nn_attr_grad(const nn_attr_model *m, const float *x, int B, const int *cls, int *pred,
                  float *f, float *g);

/* Integrated gradients of n rows x (n, D) from the baseline b (D), for class cls[i] of row
 * i, with `steps` points of the midpoint rule on the straight path b -> x:
 *   attr_j = (x_j - b_j) * (1/steps) * sum_{s=0}^{steps-1} df/dx_j(b + (s + 1/2)/steps (x - b))
 * One pass of n * steps rows (m sized for it); xpath (n * steps, D) and acc (D, double) are
 * scratch; attr (n, D) may be xpath itself (row i is written after the paths it overlays
 * are read). The sum of a row's attributions approaches f(x) - f(b) (completeness;
 * the midpoint rule's error falls as 1/steps^2 where f is smooth). */
void nn_attr_ig(const nn_attr_model *m, const float *x, const float *b, int n, int steps,
                const int *cls, float *xpath, double *acc, float *attr);

#endif
