/* nn_h5data.h: data sets in memory and their HDF5 source (layout in docs/data-format.md).
 *
 * A rank never holds the whole training set: it asks for the rows of its shard, and
 * nn_h5_read_rows reads exactly those rows with one hyperslab selection. */
#ifndef NN_DATA_H
#define NN_DATA_H

#include <stddef.h>
#include <stdint.h>

#include "nn_rows.h"

/* How a probe treats a split without /SPLIT/y. */
typedef enum {
    NN_H5_Y_REQUIRED, /* an error (nn-train, nn-data) */
    NN_H5_Y_OPTIONAL  /* allowed (nn-predict): info->x_only = 1, with n and d from /SPLIT/x */
} nn_h5_y_rule;

/* Reads the shape of group `split` ("train", "val", "test") of an HDF5 file: x float32 [N, D]
 * and y, integer labels [N] or float32 targets [N, K] (or, under NN_H5_Y_OPTIONAL, no y).
 * Returns 0 on success, 1 if the group does not exist (for optional splits), -1 on error
 * with one line in err naming the file, dataset and what was expected. Where nn-train and
 * nn-predict word an error differently (the missing group; x of a split without y), y's
 * rule picks the program's wording. nn_h5_probe is nn_h5_probe_as with NN_H5_Y_REQUIRED. */
int nn_h5_probe_as(const char *path, const char *split, nn_h5_y_rule y, nn_split_info *info,
                   char *err, size_t errlen);
int nn_h5_probe(const char *path, const char *split, nn_split_info *info, char *err,
                size_t errlen);

/* Reads the given rows (ascending file row numbers) of a split into out (allocated here): x,
 * and y unless info->x_only (then out->labels and out->targets are NULL). 0 or -1 (err). */
int nn_h5_read_rows(const char *path, const char *split, const nn_split_info *info,
                    const size_t *rows, size_t nrows, nn_rows *out, char *err, size_t errlen);
/* The same for the n contiguous rows [lo, lo + n). */
int nn_h5_read_block(const char *path, const char *split, const nn_split_info *info,
                     size_t lo, size_t n, nn_rows *out, char *err, size_t errlen);

/* The same readers on a file the caller opened and still owns (an hid_t: for example an
 * image in memory through HDF5's core driver, as the fuzz harnesses in tests/fuzz do); path
 * only names the file in messages. */
int nn_h5_probe_as_fid(int64_t f, const char *path, const char *split, nn_h5_y_rule y,
                       nn_split_info *info, char *err, size_t errlen);
int nn_h5_probe_fid(int64_t f, const char *path, const char *split, nn_split_info *info,
                    char *err, size_t errlen);
int nn_h5_read_rows_fid(int64_t f, const char *path, const char *split,
                        const nn_split_info *info, const size_t *rows, size_t nrows,
                        nn_rows *out, char *err, size_t errlen);

/* Opens an HDF5 file read-only for the I/O modules (the int64_t is an hid_t), or -1 with one
 * line in err: missing, unreadable, not HDF5, or damaged. */
int64_t nn_h5_open_ro(const char *path, char *err, size_t errlen);
/* Closes a file nn_h5_open_ro opened. While it is open, the input guard names it should HDF5
 * crash on it (nn_input_guard_arm in nn_fileio.h). */
void nn_h5_close_ro(int64_t f);

/* "1.10.8": the HDF5 library in use, for banners. */
void nn_h5_version(char *buf, size_t len);

#endif
