/* nn_kernels.h: the kernels the passes are made of (src/core/kernels.c, the only file that
 * calls BLAS): dense layers through cblas_sgemm, activations, dropout, and the losses. */
#ifndef NN_KERNELS_H
#define NN_KERNELS_H

#include <stddef.h>

#include "nn_model.h"
#include "nn_version.h"
#include "nn_rng.h"

/* Loss of the outputs in w->act[L], summed over the B samples (not averaged), and
 * dL/dZ_L into w->delta_a. For MSE the per-sample loss is the mean over the K outputs
 * (PyTorch's MSELoss convention), reported in the targets' units with y.y_scale. With
 * y.class_w, each sample's loss and gradient are multiplied by its class's weight (the
 * caller divides by the batch's weight sum, as PyTorch's CrossEntropyLoss(weight=)). If correct != NULL, adds the number of samples whose
 * argmax output equals the label (labels) or the target's argmax (targets). */
double nn_loss_and_grad(const nn_layout *lo, nn_work *w, nn_batch_y y, int B, long *correct);
/* Same loss without the gradient (validation, prediction). */
double nn_loss_only(const nn_layout *lo, const float *out, nn_batch_y y, int B, long *correct);

/* Z (B, out) = X (B, in) W (in, out) + b, then activation in place. kc > 0: the product in
 * k-slices of kc (nn_gemm_plan; inference), 0: one sgemm. */
void nn_dense_forward(float *z, const float *x, const float *w, const float *b, int B, int in,
                      int out, nn_act act, int kc);
/* Given dZ (B, out), B >= 1: dW = X^T dZ, db = colsum dZ (both overwritten); if dx != NULL,
 * dx (B, in) = dZ W^T. */
void nn_dense_backward(float *dx, float *dw, float *db, const float *dz, const float *x,
                       const float *w, int B, int in, int out);
/* dz = da * act'(a) in place, where a is the activation output. */
void nn_act_backward(float *d, const float *a, size_t n, nn_act act);
/* Draws a keep mask (0 or 1/(1-p)) for n values and applies it to a in place. */
void nn_dropout_forward(float *a, float *mask, size_t n, float p, nn_rng *r);
/* The backward of dropout then activation: d *= mask, then d *= act'(a) where a is the
 * activation before dropout, recovered from the dropped value a_drop = a * mask. */
void nn_dropout_act_backward(float *d, const float *a_drop, const float *mask, size_t n,
                             nn_act act, float p);

/* C (M, N) = alpha * op(A) op(B) + beta * C through cblas_sgemm, row-major. */
void nn_sgemm(int transA, int transB, int M, int N, int K, float alpha, const float *A,
              const float *B, float beta, float *C);

/* How inference computes a layer's product (B, k)(k, n) so that each row comes out as the
 * same bits in a batch of any size (BLAS kernels differ with the row count: OpenBLAS 0.3.21's
 * SkylakeX kernels take another path up to 4 rows of 784 x 256 and sum k in another order;
 * its Prescott kernels round the odd row of an odd batch differently). Found by running
 * products of 1 to 48 rows on fixed values: kc, k in slices of kc summed in order (0: one
 * product), where every row of every probed size then equals the row alone; else mult > 1,
 * the row multiple to pad batches to, whose products agree at every position; mult = 0 when
 * neither works (its Haswell kernels compute each row by its position among 12): then rows
 * agree only to rounding, about 1e-7 of the row's largest value. */
typedef struct {
    int kc;
    int mult;
} nn_gemm_plan;
int nn_gemm_plan_find(int k, int n, nn_gemm_plan *plan); /* 0, or -1 out of memory */

/* Timing of the products, for the step split of --metrics (off by default: two clock reads
 * per product). nn_sgemm_seconds is the running total of seconds in cblas_sgemm. */
void nn_sgemm_timing(int on);
double nn_sgemm_seconds(void);

/* Flushes subnormal floats to zero in this thread (x86 FTZ/DAZ); a no-op elsewhere. */
void nn_flush_denormals(void);

/* Call first in main, before any thread, MPI or file: when OpenBLAS chose kernels narrower
 * than this x86-64 CPU runs (it does not know the model, so it falls back to Prescott's SSE3),
 * re-executes the program (its own file, the same argv and pid) with OPENBLAS_CORETYPE set
 * to SkylakeX (AVX-512) or Haswell (AVX2). Does nothing when OPENBLAS_CORETYPE is set (the
 * user's choice) or the choice is already right; returns when it does not re-execute. */
void nn_blas_choose_kernels(char **argv);
/* The kernels OpenBLAS runs, for banners: "SkylakeX kernels (chosen here: OpenBLAS took this
 * CPU for a Prescott)" after nn_blas_choose_kernels re-executed, else "NAME kernels". */
const char *nn_blas_kernels(char *buf, size_t len);
/* OpenBLAS for --version: the version compiled against, and the loaded library's own
 * description (version, build options, the kernels it runs). */
void nn_blas_libver(nn_libver *v);

/* Sets OpenBLAS's thread count (n > 0) and returns the count in effect. */
int nn_blas_threads(int n);

#endif
