/* nn_sig.h: installing one handler for several signals (sigaction), as nn-train's pre-emption
 * (src/train/signals.c) and nn-data's clean-up of a half-written output (src/nn-data/output.c)
 * both do. */
#ifndef NN_SIG_H
#define NN_SIG_H

/* handler for each of the n signals in sigs, with sa_flags (e.g. SA_RESTART) and an empty
 * mask. */
void nn_sig_handle(const int *sigs, int n, void (*handler)(int), int flags);

#endif
