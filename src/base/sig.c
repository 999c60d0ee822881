/* sig.c: one handler for several signals (nn_sig.h). */
#include <signal.h>
#include <string.h>

#include "nn_sig.h"

void nn_sig_handle(const int *sigs, int n, void (*handler)(int), int flags)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = handler;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = flags;
    for (int i = 0; i < n; i++)
        sigaction(sigs[i], &sa, NULL);
}
