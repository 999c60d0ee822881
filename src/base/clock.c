/* clock.c: nn_now, the monotonic clock every timing in the project reads. */
#include <time.h>

#include "nn_clock.h"

double nn_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}
