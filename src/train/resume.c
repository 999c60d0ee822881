/* resume.c: resuming. Finding and loading the checkpoint to resume from (rank 0 reads,
 * everyone receives), and the rules for what a resumed run may change.
 *
 * Resume rules. Settings that define the model or its data (--layers, --activation, --loss,
 * --optimizer, --seed, --val-fraction) are taken from the checkpoint when not given, and are an
 * error when given with another value. Settings a user may legitimately change on a long run
 * (--lr, --epochs, the optimizer's hyper-parameters, --l1, --l2, --no-shuffle) are taken from
 * the checkpoint when not given, and logged when changed. --batch may change only at an epoch
 * boundary. A different number of ranks is allowed: every rank holds the whole state. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nn_checkpoint.h"
#include "nn_preprocess.h"
#include "train_internal.h"

/* Rank 0: the checkpoint to resume from. 1 found (info and state filled), 0 none (auto on an
 * empty directory), -1 error. */
static int find_checkpoint(nn_trainer *t, char *path, size_t plen, char *err, size_t errlen)
{
    const nn_config *cfg = &t->cfg;
    nn_ckpt_info *info = t->resume;
    if (strcmp(cfg->resume, "auto") != 0) {
        snprintf(path, plen, "%s", cfg->resume);
        return nn_ckpt_load(path, info, &t->resume_state[0], &t->resume_state[1],
                            &t->resume_state[2], &t->resume_pre, err, errlen) == 0
                   ? 1
                   : -1;
    }
    char **list;
    int n = nn_ckpt_list(cfg->checkpoint_dir, &list);
    int found = 0;
    for (int i = 0; i < n && !found; i++) {
        char why[512];
        if (!list[i])
            continue;
        if (nn_ckpt_load(list[i], info, &t->resume_state[0], &t->resume_state[1],
                         &t->resume_state[2], &t->resume_pre, why, sizeof why) == 0) {
            snprintf(path, plen, "%s", list[i]);
            found = 1;
        } else {
            fprintf(stderr, "nn-train: warning: %s; falling back to the previous checkpoint\n",
                    why);
        }
    }
    if (n > 0)
        nn_ckpt_list_free(list, n);
    (void)err;
    (void)errlen;
    return found;
}

