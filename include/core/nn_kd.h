/* nn_kd.h: knowledge distillation's loss (Hinton, Vinyals & Dean 2015), a pure kernel over
 * logits (src/core/kd.c); the trainer's --teacher (src/train/distill.c) and docs/shrink.md.
 *
 * Per sample, with student logits s, teacher logits t, label y and temperature T:
 *   L = alpha T^2 KL(softmax(t/T) || softmax(s/T)) + (1 - alpha) CE(s, y)
 * and dL/ds = alpha T (softmax(s/T) - softmax(t/T)) + (1 - alpha) dCE/ds. The T^2 keeps the
 * soft term's gradient on the scale of the hard one's as T grows. With class weights w (the
 * --class-weight of the cross-entropy) both terms of a sample are multiplied by w_y, so the
 * batch's loss still divides by its weight sum. */
#ifndef NN_KD_H
#define NN_KD_H

#include <stdint.h>

/* zs, zt (B, K): student and teacher logits; dz (B, K) holds dCE/ds of the batch (from
 * nn_loss_and_grad) and is overwritten with dL/ds; ce_sum is the batch's cross-entropy sum
 * (weighted when class_w is not NULL). Returns the batch's L summed over its samples.
 * Softmaxes in double. */
double nn_kd_mix(const float *zs, const float *zt, int B, int K, float T, float alpha,
                 const int32_t *labels, const float *class_w, double ce_sum, float *dz);

#endif
