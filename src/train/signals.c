/* signals.c: pre-emption. SIGTERM, SIGINT and SIGUSR1 (what Slurm's --signal sends) only set a
 * flag; the trainer reads it at the next step boundary, where all ranks agree through the
 * gradient allreduce, write a checkpoint and exit NN_EXIT_CHECKPOINTED. A second signal while
 * saving only sets the flag again: the write in progress completes. */
#include <signal.h>

#include "nn_sig.h"
#include "train_internal.h"

static volatile sig_atomic_t pending;

static void on_signal(int sig) { pending = sig; }

void nn_signals_install(void)
{
    static const int sigs[] = {SIGTERM, SIGINT, SIGUSR1};
    nn_sig_handle(sigs, 3, on_signal, SA_RESTART);
}

int nn_signal_pending(void) { return pending; }