/* Applies the resume rules to t->cfg. Pure in (cfg, info): every rank decides alike. */
static int adopt(nn_trainer *t, const nn_ckpt_info *ck, char *err, size_t errlen)
{
    nn_config *cfg = &t->cfg;
    const nn_ckpt_meta *m = &ck->meta;
    const int log = t->comm->rank == 0 && !cfg->quiet;
    snprintf(t->resume_normalize, sizeof t->resume_normalize, "%s", m->normalize);
    snprintf(t->resume_lr_schedule, sizeof t->resume_lr_schedule, "%s", m->lr_schedule);

    /* model: --layers and --activation */
    for (int i = 0; i <= ck->lo.n_layers; i++)
        snprintf(t->resume_layers + strlen(t->resume_layers),
                 sizeof t->resume_layers - strlen(t->resume_layers), "%s%d", i ? "," : "",
                 ck->lo.sizes[i]);
    if (!nn_config_given(cfg, "layers"))
        cfg->layers = t->resume_layers;
    else if (strcmp(cfg->layers, t->resume_layers) != 0) {
        snprintf(err, errlen, "--layers %s does not match the checkpoint's model %s; expected "
                 "the same layers to resume (or start a new run without --resume)",
                 cfg->layers, t->resume_layers);
        return -1;
    }
    if (!nn_config_given(cfg, "activation"))
        cfg->activation = nn_act_name(ck->lo.act);
    else if (strcmp(cfg->activation, nn_act_name(ck->lo.act)) != 0) {
        snprintf(err, errlen, "--activation %s does not match the checkpoint's %s", cfg->activation,
                 nn_act_name(ck->lo.act));
        return -1;
    }
    if (!nn_config_given(cfg, "loss"))
        cfg->loss = nn_loss_name(ck->lo.loss);
    else if (strcmp(cfg->loss, "auto") != 0 && strcmp(cfg->loss, nn_loss_name(ck->lo.loss)) != 0) {
        snprintf(err, errlen, "--loss %s does not match the checkpoint's %s", cfg->loss,
                 nn_loss_name(ck->lo.loss));
        return -1;
    }
    if (!nn_config_given(cfg, "optimizer"))
        cfg->optimizer = nn_opt_name(ck->hp.kind);
    else if (strcmp(cfg->optimizer, nn_opt_name(ck->hp.kind)) != 0) {
        snprintf(err, errlen, "--optimizer %s cannot resume a checkpoint of %s (its state "
                 "differs)", cfg->optimizer, nn_opt_name(ck->hp.kind));
        return -1;
    }
    /* data-defining settings */
    if (!nn_config_given(cfg, "seed"))
        cfg->seed = (long)m->seed;
    else if ((uint64_t)cfg->seed != m->seed) {
        snprintf(err, errlen, "--seed %ld differs from the checkpoint's %llu; the seed decides "
                 "the validation split and the data order, so it cannot change on resume",
                 cfg->seed, (unsigned long long)m->seed);
        return -1;
    }
    if (!nn_config_given(cfg, "val-fraction"))
        cfg->val_fraction = m->val_fraction;
    else if (cfg->val_fraction != m->val_fraction) {
        snprintf(err, errlen, "--val-fraction %g differs from the checkpoint's %g; it cannot "
                 "change on resume (training data would leak into validation)",
                 cfg->val_fraction, m->val_fraction);
        return -1;
    }
    /* the global batch: the same, or changed at an epoch boundary */
    if (!nn_config_given(cfg, "batch") || cfg->optimizer[0] == 'g') {
        cfg->batch = m->batch;
    } else if (cfg->batch != m->batch) {
        if (m->epoch_step != 0) {
            snprintf(err, errlen, "--batch %ld differs from the checkpoint's %ld, which stopped "
                     "inside an epoch; the batch can change only at an epoch boundary",
                     cfg->batch, m->batch);
            return -1;
        }
        if (log)
            printf("resume: global batch changed from %ld to %ld\n", m->batch, cfg->batch);
    }
    /* settings that may change, logged */
    struct {
        const char *flag;
        double *cfgv;
        double ckv;
    } soft[] = {
        {"lr", &cfg->lr, m->lr},
        {"momentum", &cfg->momentum, ck->hp.momentum},
        {"beta1", &cfg->beta1, ck->hp.beta1},
        {"beta2", &cfg->beta2, ck->hp.beta2},
        {"eps", &cfg->eps, ck->hp.eps},
        {"weight-decay", &cfg->weight_decay, ck->hp.weight_decay},
        {"l1", &cfg->l1, m->l1},
        {"l2", &cfg->l2, m->l2},
    };
    for (size_t i = 0; i < sizeof soft / sizeof *soft; i++) {
        /* the checkpoint stores the float32 value used; compare at that precision */
        if (!nn_config_given(cfg, soft[i].flag))
            *soft[i].cfgv = soft[i].ckv;
        else if ((float)*soft[i].cfgv != (float)soft[i].ckv && log)
            printf("resume: --%s changed from %g to %g\n", soft[i].flag, soft[i].ckv,
                   *soft[i].cfgv);
    }
    if (!nn_config_given(cfg, "normalize"))
        cfg->normalize = t->resume_normalize;
    else if (strcmp(cfg->normalize, m->normalize) != 0 &&
             !(t->example && strcmp(cfg->normalize, "zscore") == 0)) {
        snprintf(err, errlen, "--normalize %s differs from the checkpoint's %s; the model was "
                 "trained on inputs scaled that way", cfg->normalize, m->normalize);
        return -1;
    }
    if (!nn_config_given(cfg, "lr-schedule"))
        cfg->lr_schedule = t->resume_lr_schedule;
    else if (strcmp(cfg->lr_schedule, m->lr_schedule) != 0 && log)
        printf("resume: --lr-schedule changed from %s to %s\n", m->lr_schedule, cfg->lr_schedule);
    struct {
        const char *flag;
        double *cfgv;
        double ckv;
    } more[] = {
        {"dropout", &cfg->dropout, m->dropout},
        {"warmup-epochs", &cfg->warmup_epochs, m->warmup_epochs},
        {"lr-gamma", &cfg->lr_gamma, m->lr_gamma},
        {"lr-min", &cfg->lr_min, m->lr_min},
    };
    for (size_t i = 0; i < sizeof more / sizeof *more; i++) {
        if (!nn_config_given(cfg, more[i].flag))
            *more[i].cfgv = more[i].ckv;
        else if (*more[i].cfgv != more[i].ckv && log)
            printf("resume: --%s changed from %g to %g\n", more[i].flag, more[i].ckv,
                   *more[i].cfgv);
    }
    if (!nn_config_given(cfg, "lr-step-epochs"))
        cfg->lr_step_epochs = m->lr_step_epochs;
    if (!nn_config_given(cfg, "patience"))
        cfg->patience = m->patience;
    else if (cfg->patience != m->patience && log)
        printf("resume: --patience changed from %ld to %ld\n", m->patience, cfg->patience);
    if (!nn_config_given(cfg, "epochs"))
        cfg->epochs = m->epochs;
    else if (cfg->epochs != m->epochs && log)
        printf("resume: --epochs changed from %ld to %ld\n", m->epochs, cfg->epochs);
    if (!nn_config_given(cfg, "no-shuffle"))
        cfg->no_shuffle = m->no_shuffle;
    else if (cfg->no_shuffle != m->no_shuffle && log)
        printf("resume: --no-shuffle turned on (the checkpoint's run shuffled)\n");
    if (t->example != (strcmp(m->data, "(built-in example)") == 0) ||
        (!t->example && strcmp(cfg->data, m->data) != 0)) {
        if (log)
            printf("resume: data %s differs from the checkpoint's %s\n",
                   t->example ? "(built-in example)" : cfg->data, m->data);
    }
    return 0;
}

