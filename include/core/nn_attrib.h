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

/* Exact integrated gradients of a piecewise-linear model (hidden activation relu or linear).
 * Along the path b + a (x - b), a in [0, 1], the hidden units' on/off pattern is piecewise
 * constant in a; within a segment the outputs z are affine in a and dz/dx is a constant J, so
 * the integral of df/dx over the segment is J^T times the integral of df/dz along the segment's
 * straight line in output space. The segments come layer by layer: with every breakpoint of
 * layers < l found, layer l's pre-activations are affine between consecutive points, so a sign
 * change between two points is one crossing, at the linear interpolation of the two values.
 * The K-dim integral is adaptive 8-node Gauss-Legendre in double; one vector-Jacobian product
 * per segment (at its midpoint's pattern) through nn_sgemm, all segments of a row in one pass,
 * down to layer 1, whose map is the same on every segment (and whose pre-activations are
 * affine along the whole path: computed at the two ends only), so it is applied once.
 * Completeness holds to float rounding whatever the number of segments. The scratch grows with
 * the largest segment count met (doubling, so rarely); nothing is allocated otherwise. */
typedef struct {
    size_t cap;    /* rows (path points) the pass buffers hold */
    size_t cap_al; /* entries of al and tmp */
    double *al;    /* (cap_al) the path positions, sorted */
    double *tmp;   /* (cap_al) a layer's new breakpoints */
    double *work;  /* (4 K) the output-space integral's scratch */
    float *xp;     /* (2 D + 2 sizes[1]) the ends, scaled, and layer 1 at them */
    float *pre[NN_MAX_LAYERS + 1]; /* pre[l] (cap, sizes[l]): pre-activations, l = 1..L */
    float *act[NN_MAX_LAYERS + 1]; /* act[l] (cap, sizes[l]): activations, l = 1..L-1 */
    float *da, *db; /* (cap, max_width) the backward pass's ping-pong buffers */
    float *block;
    double *acc;   /* (D + sizes[1]) */
} nn_attr_exact;

/* 1 when nn_attr_ig_exact applies to the layout (hidden activation relu or linear). */
int nn_attr_exact_applies(const nn_layout *lo);
/* Scratch for rows of up to cap points at first. 0, or -1 out of memory. */
int nn_attr_exact_init(nn_attr_exact *e, const nn_layout *lo, int cap);
void nn_attr_exact_free(nn_attr_exact *e);
/* Exact IG of one row x (D) from b (D) for class (or output) cls into attr (D); *segments
 * (may be NULL) the number of linear pieces of the path. 0, or -1: out of memory (the
 * scratch could not grow), or more than 2^24 points on one path. */
int nn_attr_ig_exact(const nn_attr_model *m, nn_attr_exact *e, const float *x, const float *b,
                     int cls, float *attr, int *segments);

#endif
