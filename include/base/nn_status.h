/* nn_status.h: the exit statuses of nn-train, nn-predict and nn-data (README, "Exit
 * statuses"). */
#ifndef NN_STATUS_H
#define NN_STATUS_H

/* Exit statuses of nn-train and nn-predict: a runtime failure (bad data, an unreadable or
 * damaged file, divergence, an output that cannot be written), and a usage error (flags that
 * are malformed, missing, contradict each other, or do not fit the data or checkpoint). */
#define NN_EXIT_FAILURE 1
#define NN_EXIT_USAGE 2
/* Exit status of a run stopped by a signal after writing a checkpoint: "resume me".
 * 75 is EX_TEMPFAIL of <sysexits.h>, a temporary failure. */
#define NN_EXIT_CHECKPOINTED 75

#endif