int nn_resume_prepare(nn_trainer *t, char *err, size_t errlen)
{
    const nn_comm *c = t->comm;
    const nn_config *cfg = &t->cfg;
    if (!cfg->resume)
        return 0;
    int fail = 0;
    if (strcmp(cfg->resume, "auto") == 0 && !cfg->checkpoint_dir) {
        snprintf(err, errlen, "--resume auto needs --checkpoint-dir (where to look)");
        fail = NN_EXIT_USAGE;
    }
    t->resume = calloc(1, sizeof *t->resume);
    if (!fail && !t->resume) {
        snprintf(err, errlen, "out of memory");
        fail = NN_EXIT_FAILURE;
    }
    if ((fail = nn_fail(c, fail, err)) != 0)
        return fail;
    int found = 0;
    if (c->rank == 0)
        found = find_checkpoint(t, t->resume_path, sizeof t->resume_path, err, errlen);
    if ((fail = nn_fail(c, found < 0, err)) != 0)
        return fail;
    nn_comm_bcast(c, &found, sizeof found, 0);
    if (!found) {
        nn_say(c, cfg->quiet, "resume: no checkpoint in %s; starting fresh\n", cfg->checkpoint_dir);
        free(t->resume);
        t->resume = NULL;
        return 0;
    }
    nn_comm_bcast(c, t->resume, sizeof *t->resume, 0); /* plain data: layout, settings, position */
    nn_comm_bcast(c, t->resume_path, sizeof t->resume_path, 0);
    /* The normalisation statistics travel with the checkpoint (rank 0 read and verified
     * them with the rest), never recomputed. */
    fail = 0;
    int dk[2] = {t->resume_pre.d, t->resume_pre.k};
    char method[32];
    memcpy(method, t->resume_pre.method, sizeof method);
    nn_comm_bcast(c, dk, sizeof dk, 0);
    nn_comm_bcast(c, method, sizeof method, 0);
    if (c->rank != 0 && dk[0] > 0)
        fail = nn_preprocess_alloc(&t->resume_pre, method, dk[0], dk[1]) != 0;
    if ((fail = nn_fail(c, fail, "out of memory for the checkpoint's normalisation")) != 0)
        return fail;
    if (dk[0] > 0) {
        nn_comm_bcast(c, t->resume_pre.x_shift, (size_t)dk[0] * sizeof(float), 0);
        nn_comm_bcast(c, t->resume_pre.x_scale, (size_t)dk[0] * sizeof(float), 0);
        if (dk[1] > 0) {
            nn_comm_bcast(c, t->resume_pre.y_shift, (size_t)dk[1] * sizeof(float), 0);
            nn_comm_bcast(c, t->resume_pre.y_scale, (size_t)dk[1] * sizeof(float), 0);
        }
    }
    const nn_ckpt_meta *m = &t->resume->meta;
    t->early.best = m->best_val_loss;
    t->early.best_epoch = m->best_epoch;
    t->early.bad_epochs = m->bad_epochs;
    /* a flag that contradicts the checkpoint is a usage error */
    return nn_fail(c, adopt(t, t->resume, err, errlen) != 0 ? NN_EXIT_USAGE : 0, err);
}

