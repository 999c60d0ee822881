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

/* step.c: one global step (no allocation); returns the mean data loss of the global batch. */
double nn_train_step(nn_trainer *t, long step, nn_timers *tm);

/* resume.c: prepare finds and reads the checkpoint and applies the resume rules to t->cfg,
 * before the data is read; restore puts the state in place after. */
int nn_resume_prepare(nn_trainer *t, char *err, size_t errlen);
int nn_resume_restore(nn_trainer *t, char *err, size_t errlen);

/* signals.c: SIGTERM, SIGINT and SIGUSR1 only set a flag, read at step boundaries. */
void nn_signals_install(void);
int nn_signal_pending(void);

#endif
