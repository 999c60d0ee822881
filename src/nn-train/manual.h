/* manual.h: nn-train's manual page and shell completion (manual.c). */
#ifndef NN_TRAIN_MANUAL_H
#define NN_TRAIN_MANUAL_H

/* --help-man or --help-bash alone: prints the page or the script and returns 0; else -1.
 * Called before MPI starts, so the build can run it anywhere. */
int nn_train_manual(int argc, char **argv);

#endif