int nn_resume_restore(nn_trainer *t, char *err, size_t errlen)
{
    const nn_comm *c = t->comm;
    const nn_ckpt_info *ck = t->resume;
    const nn_ckpt_meta *m = &ck->meta;
    int fail = 0;
    if (t->lo.loss != ck->lo.loss) {
        snprintf(err, errlen, "the data asks for %s but the checkpoint's model was trained with "
                 "%s", nn_loss_name(t->lo.loss), nn_loss_name(ck->lo.loss));
        fail = 1;
    } else if (m->epoch_step > 0 && m->epoch_step >= t->sched.steps) {
        snprintf(err, errlen, "the checkpoint stopped at step %ld of an epoch, but this data has "
                 "%ld steps per epoch; expected the same data set", m->epoch_step,
                 t->sched.steps);
        fail = 1;
    }
    if ((fail = nn_fail(c, fail, err)) != 0)
        return fail;
    size_t bytes = t->lo.n_params * sizeof(float);
    if (c->rank == 0) {
        memcpy(t->params, t->resume_state[0], bytes);
        if (t->resume_state[1])
            memcpy(t->m, t->resume_state[1], bytes);
        if (t->resume_state[2])
            memcpy(t->v, t->resume_state[2], bytes);
    }
    /* Only rank 0 read the file; the others receive the whole state. */
    for (int k = 0; k < NN_REPLICA_STATES; k++)
        nn_replica_bcast(t->rep, k);
    t->step = m->step;
    t->start_epoch = m->epoch + 1;
    t->start_step = m->epoch_step;
    t->start_loss_sum = m->epoch_loss_sum;
    if (c->rank == 0 && !t->cfg.quiet) {
        printf("resume: %s: epoch %ld, step %ld (%ld into epoch %ld), written by %d rank%s\n",
               t->resume_path, m->epoch, m->step, m->epoch_step, m->epoch + 1, m->world_size,
               m->world_size > 1 ? "s" : "");
        if (m->world_size != c->size)
            printf("resume: now on %d ranks instead of %d: the global batch stays %zu; each rank "
                   "shuffles its own shard, so the order of the remaining samples differs%s\n",
                   c->size, m->world_size, t->sched.batch,
                   t->cfg.no_shuffle ? " (not with --no-shuffle: same order)" : "");
    }
    for (int k = 0; k < 3; k++) {
        free(t->resume_state[k]);
        t->resume_state[k] = NULL;
    }
    return 0;
}
