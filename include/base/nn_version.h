/* nn_version.h: what --version prints. Each program names the libraries it links, as built
 * (the headers it was compiled against) and as run (what the loaded library says of itself), so
 * that a cluster's module or a container that swapped a library shows in a bug report. Each
 * layer describes its own libraries (nn_blas_libver in core, nn_io_libvers in io,
 * nn_mpi_libver in comm); base only prints. */
#ifndef NN_VERSION_H
#define NN_VERSION_H

#include <stdio.h>

typedef struct {
    char name[24];
    char built[48];
    char runs[160];
} nn_libver;

/* The git commit the program was built from ("a1b2c3d4e5f6", "-dirty" when the tree had
 * changes), or "unknown" outside a git checkout. */
const char *nn_build_commit(void);

/* "PROG VERSION (git COMMIT)", then a line per library: name, built against, runs with; a
 * library with an empty `built` is one the program does not link, and `runs` says so. */
void nn_version_print(FILE *out, const char *prog, const nn_libver *libs, int n);

#endif
