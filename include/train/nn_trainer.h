/* nn_trainer.h: the data-parallel trainer (src/train/). Every function here is collective: all
 * ranks call it, and all ranks get the same return status, so they stop together. */
#ifndef NN_TRAIN_H
#define NN_TRAIN_H

#include <stdio.h>

#include "nn_checkpoint.h"
#include "nn_clock.h"
#include "nn_comm.h"
#include "nn_replica.h"
#include "nn_report.h"
#include "nn_config.h"
#include "nn_h5data.h"
#include "nn_jobenergy.h"
#include "nn_model.h"
#include "nn_optim.h"
#include "nn_preprocess.h"
#include "nn_schedule.h"
#include "nn_shard.h"

/* Seconds rank 0 spent per phase of an epoch. compute is everything but the gradient sum
 * and checkpoints (optimizer included); optimizer is the part of compute in the update, and
 * matmul the part in matrix products during training steps (measured with --metrics only). */
typedef struct {
    double compute, allreduce, io, optimizer, matmul;
} nn_timers;

typedef struct {
    long epoch;
    double train_loss;     /* mean data loss over the epoch's samples */
    double reg_loss;       /* l1/l2 penalty at the end of the epoch */
    double val_loss;       /* NAN when there is no validation set */
    double val_accuracy;   /* NAN for regression or no validation set */
    double samples_per_sec;
    double seconds;        /* wall time of the whole epoch */
    nn_timers t;
    double allreduce_max;  /* t.allreduce of the rank that spent the most in it */
    double energy_j;       /* joules of the epoch, all hosts (docs/energy.md) */
    double cpu_s;          /* CPU seconds of the epoch, all ranks */
} nn_epoch_stats;

typedef struct {
    const nn_comm *comm;
    nn_config cfg;
    const char *cmdline;      /* stored in checkpoints */
    int example;              /* 1: the built-in y = 2x example */
    double y_mean, y_std;     /* the example's target normalisation */
    nn_layout lo;
    nn_opt_hparams hp;
    float l1, l2;
    /* The state (params, moments) and this rank's gradients, all owned by rep and in the same
     * flat layout; under --allreduce auto the ranks of a node share one copy of the state and
     * each updates its slice. grads has NN_GRAD_TAIL extra floats at the end that ride the
     * same sum: the local loss sum, "a signal arrived here", and rank 0's "the checkpoint
     * interval has passed". gsum_out is the last step's sum over all ranks. */
    nn_replica *rep;
    float *params, *grads, *m, *v;
    const float *gsum_out;
    nn_work work;
    nn_rows train;            /* this rank's shard, in position order */
    nn_rows val;              /* this rank's block of the validation set */
    size_t n_train, n_val;    /* global counts */
    int classify;             /* accuracy is meaningful */
    nn_sched sched;
    uint32_t *perm;           /* this epoch's order of the shard (shuffling) */
    nn_rows batch;            /* gather buffer for one local batch */
    long step;                /* optimizer steps taken */
    FILE *metrics, *step_log;
    int log_errno[2];         /* the errno of a failed write to metrics, step_log (rank 0) */
    FILE *trace;              /* --trace, open on rank 0 */
    int trace_state;          /* 0: off or not yet written, 1: written, -1: writing failed */
    /* where to start (a resumed run starts inside its checkpoint's epoch) */
    long start_epoch, start_step;
    double start_loss_sum;
    /* checkpoint requests agreed on at step boundaries */
    int stop;                 /* a signal: checkpoint, then exit NN_EXIT_CHECKPOINTED */
    int ckpt_pending;         /* a step or time request that fell on an epoch's last step */
    int last_ckpt_failed;     /* the final checkpoint could not be written: exit status 1 */
    double last_ckpt_time;
    /* input scaling (--normalize, or the example's own), applied to the rows once at load;
     * with the target scaling (--normalize-targets) and the class weights (--class-weight) */
    nn_preprocess pre;
    /* What the mean losses divide by: the weight sums of the training and validation sets,
     * and of each global batch of the epoch (step_w, sized at set-up, filled at the epoch's
     * start from exact per-class counts, step_cnt: steps x classes; under --no-shuffle at the
     * first epoch only, step_w_fixed then set). Without class weights the sample counts, and
     * step_w is NULL. */
    double train_w, val_w;
    double *step_w, *step_cnt;
    int step_w_fixed;
    nn_lr_schedule lr;        /* the learning rate of each step */
    float dropout;
    struct nn_adv *adv;       /* --adversarial (adversarial.c); NULL when off */
    nn_early_stop early;      /* --patience */
    /* resuming: the checkpoint's description (all ranks) and state (rank 0, until restored) */
    nn_ckpt_info *resume;
    nn_preprocess resume_pre; /* the checkpoint's scaling (all ranks) */
    float *resume_state[3];
    char resume_path[4096];
    char resume_layers[256];  /* the checkpoint's layer sizes as --layers text */
    unsigned char *resume_mask; /* the checkpoint's pruning masks (rank 0, until restored) */
    struct nn_prune *prune;   /* --prune-to (src/train/prune.c), or NULL */
    struct nn_distill *distill; /* --teacher (src/train/distill.c), or NULL */
    /* energy (src/train/energy.c): joules and CPU seconds of the epochs done, their samples */
    nn_job_energy energy;
    double energy_done[2], energy_samples;
} nn_trainer;

