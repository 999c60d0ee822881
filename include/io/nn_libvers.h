/* nn_libvers.h: the io layer's libraries for --version (nn_version.h). */
#ifndef NN_LIBVERS_H
#define NN_LIBVERS_H

#include "nn_version.h"

/* v[0]: HDF5, v[1]: zlib, each as built against and as loaded. */
void nn_io_libvers(nn_libver v[2]);

#endif
