/* nn_h5mem.h: HDF5 files built in memory (HDF5's core driver, no backing store) and written
 * with one plain write and fsync (nn_write_file), as checkpoints and nn-predict's outputs
 * are: a full disk is then an ordinary write error, and HDF5 never holds a file whose close
 * failed (HDF5 1.10 crashes at exit on such a file). */
#ifndef NN_H5MEM_H
#define NN_H5MEM_H

#include <stdint.h>

/* A new, empty file in memory named name (only in HDF5's messages); an hid_t, or < 0. */
int64_t nn_h5_mem_create(const char *name);
/* Closes f, and when built (the caller's writes succeeded) writes its image to path.
 * Returns 0, the errno of a failed write, or -1 when the image could not be made (not
 * built, or out of memory); path is not written then. */
int nn_h5_mem_save(int64_t f, int built, const char *path);

#endif
