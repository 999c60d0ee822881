/* resume.c: resuming. Finding and loading the checkpoint to resume from (rank 0 reads,
 * everyone receives), and the rules for what a resumed run may change.
 *
 * Resume rules: each setting's is a column of its row in include/io/nn_ckpt_fields.def.
 * Settings that define the model or its data (--layers, --activation, --loss, --optimizer,
 * --seed, --val-fraction, --normalize) are taken from the checkpoint when not given, and are an
 * error when given with another value. Settings a user may legitimately change on a long run
 * (--lr, --epochs, the optimizer's hyper-parameters, --l1, --l2, --no-shuffle, ...) are taken
 * from the checkpoint when not given, and logged when changed. --batch may change only at an
 * epoch boundary. A different number of ranks is allowed: every rank holds the whole state. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nn_checkpoint.h"
#include "nn_ckpt_attrs.h"
#include "nn_preprocess_comm.h"
#include "train_internal.h"

/* Rank 0: the checkpoint to resume from. 1 found (info and state filled), 0 none (auto on an
 * empty directory), -1 error. */
static int find_checkpoint(nn_trainer *t, char *path, size_t plen, char *err, size_t errlen)
{
    const nn_config *cfg = &t->cfg;
    nn_ckpt_info *info = t->resume;
    if (strcmp(cfg->resume, "auto") != 0) {
        snprintf(path, plen, "%s", cfg->resume);
        return nn_ckpt_load_masked(path, info, &t->resume_state[0], &t->resume_state[1],
                                   &t->resume_state[2], &t->resume_mask, &t->resume_pre, err,
                                   errlen) == 0
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
        if (nn_ckpt_load_masked(list[i], info, &t->resume_state[0], &t->resume_state[1],
                                &t->resume_state[2], &t->resume_mask, &t->resume_pre, why,
                                sizeof why) == 0) {
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

/* The checkpoint's value of setting id as text, as the messages print it: %g for floats, the
 * layer sizes joined by ',' (t->resume_layers). */
static const char *ck_text(const nn_trainer *t, int id, char *buf, size_t len)
{
    const void *x = nn_ckpt_attr_in(&t->resume->meta, id);
    switch (nn_ckpt_attrs[id].type) {
    case NN_AT_I64: snprintf(buf, len, "%lld", (long long)*(const int64_t *)x); break;
    case NN_AT_U64: snprintf(buf, len, "%llu", (unsigned long long)*(const uint64_t *)x); break;
    case NN_AT_F64: snprintf(buf, len, "%g", *(const double *)x); break;
    case NN_AT_STR: return x;
    case NN_AT_I32S: return t->resume_layers;
    }
    return buf;
}

/* Takes setting id's value from the checkpoint into its config field (strings point into
 * t->resume, which lives as long as the run). */
static void take(nn_trainer *t, int id)
{
    nn_arg_type type = NN_ARG_FLAG;
    void *f = nn_setting_field(&t->cfg, id, &type);
    const void *x = nn_ckpt_attr_in(&t->resume->meta, id);
    nn_attr_type at = nn_ckpt_attrs[id].type;
    switch (type) {
    case NN_ARG_STR: *(const char **)f = at == NN_AT_I32S ? t->resume_layers : x; break;
    case NN_ARG_LONG:
        *(long *)f = at == NN_AT_U64 ? (long)*(const uint64_t *)x : (long)*(const int64_t *)x;
        break;
    case NN_ARG_DOUBLE: *(double *)f = *(const double *)x; break;
    case NN_ARG_FLAG: *(int *)f = (int)*(const int64_t *)x; break;
    }
}

/* Whether the run's value of setting id differs from the checkpoint's; CHANGE32 settings are
 * stored as the float32 values used, so they are compared at that precision. */
static int differs(nn_trainer *t, int id)
{
    nn_arg_type type = NN_ARG_FLAG;
    const void *f = nn_setting_field(&t->cfg, id, &type);
    const void *x = nn_ckpt_attr_in(&t->resume->meta, id);
    nn_attr_type at = nn_ckpt_attrs[id].type;
    char buf[32];
    switch (type) {
    case NN_ARG_STR: return strcmp(*(const char *const *)f, ck_text(t, id, buf, sizeof buf)) != 0;
    case NN_ARG_LONG:
        return *(const long *)f != (at == NN_AT_U64 ? (long)*(const uint64_t *)x
                                                    : (long)*(const int64_t *)x);
    case NN_ARG_DOUBLE:
        if (nn_settings[id].rule == NN_RULE_CHANGE32)
            return (float)*(const double *)f != (float)*(const double *)x;
        return *(const double *)f != *(const double *)x;
    case NN_ARG_FLAG: return *(const int *)f != (int)*(const int64_t *)x;
    }
    return 0;
}

/* Given values that stand whatever the checkpoint says: --loss auto is resolved from the data
 * and then checked against the model (nn_resume_restore); --normalize-targets auto means the
 * checkpoint's (data.c takes its scaling); the built-in example scales its own
 * data by zscore (data.c), so --normalize zscore is its own. */
static int stands(const nn_trainer *t, int id)
{
    return (id == NN_A_loss && strcmp(t->cfg.loss, "auto") == 0) ||
           (id == NN_A_normalize_targets && strcmp(t->cfg.normalize_targets, "auto") == 0) ||
           (id == NN_A_normalize && t->example && strcmp(t->cfg.normalize, "zscore") == 0);
}

/* Setting id's resume rule (nn_ckpt_fields.def) on t->cfg; -1 with err on a conflict. log:
 * print what changed (rank 0, not --quiet). */
static int apply_rule(nn_trainer *t, int id, int log, char *err, size_t errlen)
{
    const nn_setting *s = &nn_settings[id];
    nn_config *cfg = &t->cfg;
    int given = nn_config_given(cfg, s->flag);
    char b1[64], b2[64];
    const char *was = ck_text(t, id, b1, sizeof b1), *now = nn_setting_text(cfg, id, 0, b2, sizeof b2);
    switch (s->rule) {
    case NN_RULE_FIXED:
        if (!given)
            take(t, id);
        else if (differs(t, id) && !stands(t, id)) {
            snprintf(err, errlen, s->err, now, was);
            return -1;
        }
        break;
    case NN_RULE_BATCH: /* gd is full-batch: its batch is always the checkpoint's */
        if (!given || cfg->optimizer[0] == 'g') {
            take(t, id);
        } else if (differs(t, id)) {
            if (t->resume->meta.epoch_step != 0) {
                snprintf(err, errlen, s->err, now, was);
                return -1;
            }
            if (log)
                printf(s->log, was, now);
        }
        break;
    case NN_RULE_CHANGE:
    case NN_RULE_CHANGE32:
        if (!given)
            take(t, id);
        else if (differs(t, id) && log && s->log)
            printf(s->log, was, now);
        else if (differs(t, id) && log)
            printf("resume: --%s changed from %s to %s\n", s->flag, was, now);
        break;
    case NN_RULE_ADOPT:
        if (!given)
            take(t, id);
        break;
    case NN_RULE_NOTE:
        if (strcmp(now, was) != 0 && log)
            printf(s->log, now, was);
        break;
    case NN_RULE_NONE: break;
    }
    return 0;
}

/* Applies the resume rules to t->cfg, in the table's rule order: the first conflict is the
 * error. Pure in (cfg, checkpoint): every rank decides alike. */
static int adopt(nn_trainer *t, char *err, size_t errlen)
{
    const nn_ckpt_sizes *sz = &t->resume->meta.layers;
    for (int i = 0; i < sz->n; i++)
        snprintf(t->resume_layers + strlen(t->resume_layers),
                 sizeof t->resume_layers - strlen(t->resume_layers), "%s%d", i ? "," : "",
                 sz->a[i]);
    const int log = t->comm->rank == 0 && !t->cfg.quiet;
    int ids[NN_A_N], n = nn_settings_sorted(1, ids);
    for (int i = 0; i < n; i++)
        if (apply_rule(t, ids[i], log, err, errlen) != 0)
            return -1;
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
    if ((fail = nn_preprocess_bcast(c, &t->resume_pre, 0,
                                    "out of memory for the checkpoint's normalisation")) != 0)
        return fail;
    const nn_ckpt_meta *m = &t->resume->meta;
    t->early.best = m->best_val_loss;
    t->early.best_epoch = (long)m->best_epoch;
    t->early.bad_epochs = (long)m->bad_epochs;
    /* a flag that contradicts the checkpoint is a usage error */
    return nn_fail(c, adopt(t, err, errlen) != 0 ? NN_EXIT_USAGE : 0, err);
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
                 "%ld steps per epoch; expected the same data set", (long)m->epoch_step,
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
    t->step = (long)m->step;
    t->start_epoch = (long)m->epoch + 1;
    t->start_step = (long)m->epoch_step;
    t->start_loss_sum = m->epoch_loss_sum;
    if (c->rank == 0 && !t->cfg.quiet) {
        int world = (int)m->world_size;
        printf("resume: %s: epoch %ld, step %ld (%ld into epoch %ld), written by %d rank%s\n",
               t->resume_path, (long)m->epoch, (long)m->step, (long)m->epoch_step,
               (long)m->epoch + 1, world, world > 1 ? "s" : "");
        if (world != c->size)
            printf("resume: now on %d ranks instead of %d: the global batch stays %zu; each rank "
                   "shuffles its own shard, so the order of the remaining samples differs%s\n",
                   c->size, world, t->sched.batch,
                   t->cfg.no_shuffle ? " (not with --no-shuffle: same order)" : "");
    }
    for (int k = 0; k < 3; k++) {
        free(t->resume_state[k]);
        t->resume_state[k] = NULL;
    }
    return 0;
}
