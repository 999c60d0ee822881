/* nn_qmodel.h: a model compressed for inference (docs/export.md): every dense layer's kernel
 * as int8 codes with one float32 scale per output channel, stored dense or, for a pruned
 * layer, as CSC (the nonzero codes of each output column with their input rows); biases stay
 * float32. nn-predict --export makes one from a checkpoint; nn-predict and nn-serve run it.
 *
 * Pure math: no I/O (src/io/qfile.c reads and writes the file).
 *
 * Quantisation of a kernel W (in, out), per output channel j, in float32:
 *   s_j = max_i |W[i,j]| / 127          (0 for a column of zeros)
 *   q[i,j] = rint(W[i,j] / s_j)         ties to even, in [-127, 127]; 0 where s_j = 0
 *   the dequantised weight is q[i,j] * s_j, what nn_qmodel_dequantize returns.
 * The forward pass quantises each row of a layer's input with one scale the same way,
 *   a = max_k |x_k| / 127,  x_q = rint(x / a),
 * sums x_q[i] q[i,j] in int32 (exact) and takes
 *   z_j = (float)sum_j * (a * s_j) + b_j,  then the activation,
 * so a row's outputs are the same bits in any batch and whether a layer is stored dense or as
 * CSC (CSC keeps exactly the nonzero codes, so the sums are the same integers). */
#ifndef NN_QMODEL_H
#define NN_QMODEL_H

#include <stddef.h>
#include <stdint.h>

#include "nn_model.h"

/* How a layer's codes are stored. */
typedef enum {
    NN_QSTORE_INT8 = 0, /* codes (in, out) row-major, like the checkpoint's kernel */
    NN_QSTORE_CSC = 1   /* per output column j: codes[ptr[j] .. ptr[j+1]) at input rows idx[..] */
} nn_qstore;

/* What the exporter picks per layer: the smaller of the two, or one for every layer. */
typedef enum { NN_QPICK_AUTO = 0, NN_QPICK_INT8, NN_QPICK_CSC } nn_qpick;

/* CSC row indices are uint16: a CSC layer has at most this many inputs. */
#define NN_QCSC_MAX_IN 65536
/* The int32 sums hold in * 127 * 127: a layer has at most this many inputs. */
#define NN_QMAX_IN 133000

typedef struct {
    int32_t storage;        /* nn_qstore */
    int32_t in, out;
    uint64_t nnz;           /* codes stored: in * out (INT8), the nonzero ones (CSC) */
    /* byte offsets into the blob, each 64-byte aligned; idx and ptr for CSC only */
    uint64_t codes;         /* int8 (in, out) or (nnz) */
    uint64_t idx;           /* uint16 (nnz): each code's input row */
    uint64_t ptr;           /* uint32 (out + 1): where each output column's codes start */
    uint64_t scale;         /* float32 (out) */
    uint64_t bias;          /* float32 (out) */
} nn_qlayer;

/* The model: plain data but for the blob, so the rest can be copied and broadcast whole
 * (a receiver then allocates bytes and receives the blob). */
typedef struct {
    nn_layout lo;                      /* the float model's layout: sizes, activation, loss */
    nn_qlayer layer[NN_MAX_LAYERS];
    uint64_t bytes;                    /* of the blob */
    unsigned char *blob;               /* one allocation holding every layer's arrays */
} nn_qmodel;

/* Plans the blob for lo with each layer's storage and code count (nnz[i], ignored for INT8)
 * and allocates it zeroed. 0, or -1 with err (a size beyond the format, out of memory). */
int nn_qmodel_alloc(nn_qmodel *q, const nn_layout *lo, const int *storage,
                    const uint64_t *nnz, char *err, size_t errlen);
/* Allocates the blob of a copy whose other members (offsets and bytes) arrived already:
 * a broadcast receiver. 0 or -1 (out of memory). */
int nn_qmodel_alloc_blob(nn_qmodel *q);
void nn_qmodel_free(nn_qmodel *q); /* accepts a zeroed model; leaves it zeroed */

/* Quantises a float model as above (lo, params), each layer stored as pick says (AUTO: CSC
 * when it takes fewer bytes than dense codes). 0, or -1 with err (a layer CSC cannot hold,
 * a size beyond the format, out of memory). */
int nn_qmodel_quantize(nn_qmodel *q, const nn_layout *lo, const float *params, nn_qpick pick,
                       char *err, size_t errlen);
/* The dequantised float parameters (q->lo.n_params): q[i,j] * s_j and the biases. */
void nn_qmodel_dequantize(const nn_qmodel *q, float *params);

/* Checks what the forward pass relies on, for a model read from a file: codes in
 * [-127, 127], CSC columns increasing to nnz with rows in range, finite scales >= 0 and
 * finite biases. 0, or -1 with a reason in err. */
int nn_qmodel_check(const nn_qmodel *q, char *err, size_t errlen);

/* FNV-1a 64 of the model, continuing h: the layer sizes, activation and loss, then per layer
 * its storage, shape, nnz and arrays in the order codes, idx, ptr, scale, bias. */
uint64_t nn_qmodel_hash(const nn_qmodel *q, uint64_t h);
/* Bytes of the arrays (codes, indices, column starts, scales, biases): what the file stores. */
uint64_t nn_qmodel_array_bytes(const nn_qmodel *q);
/* Layer i's arrays. */
static inline const int8_t *nn_qlayer_codes(const nn_qmodel *q, int i)
{
    return (const int8_t *)(q->blob + q->layer[i].codes);
}
static inline const uint16_t *nn_qlayer_idx(const nn_qmodel *q, int i)
{
    return (const uint16_t *)(q->blob + q->layer[i].idx);
}
static inline const uint32_t *nn_qlayer_ptr(const nn_qmodel *q, int i)
{
    return (const uint32_t *)(q->blob + q->layer[i].ptr);
}
static inline const float *nn_qlayer_scale(const nn_qmodel *q, int i)
{
    return (const float *)(q->blob + q->layer[i].scale);
}
static inline const float *nn_qlayer_bias(const nn_qmodel *q, int i)
{
    return (const float *)(q->blob + q->layer[i].bias);
}
const char *nn_qstore_name(int storage); /* "int8", "csc" */

/* The forward pass above over x (B, D), the outputs left in w->act[L] as nn_forward leaves
 * them. w is an nn_work of q->lo for at least B rows (nn_work_init); its act[1..L] take the
 * layers' outputs, delta_a the int32 sums and delta_b the rows' codes. */
void nn_qforward(const nn_qmodel *q, nn_work *w, const float *x, int B);

/* One forward pass of whichever model a program loaded: q when not NULL (an exported model),
 * else the float parameters. */
static inline void nn_infer(const nn_layout *lo, const float *params, const nn_qmodel *q,
                            nn_work *w, const float *x, int B)
{
    if (q)
        nn_qforward(q, w, x, B);
    else
        nn_forward(lo, params, w, x, B);
}

#endif
