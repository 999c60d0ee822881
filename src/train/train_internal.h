/* train_internal.h: what the files of src/train share and nothing outside it uses. Each block
 * names the file that defines it. The calls go one way (setup -> data, outputs, resume;
 * epoch -> step, checkpointing; checkpointing, setup -> settings), so no two files depend on
 * each other. */
#ifndef NN_TRAIN_INTERNAL_H
#define NN_TRAIN_INTERNAL_H

#include <stddef.h>

#include "nn_trainer.h"

/* data.c: reads this rank's training shard and validation block (from the file or the
 * built-in example), resolves the loss, checks the model's ends and the rows against the
 * data, and applies the input scaling. 0, or the agreed exit status after the error. */
int nn_train_load_data(nn_trainer *t, char *err, size_t errlen);

/* outputs.c: 1 (with err) if --metrics or --step-log would replace an input or each other
 * (rank 0); then, after every input was checked, the checkpoint directory and the logs
 * (rank 0; 0 or -1 with err). */
int nn_train_outputs_clash(const nn_config *cfg, char *err, size_t errlen);
int nn_train_open_outputs(nn_trainer *t, char *err, size_t errlen);

/* trace.c: --trace. setup opens the recorder on every rank (collective, after the outputs
 * are open); before and after each step, the window (the file is written, collectively, when
 * its last step is done). */
int nn_train_trace_setup(nn_trainer *t, char *err, size_t errlen);
void nn_train_trace_before(nn_trainer *t);
void nn_train_trace_after(nn_trainer *t);

/* step.c: one global step (no allocation); returns the mean data loss of the global batch
 * (weighted by class with --class-weight). */
double nn_train_step(nn_trainer *t, long step, nn_timers *tm);
/* What the loss of batch `step` is divided by: its size, or its weight sum (step_w). */
double nn_train_step_weight(const nn_trainer *t, long step);
/* --class-weight: fills t->step_w for this epoch's order (after the shuffle). Collective:
 * one sum of the per-class counts of every batch; the sums are exact and in class order,
 * so they do not depend on the number of ranks. Under --no-shuffle (file order, the same
 * batches every epoch) only the first call fills them; later ones return at once. */
void nn_train_epoch_weights(nn_trainer *t);

/* adversarial.c: --adversarial. setup sizes the buffers and takes the training set's range
 * (scaled from nn_adv_raw_range's when there is one, else one pass over the rows; collective;
 * 0 or the agreed exit status); perturb returns the local batch to train on,
 * x itself or the adversarial copy (no allocation); describe prints the banner's line. */
int nn_adv_setup(nn_trainer *t, size_t max_local, char *err, size_t errlen);
const float *nn_adv_perturb(nn_trainer *t, long step, const float *x, nn_batch_y y, size_t cnt);
void nn_adv_describe(const nn_trainer *t);
void nn_adv_free(nn_trainer *t);
/* The training rows' per-feature range as read (before scaling), over every rank's shard
 * (exact: the same at any rank count), into t->pre.x_min and x_max (replacing a resumed
 * checkpoint's). Collective; 0, or 1 on every rank after the error. */
int nn_adv_raw_range(nn_trainer *t);

/* resume.c: prepare finds and reads the checkpoint and applies the resume rules to t->cfg,
 * before the data is read; restore puts the state in place after. */
int nn_resume_prepare(nn_trainer *t, char *err, size_t errlen);
int nn_resume_restore(nn_trainer *t, char *err, size_t errlen);

/* prune.c: --prune-to (docs/shrink.md). setup checks the flags (resolving --prune-end) and
 * sizes the mask, restored from the checkpoint or all kept (collective, after the state is
 * in place); before each step the schedule's mask update (collective when it updates: the
 * ranks compare the mask); after the optimizer on the state positions [a, b), the pruned
 * weights and moments set to 0; the mask a checkpoint stores (NULL without pruning). */
typedef struct nn_prune nn_prune;
int nn_prune_setup(nn_trainer *t, char *err, size_t errlen);
void nn_prune_before_step(nn_trainer *t);
void nn_prune_after_update(nn_trainer *t, size_t a, size_t b);
const unsigned char *nn_prune_mask(const nn_trainer *t);
void nn_prune_free(nn_trainer *t);

/* distill.c: --teacher (docs/shrink.md). setup reads the teacher on rank 0, broadcasts it and
 * sizes its passes for max_local rows (collective; 0 or the agreed exit status); mix runs
 * the teacher on the step's local batch x (B rows, the student's scaling) and turns the
 * cross-entropy sum ce and w->delta_a into the distillation loss's (returned); without a
 * teacher it returns ce. */
typedef struct nn_distill nn_distill;
int nn_distill_setup(nn_trainer *t, size_t max_local, char *err, size_t errlen);
double nn_distill_mix(nn_trainer *t, const float *x, nn_batch_y y, int B, double ce);
void nn_distill_free(nn_trainer *t);

/* settings.c: the run settings of the checkpoint table (include/io/nn_ckpt_fields.def), its
 * columns the trainer reads, indexed by NN_A_<field>; the writer, the settings string and the
 * resume rules iterate over them. */
typedef enum { NN_SRC_RUN, NN_SRC_FLAG, NN_SRC_FILE } nn_setting_src;
typedef enum {
    NN_RULE_NONE, NN_RULE_FIXED, NN_RULE_CHANGE, NN_RULE_CHANGE32, NN_RULE_BATCH, NN_RULE_ADOPT,
    NN_RULE_NOTE
} nn_resume_rule;
typedef struct {
    const char *flag;    /* NULL: not a flag */
    nn_setting_src src;
    nn_resume_rule rule;
    int key, order;      /* place in the settings string, among the resume rules; 0: none */
    const char *err, *log;
} nn_setting;
extern const nn_setting nn_settings[];
/* The ids (NN_A_*) with a place in the settings string (by_rule 0) or among the resume rules
 * (by_rule 1), in that order; returns how many. */
int nn_settings_sorted(int by_rule, int *ids);
/* Setting id's nn_config field (through the option table, by its flag) and the field's type. */
void *nn_setting_field(nn_config *cfg, int id, nn_arg_type *type);
/* Setting id's config value as text: %.9g (exact 1) or %g (exact 0) for numbers; an unset
 * --data is the built-in example. A string is returned as it is, anything else is put in buf. */
const char *nn_setting_text(const nn_config *cfg, int id, int exact, char *buf, size_t len);
/* Once the run has resolved its settings (the data read, the optimizer built): writes the
 * values it uses back into t->cfg (the resolved global batch, the normalisation applied, the
 * float32 optimizer settings, ...), so the settings string and the checkpoints store them. */
void nn_settings_resolve(nn_trainer *t);
/* The rows of src FLAG of a checkpoint's meta, from t->cfg. */
void nn_settings_store(const nn_trainer *t, nn_ckpt_meta *meta);

/* energy.c: the run's energy (docs/energy.md). start after set-up (collective; prints the
 * source); epoch at each epoch's end (collective): st's energy_j and cpu_s, and the totals. */
void nn_train_energy_start(nn_trainer *t);
void nn_train_energy_epoch(nn_trainer *t, nn_epoch_stats *st, double samples);

/* signals.c: SIGTERM, SIGINT and SIGUSR1 only set a flag, read at step boundaries. */
void nn_signals_install(void);
int nn_signal_pending(void);

#endif
