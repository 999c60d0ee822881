/* epoch.c: one epoch. The shard's order for the epoch, its steps (with the step log, the
 * progress line, divergence, and the checkpoint requests every rank agrees on through the
 * gradient sum), then validation and the epoch's figures. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "nn_kernels.h"
#include "train_internal.h"

/* Progress on a terminal only; never on a log file. */
static void progress(const nn_trainer *t, long epoch, long step, double loss, double *last)
{
    if (t->comm->rank != 0 || t->cfg.quiet || !isatty(2))
        return;
    double now = nn_now();
    if (now - *last < 0.5 && step + 1 < t->sched.steps)
        return;
    *last = now;
    fprintf(stderr, "\r  epoch %ld  step %ld/%ld  loss %.4f\033[K", epoch, step + 1,
            t->sched.steps, loss);
    if (step + 1 == t->sched.steps)
        fprintf(stderr, "\r\033[K");
}

/* This rank's shard, reordered from (seed, epoch, rank). */
static void shuffle(nn_trainer *t, long epoch)
{
    nn_rng r;
    nn_rng_seed(&r, (uint64_t)t->cfg.seed,
                nn_stream_id(NN_STREAM_SHUFFLE, (uint64_t)epoch, (uint64_t)t->comm->rank));
    for (size_t i = 0; i < t->train.n; i++)
        t->perm[i] = (uint32_t)i;
    nn_shuffle_u32(t->perm, t->train.n, &r);
}

/* Checkpoint requests after step s, the same on every rank after the allreduce. One that falls
 * on the epoch's last step waits for the epoch's end, after validation. Returns 1 when a signal
 * stopped the run and its checkpoint was written (or failed) here. */
static int requests(nn_trainer *t, long epoch, long s, double loss_sum, nn_epoch_stats *st)
{
    size_t n = t->lo.n_params;
    int stop = t->gsum_out[n + 1] > 0.0f;
    int want = stop || t->gsum_out[n + 2] > 0.0f ||
               (t->cfg.checkpoint_every_steps > 0 && t->step % t->cfg.checkpoint_every_steps == 0);
    if (want && s + 1 < t->sched.steps) {
        if (t->step_log && fflush(t->step_log) != 0 && !t->log_errno[1])
            t->log_errno[1] = errno;
        int ok = nn_trainer_checkpoint(t, epoch - 1, s + 1, loss_sum, st, stop);
        if (stop) {
            t->stop = 1;
            t->last_ckpt_failed = !ok;
            return 1;
        }
    } else if (want) {
        t->ckpt_pending = 1;
        t->stop |= stop;
    }
    return 0;
}

/* Validation and the epoch's figures. */
static void finish(nn_trainer *t, nn_epoch_stats *st, double loss_sum, double samples,
                   double t_train)
{
    double tv = nn_now();
    double v[3];
    nn_trainer_evaluate(t, &t->val, v);
    double vl = v[0], vc = v[1], vn = v[2];
    st->t.compute += nn_now() - tv;
    st->allreduce_max = st->t.allreduce;
    nn_comm_max_f64(t->comm, &st->allreduce_max, 1);
    st->train_loss = loss_sum / t->train_w;
    st->reg_loss = (t->l1 > 0 || t->l2 > 0) ? nn_reg_loss(&t->lo, t->params, t->l1, t->l2) : 0.0;
    st->val_loss = vn > 0 && t->val_w > 0 ? vl / t->val_w : NAN;
    st->val_accuracy = (vn > 0 && t->classify) ? vc / vn : NAN;
    st->samples_per_sec = samples / t_train;
    nn_train_energy_epoch(t, st, samples);
    if (t->step_log && fflush(t->step_log) != 0 && !t->log_errno[1])
        t->log_errno[1] = errno;
}

int nn_trainer_epoch(nn_trainer *t, long epoch, nn_epoch_stats *st)
{
    memset(st, 0, sizeof *st);
    st->epoch = epoch;
    double t0 = nn_now(), last = 0.0;
    if (!t->cfg.no_shuffle)
        shuffle(t, epoch);
    nn_train_epoch_weights(t);
    /* A resumed run re-enters its checkpoint's epoch at the step where it stopped. */
    long first = epoch == t->start_epoch ? t->start_step : 0;
    double loss_sum = epoch == t->start_epoch ? t->start_loss_sum : 0.0;
    double samples = 0.0;
    for (long s = first; s < t->sched.steps; s++) {
        nn_train_trace_before(t);
        double loss = nn_train_step(t, s, &st->t);
        nn_train_trace_after(t);
        loss_sum += loss * nn_train_step_weight(t, s);
        samples += (double)nn_sched_global(&t->sched, s);
        if (t->step_log)
            if (fprintf(t->step_log, "%ld,%ld,%.9g\n", t->step, epoch, loss) < 0 &&
                !t->log_errno[1])
                t->log_errno[1] = errno;
        progress(t, epoch, s, loss, &last);
        if (!isfinite(loss)) { /* every rank sees the same allreduced loss: they stop together */
            if (t->comm->rank == 0)
                nn_error(t->comm, "training diverged: the loss is not finite at step %ld (epoch "
                         "%ld); try a smaller --lr",
                         t->step, epoch);
            return -1;
        }
        if (requests(t, epoch, s, loss_sum, st))
            return 1;
    }
    finish(t, st, loss_sum, samples, nn_now() - t0);
    st->seconds = nn_now() - t0;
    return 0;
}
