/* h5mem.c: HDF5 files built in memory and written in one piece (nn_h5mem.h). */
#include <hdf5.h>
#include <stdlib.h>

#include "nn_fileio.h"
#include "nn_h5mem.h"

int64_t nn_h5_mem_create(const char *name)
{
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    if (fapl < 0)
        return -1;
    H5Pset_fapl_core(fapl, 1 << 20, 0); /* grow by 1 MiB, no backing store */
    hid_t f = H5Fcreate(name, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
    H5Pclose(fapl);
    return f;
}

int nn_h5_mem_save(int64_t f, int built, const char *path)
{
    ssize_t size = built && H5Fflush(f, H5F_SCOPE_GLOBAL) >= 0 ? H5Fget_file_image(f, NULL, 0)
                                                               : -1;
    void *image = size > 0 ? malloc((size_t)size) : NULL;
    if (image && H5Fget_file_image(f, image, (size_t)size) != size)
        size = -1;
    if (H5Fclose(f) < 0) /* in memory: nothing to fail on */
        size = -1;
    int rc = size > 0 && image ? nn_write_file(path, image, (size_t)size) : -1;
    free(image);
    return rc;
}
