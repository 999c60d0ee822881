/* nn_config.h: nn-train's command line. One table (src/config.c) names every flag with its
 * type, default and help; parsing and --help both come from it, so they cannot drift. */
#ifndef NN_CONFIG_H
#define NN_CONFIG_H

#include <stddef.h>
#include <stdio.h>

#include "nn_args.h"

typedef struct {
    /* data and model */
    const char *data;
    const char *layers;
    const char *activation;
    const char *loss;       /* auto | mse | xent */
    /* optimisation */
    const char *optimizer;  /* sgd | gd | adam | adamw */
    double lr, momentum, beta1, beta2, eps, weight_decay, l1, l2;
    long batch, epochs, seed;
    const char *normalize;    /* zscore | minmax | none */
    double dropout;
    const char *lr_schedule;  /* constant | step | cosine */
    double warmup_epochs, lr_gamma, lr_min;
    long lr_step_epochs, patience;
    double val_fraction;
    int no_shuffle;
    /* output */
    const char *checkpoint_dir;
    long checkpoint_every;
    long checkpoint_every_steps;
    double checkpoint_interval;
    long keep;
    const char *resume;     /* FILE or "auto" */
    double comm_timeout;    /* 0: off; inside a Slurm job the default is NN_SLURM_COMM_TIMEOUT */
    const char *allreduce;  /* auto | mpi */
    const char *verify;
    const char *metrics;
    const char *step_log;
    int quiet;
    long threads;
    int help, version;
    /* which flags the user gave (index into the option table) */
    unsigned char given[64];
} nn_config;

/* --comm-timeout's default inside a Slurm job (SLURM_JOB_ID set), in seconds: long enough for
 * any legitimate wait (rank 0 writing a checkpoint of a large model, a slow shard read), and
 * short against the hours of an allocation that a frozen rank would otherwise hold. */
#define NN_SLURM_COMM_TIMEOUT 900.0

/* Fills cfg from argv. Returns 0, or -1 with one line in err. Never prints or exits. */
int nn_config_parse(nn_config *cfg, int argc, char **argv, char *err, size_t errlen);
/* 1 if the user gave --name on the command line. */
int nn_config_given(const nn_config *cfg, const char *name);
/* The option table's entry for --name: where its value lives in nn_config (offset) and its
 * type; NULL if there is no such flag. The run settings (nn_ckpt_fields.def) find their
 * fields through it. */
const nn_arg *nn_config_arg(const char *name);
/* Writes the generated usage text. */
void nn_config_usage(FILE *out);

#endif
