/* signals.c: pre-emption. SIGTERM, SIGINT and SIGUSR1 (what Slurm's --signal sends) only set a
 * flag; the trainer reads it at the next step boundary, where all ranks agree through the
 * gradient allreduce, write a checkpoint and exit NN_EXIT_CHECKPOINTED. A second signal while
 * saving only sets the flag again: the write in progress completes. */
#include <signal.h>
#include <string.h>

#include "train_internal.h"

static volatile sig_atomic_t pending;

static void on_signal(int sig) { pending = sig; }

void nn_signals_install(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGUSR1, &sa, NULL);
}

int nn_signal_pending(void) { return pending; }
