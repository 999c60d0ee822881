/* nn_energy.h: the energy a process's work uses (docs/energy.md). Where the kernel's
 * powercap interface exposes RAPL (Running Average Power Limit) counters and they are
 * readable, the joules of the CPU packages are measured; elsewhere they are estimated from
 * the process's CPU seconds times a power per busy core. Summing over ranks and hosts is the
 * communication layer's (nn_jobenergy.h); here everything is one process's view.
 *
 * RAPL: /sys/class/powercap/intel-rapl:N (one colon: a CPU package; intel-rapl:N:M are parts
 * of it, already counted in it) with name "package-N", energy_uj (microjoules, a counter that
 * wraps to 0 after max_energy_range_uj) and max_energy_range_uj. A package counts everything
 * the package did, this job's work and any other process's. The directory comes from the
 * environment variable NN_TEST_POWERCAP_DIR when set (tests only: a fake tree). */
#ifndef NN_ENERGY_H
#define NN_ENERGY_H

#include <stddef.h>
#include <stdint.h>

#define NN_RAPL_MAX 16 /* package domains read at most */

typedef struct {
    int n;                          /* package domains readable (0: none: estimate) */
    char path[NN_RAPL_MAX][320];    /* each domain's energy_uj */
    uint64_t range[NN_RAPL_MAX];    /* its max_energy_range_uj: the counter wraps there */
    uint64_t last[NN_RAPL_MAX];     /* its value at the last read */
    double uj;                      /* microjoules since nn_rapl_open, over all domains */
} nn_rapl;

/* Finds the readable package domains under dir (NULL: NN_TEST_POWERCAP_DIR, else
 * /sys/class/powercap) and takes their first reading. Returns how many (0: none, or not
 * readable: an unprivileged user cannot read energy_uj on kernels since 5.10). */
int nn_rapl_open(nn_rapl *r, const char *dir);
/* Reads every domain and adds its increase since the last read to r->uj. A counter that went
 * down wrapped once: the increase is now + range - last (a read at least once per wrap
 * period, range / power, about 20 minutes at 200 W, is needed). 0, or -1 when a counter could
 * not be read (that domain adds nothing this time). */
int nn_rapl_update(nn_rapl *r);
/* The increase of a counter from last to now that wraps at range (pure). */
uint64_t nn_rapl_delta(uint64_t last, uint64_t now, uint64_t range);

/* This process's CPU seconds so far, user plus system (getrusage). */
double nn_cpu_seconds(void);

/* One process's energy since nn_energy_start: measured (RAPL) or estimated. */
typedef struct {
    nn_rapl rapl;
    int measured;         /* 1: RAPL; 0: the estimate */
    double watts_per_core;
    double cpu0;          /* CPU seconds at the start */
} nn_energy;

/* Starts counting: RAPL when use_rapl and readable, else the estimate at watts_per_core. */
void nn_energy_start(nn_energy *e, double watts_per_core, int use_rapl);
/* Joules since the start: the packages' (measured) or CPU seconds x watts_per_core. */
double nn_energy_joules(nn_energy *e);

#endif
