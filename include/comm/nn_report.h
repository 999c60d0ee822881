/* nn_report.h: what ranks print. Rank 0 speaks for the job; any rank may report an error,
 * prefixed with its rank; a failure is decided by all ranks together and printed once. */
#ifndef NN_REPORT_H
#define NN_REPORT_H

#include "nn_comm.h"
#include "nn_status.h"

/* Names the program in every error line ("PROG: error: ...") and in the input guard's
 * (nn_fileio.h); call once after nn_comm_init. */
void nn_report_init(const nn_comm *c, const char *prog);
/* Rank 0 prints progress and results; every rank may print errors, prefixed with its rank. */
void nn_say(const nn_comm *c, int quiet, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void nn_error(const nn_comm *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Collective failure with an exit status: every rank passes its status (0: no failure, else
 * NN_EXIT_FAILURE, NN_EXIT_USAGE or any true value); the lowest failing rank prints
 * "PROG: error: msg" once (with its rank when not 0), and every rank returns that rank's
 * status, or 0 when none failed. Every rank must call it: it is the one way ranks decide
 * together to stop. */
int nn_fail(const nn_comm *c, int status, const char *msg);

#endif
