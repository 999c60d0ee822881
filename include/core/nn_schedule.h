/* nn_schedule.h: learning-rate schedules and early stopping, as pure functions of the step
 * or of the validation history, so a resumed run recomputes them from its checkpoint. */
#ifndef NN_SCHEDULE_H
#define NN_SCHEDULE_H

typedef enum { NN_LR_CONSTANT = 0, NN_LR_STEP, NN_LR_COSINE } nn_lr_kind;

int nn_lr_kind_from_name(const char *s); /* -1 if unknown */
const char *nn_lr_kind_name(nn_lr_kind k);

typedef struct {
    nn_lr_kind kind;
    double base;          /* --lr */
    double min;           /* cosine: the floor it decays to (--lr-min) */
    double gamma;         /* step: factor applied every step_epochs epochs (--lr-gamma) */
    long step_epochs;     /* step: decay period in epochs (--lr-step-epochs) */
    double warmup_epochs; /* linear warm-up from base/warmup_steps to base (--warmup-epochs) */
    long steps_per_epoch;
    long epochs;          /* the run's length, for cosine */
} nn_lr_schedule;

/* The learning rate for optimizer step `step` (0-based: the first step of the run is 0).
 * Warm-up: base * (step + 1) / W for the first W = round(warmup_epochs * steps_per_epoch)
 * steps. After it, constant: base; step: base * gamma^floor(epoch / step_epochs) with
 * epoch = step / steps_per_epoch; cosine: min + (base - min) * (1 + cos(pi * p)) / 2 with
 * p = (step - W) / (epochs * steps_per_epoch - W), running from 0 to 1 over the run. */
double nn_lr_at(const nn_lr_schedule *s, long step);

/* Early stopping on the validation loss: an epoch improves when its loss is below the best
 * so far; after `patience` epochs in a row without improvement, training stops. */
typedef struct {
    double best;      /* best validation loss so far (INFINITY before the first) */
    long best_epoch;
    long bad_epochs;  /* epochs since the best */
} nn_early_stop;

void nn_early_stop_init(nn_early_stop *e);
/* Records an epoch's validation loss. Returns 1 if it is a new best. *stop is set to 1 when
 * patience > 0 and the run should stop after this epoch. */
int nn_early_stop_update(nn_early_stop *e, long epoch, double val_loss, long patience, int *stop);

#endif
