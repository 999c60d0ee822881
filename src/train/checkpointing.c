/* checkpointing.c: the trainer's checkpoints. Rank 0 writes (the others wait, under the
 * watchdog's "checkpoint write"), into --checkpoint-dir or best.h5; the file describes the run
 * at this position (nn_ckpt_meta, the rows of include/io/nn_ckpt_fields.def) and holds its
 * state. */
#include <stdio.h>
#include <string.h>

#include "nn_checkpoint.h"
#include "train_internal.h"

/* The checkpoint's description of this run at this position: the settings (rows of src FLAG,
 * from t->cfg, which holds the resolved values) and the rows of src RUN, the trainer's state;
 * nn_ckpt_write adds the FILE rows. */
static void fill_meta(const nn_trainer *t, nn_ckpt_meta *meta, long epoch, long epoch_step,
                      double loss_sum)
{
    memset(meta, 0, sizeof *meta);
    nn_settings_store(t, meta);
    meta->epoch = epoch;
    meta->epoch_step = epoch_step;
    meta->step = t->step;
    meta->epoch_loss_sum = loss_sum;
    meta->best_val_loss = t->early.best;
    meta->best_epoch = t->early.best_epoch;
    meta->bad_epochs = t->early.bad_epochs;
    meta->world_size = t->comm->size;
    snprintf(meta->config, sizeof meta->config, "%s", t->cmdline ? t->cmdline : "");
    nn_trainer_settings(t, meta->settings, sizeof meta->settings);
}

/* Rank 0 writes path; returns 1 on success. The optimizer's learning rate is stored as the
 * schedule's base: the rate of any step is recomputed from it. `last`: the run's final
 * checkpoint, whose failure fails the run. */
static int write_at(nn_trainer *t, const char *path, long epoch, long epoch_step,
                    double loss_sum, int last)
{
    char err[1024];
    nn_ckpt_meta meta;
    fill_meta(t, &meta, epoch, epoch_step, loss_sum);
    nn_opt_hparams hp = t->hp;
    hp.lr = (float)t->lr.base;
    if (nn_ckpt_write_masked(path, &t->lo, t->params, &hp, t->m, t->v, nn_prune_mask(t), &meta,
                             &t->pre, err, sizeof err) != 0) {
        if (last)
            nn_error(t->comm, "%s; it was the run's final checkpoint (exit status %d)", err,
                     NN_EXIT_FAILURE);
        else
            nn_error(t->comm, "%s (training goes on)", err);
        return 0;
    }
    return 1;
}

int nn_trainer_checkpoint(nn_trainer *t, long epoch, long epoch_step, double loss_sum,
                          nn_epoch_stats *st, int last)
{
    double t0 = nn_now();
    int ok = 1;
    if (t->comm->rank == 0) {
        char path[4096], err[1024];
        nn_comm_test_point(t->comm, "checkpoint write");
        nn_ckpt_path(path, sizeof path, t->cfg.checkpoint_dir, epoch, t->step);
        ok = write_at(t, path, epoch, epoch_step, loss_sum, last);
        if (ok && nn_ckpt_commit(t->cfg.checkpoint_dir, path, t->cfg.keep, err, sizeof err) != 0)
            nn_error(t->comm, "%s (the checkpoint itself is complete)", err);
    }
    /* the other ranks wait for the write */
    nn_comm_bcast_as(t->comm, "checkpoint write", &ok, sizeof ok, 0);
    t->last_ckpt_time = nn_now();
    if (st) {
        st->t.io += t->last_ckpt_time - t0;
        st->seconds += t->last_ckpt_time - t0;
    }
    return ok;
}

void nn_trainer_save_best(nn_trainer *t, long epoch, nn_epoch_stats *st)
{
    double t0 = nn_now();
    int ok = 1;
    if (t->comm->rank == 0) {
        char path[4096];
        snprintf(path, sizeof path, "%s/best.h5", t->cfg.checkpoint_dir);
        ok = write_at(t, path, epoch, 0, 0.0, 0);
    }
    nn_comm_bcast_as(t->comm, "checkpoint write", &ok, sizeof ok, 0);
    st->t.io += nn_now() - t0;
    st->seconds += nn_now() - t0;
}
