/* nn_clock.h: the one wall clock of the project, for timings (monotonic, in seconds). */
#ifndef NN_CLOCK_H
#define NN_CLOCK_H

double nn_now(void);

#endif
