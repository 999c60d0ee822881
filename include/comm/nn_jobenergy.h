/* nn_jobenergy.h: a job's energy over all its ranks and hosts (docs/energy.md), from each
 * process's nn_energy (nn_energy.h). Measured where every host's RAPL package counters are
 * readable: then the lowest rank of each host (by host name) reads its host's packages and
 * the hosts are added up, so ranks sharing a host count its packages once. Otherwise every
 * rank estimates its own CPU seconds x --watts-per-core and the ranks are added up; the
 * figure is then labelled an estimate wherever it is shown. */
#ifndef NN_JOBENERGY_H
#define NN_JOBENERGY_H

#include <stddef.h>

#include "nn_comm.h"
#include "nn_energy.h"

typedef struct {
    nn_energy e;
    int host_first;         /* this rank reads its host's counters (measured only) */
    int measured;           /* every host's counters are read: the figure is measured */
    int hosts, ranks;
    double watts_per_core;
} nn_job_energy;

/* Collective: finds each host's first rank, opens RAPL there, and agrees on measured (every
 * host readable) or estimated (otherwise: every rank from its CPU seconds). */
void nn_job_energy_start(nn_job_energy *j, const nn_comm *c, double watts_per_core);
/* Collective: since the start, the job's joules (out[0]) and CPU seconds over all ranks
 * (out[1]). */
void nn_job_energy_total(nn_job_energy *j, const nn_comm *c, double out[2]);
/* How the figure was made, for every output: "RAPL, 1 host" or "estimate: CPU seconds x
 * 10 W/core". */
void nn_job_energy_label(const nn_job_energy *j, char *buf, size_t len);
/* grams of CO2-equivalent for joules at a grid intensity in gCO2e/kWh. */
double nn_co2e_grams(double joules, double g_per_kwh);

#endif
