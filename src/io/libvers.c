/* libvers.c: the io layer's libraries for --version (HDF5, zlib). */
#include <hdf5.h>
#include <stdio.h>
#include <zlib.h>

#include "nn_libvers.h"

void nn_io_libvers(nn_libver v[2])
{
    unsigned maj = 0, min = 0, rel = 0;
    H5get_libversion(&maj, &min, &rel);
    snprintf(v[0].name, sizeof v[0].name, "HDF5");
    snprintf(v[0].built, sizeof v[0].built, "%d.%d.%d", H5_VERS_MAJOR, H5_VERS_MINOR,
             H5_VERS_RELEASE);
    snprintf(v[0].runs, sizeof v[0].runs, "%u.%u.%u", maj, min, rel);
    snprintf(v[1].name, sizeof v[1].name, "zlib");
    snprintf(v[1].built, sizeof v[1].built, "%s", ZLIB_VERSION);
    snprintf(v[1].runs, sizeof v[1].runs, "%s", zlibVersion());
}
