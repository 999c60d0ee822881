/* nn_idx.h: a streaming reader of IDX files, the format of the MNIST and Fashion-MNIST
 * distributions (http://yann.lecun.com/exdb/mnist/): a 4-byte big-endian magic 0x0000TTNN
 * (TT the element type, NN the number of dimensions), NN big-endian uint32 sizes, then the
 * elements in row-major order. Only unsigned bytes (TT = 0x08) are accepted: images
 * 0x00000803 [N, rows, cols] and labels 0x00000801 [N]. Files may be gzipped; zlib's gzread
 * reads both kinds, and the gzip magic (1f 8b) tells which one it is. */
#ifndef NN_IDX_H
#define NN_IDX_H

#include <stddef.h>
#include <stdint.h>

typedef struct nn_idx nn_idx;

#define NN_IDX_MAX_DIMS 4

/* Opens an IDX file and reads its header. want_ndim: 1 for labels; 0 for images, which may
 * have 2 to NN_IDX_MAX_DIMS dimensions (each item is then the product of the sizes after the
 * first). NULL with one line in err naming the file and what was expected. */
nn_idx *nn_idx_open(const char *path, int want_ndim, char *err, size_t errlen);
void nn_idx_close(nn_idx *f); /* accepts NULL */

size_t nn_idx_count(const nn_idx *f);     /* N, the first size */
size_t nn_idx_item_size(const nn_idx *f); /* bytes per item: product of the other sizes */
int nn_idx_ndim(const nn_idx *f);
uint32_t nn_idx_dim(const nn_idx *f, int i);
int nn_idx_is_gzip(const nn_idx *f);

/* Reads the next n items (n * item_size bytes) into buf. 0, or -1 with one line in err when
 * the file ends early or is damaged. */
int nn_idx_read(nn_idx *f, unsigned char *buf, size_t n, char *err, size_t errlen);
/* After the last item: checks that nothing follows it. 0 or -1. */
int nn_idx_finish(nn_idx *f, char *err, size_t errlen);

#endif
