/* report.c: what ranks print (nn_report.h): rank 0's progress, any rank's errors, and
 * failures decided together. */
#include <stdarg.h>
#include <stdio.h>

#include "nn_args.h"
#include "nn_fileio.h"
#include "nn_report.h"

static const char *program = "nn-train";

void nn_report_init(const nn_comm *c, const char *prog)
{
    program = prog;
    nn_input_guard_program(prog, c->rank); /* a crash inside HDF5 names the file it read */
}

void nn_say(const nn_comm *c, int quiet, const char *fmt, ...)
{
    if (c->rank != 0 || quiet)
        return;
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    fflush(stdout);
}

void nn_error(const nn_comm *c, const char *fmt, ...)
{
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    nn_print_error(program, c->rank, msg); /* rank 0 speaks for the job; others say who */
}

int nn_fail(const nn_comm *c, int status, const char *msg)
{
    int who = nn_comm_agree(c, status != 0);
    if (who < 0)
        return 0;
    if (who == c->rank)
        nn_print_error(program, c->rank, msg);
    nn_comm_bcast(c, &status, sizeof status, who);
    return status;
}
