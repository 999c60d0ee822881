/* energy.c: the run's energy (docs/energy.md): started after set-up, taken at the end of each
 * epoch (nn_epoch_stats: energy_j, cpu_s) and summed up for the final summary, from
 * nn_jobenergy.h: measured by RAPL on every host, or estimated from CPU seconds. */
#include <stdio.h>

#include "train_internal.h"

void nn_train_energy_start(nn_trainer *t)
{
    nn_job_energy_start(&t->energy, t->comm, t->cfg.watts_per_core);
    char how[96];
    nn_job_energy_label(&t->energy, how, sizeof how);
    nn_say(t->comm, t->cfg.quiet, "energy %s%s\n", how,
           t->energy.measured ? " (the packages' counters: other processes on them count too)"
                              : " (no readable RAPL counters in /sys/class/powercap)");
}

void nn_train_energy_epoch(nn_trainer *t, nn_epoch_stats *st, double samples)
{
    double now[2];
    nn_job_energy_total(&t->energy, t->comm, now);
    st->energy_j = now[0] - t->energy_done[0];
    st->cpu_s = now[1] - t->energy_done[1];
    t->energy_done[0] = now[0];
    t->energy_done[1] = now[1];
    t->energy_samples += samples;
}

void nn_trainer_energy_summary(const nn_trainer *t)
{
    char how[96], co2[96] = "";
    nn_job_energy_label(&t->energy, how, sizeof how);
    if (t->cfg.grid_intensity > 0)
        snprintf(co2, sizeof co2, "; %.4g gCO2e at %g gCO2e/kWh%s",
                 nn_co2e_grams(t->energy_done[0], t->cfg.grid_intensity), t->cfg.grid_intensity,
                 t->energy.measured ? "" : " (estimate)");
    nn_say(t->comm, t->cfg.quiet,
           "energy %.4g J for %.0f training samples (%s; %.2f CPU seconds on %d rank%s): %.4g J "
           "per 1,000 training samples%s\n",
           t->energy_done[0], t->energy_samples, how, t->energy_done[1], t->comm->size,
           t->comm->size > 1 ? "s" : "",
           t->energy_samples > 0 ? 1000.0 * t->energy_done[0] / t->energy_samples : 0.0, co2);
}