enum { NN_GRAD_TAIL = 3 };

/* Reads and checks the data, builds the model, initialises parameters on rank 0 and
 * broadcasts them (then checks every rank holds the same), and opens the outputs.
 * Returns 0, or the exit status (NN_EXIT_USAGE or NN_EXIT_FAILURE, the same on every rank)
 * after the error was printed once; then call nn_trainer_free. */
int nn_trainer_setup(nn_trainer *t, const nn_comm *comm, const nn_config *cfg,
                     const char *cmdline);
/* One epoch of training plus validation; fills st. Returns 0 when the epoch is done, 1 when a
 * signal stopped it and a checkpoint was written inside it, -1 on failure (reported). */
int nn_trainer_epoch(nn_trainer *t, long epoch, nn_epoch_stats *st);
/* Writes a checkpoint at this position (rank 0; the others wait): `epoch` epochs completed,
 * epoch_step steps into the next, loss_sum its data loss so far. Adds the time to st's io and
 * seconds (st may be NULL). A failed write is reported, not fatal; `last` says that it is the
 * run's final checkpoint (end of training, or a signal), whose failure ends the run with
 * NN_EXIT_FAILURE (the message says so). Returns 1 if written, 0 if not, on every rank. */
int nn_trainer_checkpoint(nn_trainer *t, long epoch, long epoch_step, double loss_sum,
                          nn_epoch_stats *st, int last);
/* The resolved settings that shape the run, "name=value;...": stored in checkpoints and
 * hashed (config_hash) for the banner. */
void nn_trainer_settings(const nn_trainer *t, char *buf, size_t len);
/* Writes <checkpoint-dir>/best.h5 (rank 0; the others wait): a checkpoint of the best
 * validation loss so far, for --patience. */
void nn_trainer_save_best(nn_trainer *t, long epoch, nn_epoch_stats *st);
/* Sums over every rank's rows v: acc = {loss sum, correct predictions, samples}. */
void nn_trainer_evaluate(nn_trainer *t, const nn_rows *v, double acc[3]);
void nn_trainer_free(nn_trainer *t);
/* The run's energy, its source and per 1,000 training samples (rank 0 prints). */
void nn_trainer_energy_summary(const nn_trainer *t);
/* --trace: at the end of the run, writes the timeline if the window was not complete (a short
 * run). Collective; returns 0, or NN_EXIT_FAILURE on every rank if the file could not be
 * written (reported). */
int nn_trainer_trace_finish(nn_trainer *t);

#endif
