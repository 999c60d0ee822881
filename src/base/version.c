/* version.c: --version's text (nn_version.h). */
#include <stdio.h>

#include "nn_version.h"

/* nn_build_commit() is in generated/nn_commit.c, written at build time by
 * cmake/GitCommit.cmake. */

void nn_version_print(FILE *out, const char *prog, const nn_libver *libs, int n)
{
    fprintf(out, "%s %s (git %s)\n", prog, NN_VERSION, nn_build_commit());
    for (int i = 0; i < n; i++)
        if (libs[i].built[0])
            fprintf(out, "  %-14s built against %s, runs %s\n", libs[i].name, libs[i].built,
                    libs[i].runs);
        else /* a library the program does not link */
            fprintf(out, "  %-14s %s\n", libs[i].name, libs[i].runs);
}
