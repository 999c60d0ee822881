/* nn_predictions.h: the predictions file nn-predict writes in HDF5 (docs/nn-predict.md):
 * /predictions float32 [n, k], /classes int32 [n] when the model classifies, and provenance
 * attributes on the root. */
#ifndef NN_PREDICTIONS_H
#define NN_PREDICTIONS_H

#include <stddef.h>

/* What the output files record besides the predictions. */
typedef struct {
    const char *model, *data, *split;
    int classify;  /* 1: records are [class, p_0 .. p_{k-1}]; 0: [y_0 .. y_{k-1}] */
    int k;         /* outputs per row */
    int world_size;
} nn_predictions_meta;

/* Writes n records (rec: (n, k + classify) floats, the class first as a float) to path, whole
 * (built in memory, one write and fsync). 0, the errno of a failed write, or -1 when the file
 * could not be built (out of memory). */
int nn_predictions_write_h5(const char *path, const float *rec, size_t n,
                            const nn_predictions_meta *m);

#endif
