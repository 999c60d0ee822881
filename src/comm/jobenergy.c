/* jobenergy.c: a job's energy over ranks and hosts (nn_jobenergy.h). */
#include <stdio.h>

#include "nn_jobenergy.h"

void nn_job_energy_start(nn_job_energy *j, const nn_comm *c, double watts_per_core)
{
    nn_topology t;
    nn_comm_topology(c, &t);
    j->host_first = t.host_first;
    j->hosts = t.hosts;
    j->ranks = c->size;
    j->watts_per_core = watts_per_core;
    nn_energy_start(&j->e, watts_per_core, j->host_first);
    double ok = j->host_first ? (double)j->e.measured : 1.0;
    nn_comm_min_f64(c, &ok, 1);
    j->measured = ok > 0.5;
    j->e.measured = j->measured && j->host_first; /* else this rank estimates (or adds 0) */
}

void nn_job_energy_total(nn_job_energy *j, const nn_comm *c, double out[2])
{
    double cpu = nn_cpu_seconds() - j->e.cpu0; /* one reading for both figures */
    double joules = j->e.measured ? nn_energy_joules(&j->e) : cpu * j->watts_per_core;
    out[0] = j->measured && !j->host_first ? 0.0 : joules;
    out[1] = cpu;
    nn_comm_sum_f64(c, out, 2);
}

void nn_job_energy_label(const nn_job_energy *j, char *buf, size_t len)
{
    if (j->measured)
        snprintf(buf, len, "RAPL, %d host%s", j->hosts, j->hosts > 1 ? "s" : "");
    else
        snprintf(buf, len, "estimate: CPU seconds x %g W/core", j->watts_per_core);
}

double nn_co2e_grams(double joules, double g_per_kwh)
{
    return joules / 3.6e6 * g_per_kwh;
}
