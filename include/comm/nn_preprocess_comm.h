/* nn_preprocess_comm.h: the input and target scaling (nn_preprocess.h) from one rank to every
 * rank, the one broadcast of a /preprocess that one rank read (a checkpoint, a --teacher, an
 * exported model). The HDF5 side is nn_preprocess_h5.h. */
#ifndef NN_PREPROCESS_COMM_H
#define NN_PREPROCESS_COMM_H

#include "nn_comm.h"
#include "nn_preprocess.h"

/* Collective: root's method and sizes, then, when it has x_shift, its arrays (x_shift and
 * x_scale, y_shift and y_scale, class_weight, x_min and x_max: those present) to every rank.
 * The other ranks' p, "none" on entry (nn_preprocess_init), is allocated here (nothing when
 * root has no x_shift); root's encoder text stays on root. An allocation that fails on any
 * rank fails all of them: the lowest failing rank prints "error: oom" (nn_fail), and every
 * rank returns 1 (p then "none" on the ranks that failed); 0 otherwise. */
int nn_preprocess_bcast(const nn_comm *c, nn_preprocess *p, int root, const char *oom);

#endif
