/* schedule.c: learning-rate schedules and early stopping (see nn_schedule.h). */
#include <math.h>
#include <string.h>

#include "nn_args.h"
#include "nn_schedule.h"

#define NN_PI 3.14159265358979323846

static const char *const lr_names[] = {"constant", "step", "cosine"};

const char *nn_lr_kind_name(nn_lr_kind k) { return lr_names[k]; }

int nn_lr_kind_from_name(const char *s)
{
    return nn_name_index(lr_names, (int)(sizeof lr_names / sizeof *lr_names), s);
}

double nn_lr_at(const nn_lr_schedule *s, long step)
{
    long warm = lround(s->warmup_epochs * (double)s->steps_per_epoch);
    if (step < warm)
        return s->base * (double)(step + 1) / (double)warm;
    switch (s->kind) {
    case NN_LR_STEP: {
        long epoch = step / s->steps_per_epoch;
        return s->base * pow(s->gamma, (double)(epoch / (s->step_epochs > 0 ? s->step_epochs : 1)));
    }
    case NN_LR_COSINE: {
        double total = (double)s->epochs * (double)s->steps_per_epoch - (double)warm;
        double p = total > 0 ? (double)(step - warm) / total : 1.0;
        if (p > 1.0)
            p = 1.0;
        return s->min + (s->base - s->min) * 0.5 * (1.0 + cos(NN_PI * p));
    }
    case NN_LR_CONSTANT:
        break;
    }
    return s->base;
}

void nn_early_stop_init(nn_early_stop *e)
{
    e->best = INFINITY;
    e->best_epoch = 0;
    e->bad_epochs = 0;
}

int nn_early_stop_update(nn_early_stop *e, long epoch, double val_loss, long patience, int *stop)
{
    int improved = val_loss < e->best; /* NaN never improves */
    if (improved) {
        e->best = val_loss;
        e->best_epoch = epoch;
        e->bad_epochs = 0;
    } else {
        e->bad_epochs++;
    }
    *stop = patience > 0 && e->bad_epochs >= patience;
    return improved;
}
