/* config.c: nn-train's option table; src/args.c parses it and prints --help from it. */
#include <stdio.h>
#include <string.h>

#include "nn_args.h"
#include "nn_config.h"

#define OFF(f) offsetof(nn_config, f)
static const nn_arg options[] = {
    {"data", 0, NN_ARG_STR, OFF(data), NULL, "FILE", 0, 0, NULL, 0,
     "HDF5 data set (docs/data-format.md); without it, the built-in y = 2x example"},
    {"layers", 0, NN_ARG_STR, OFF(layers), "1,64,64,1", "LIST", 0, 0, NULL, 0,
     "layer sizes, input to output, e.g. 784,256,128,10 (required with --data)"},
    {"activation", 0, NN_ARG_STR, OFF(activation), "relu", "NAME", 0, 0, "relu|tanh|sigmoid|linear", 0,
     "hidden-layer activation"},
    {"loss", 0, NN_ARG_STR, OFF(loss), "auto", "NAME", 0, 0, "auto|mse|xent", 0,
     "auto: softmax cross-entropy for integer labels, mean squared error for float targets"},
    {"optimizer", 0, NN_ARG_STR, OFF(optimizer), "adam", "NAME", 0, 0, "sgd|gd|adam|adamw", 0,
     "gd is full-batch gradient descent (implies --batch 0)"},
    {"lr", 0, NN_ARG_DOUBLE, OFF(lr), "0.001", "FLOAT", 1e-12, 1e6, NULL, 0, "learning rate"},
    {"momentum", 0, NN_ARG_DOUBLE, OFF(momentum), "0", "FLOAT", 0, 0.999999, NULL, 0, "sgd momentum"},
    {"beta1", 0, NN_ARG_DOUBLE, OFF(beta1), "0.9", "FLOAT", 0, 0.999999, NULL, 0, "adam first-moment decay"},
    {"beta2", 0, NN_ARG_DOUBLE, OFF(beta2), "0.999", "FLOAT", 0, 0.999999999, NULL, 0,
     "adam second-moment decay"},
    {"eps", 0, NN_ARG_DOUBLE, OFF(eps), "1e-8", "FLOAT", 0, 1, NULL, 0, "adam epsilon"},
    {"weight-decay", 0, NN_ARG_DOUBLE, OFF(weight_decay), "0.01", "FLOAT", 0, 1e3, NULL, 0,
     "adamw decoupled weight decay (kernels only)"},
    {"l1", 0, NN_ARG_DOUBLE, OFF(l1), "0", "FLOAT", 0, 1e6, NULL, 0, "L1 penalty l1*sum|w| on kernels"},
    {"l2", 0, NN_ARG_DOUBLE, OFF(l2), "0", "FLOAT", 0, 1e6, NULL, 0, "L2 penalty l2/2*sum w^2 on kernels"},
    {"normalize", 0, NN_ARG_STR, OFF(normalize), "zscore", "NAME", 0, 0, "zscore|minmax|none", 0,
     "input scaling from the training set's statistics (stored in checkpoints)"},
    {"dropout", 0, NN_ARG_DOUBLE, OFF(dropout), "0", "P", 0, 0.95, NULL, 0,
     "dropout rate on hidden activations during training"},
    {"lr-schedule", 0, NN_ARG_STR, OFF(lr_schedule), "constant", "NAME", 0, 0, "constant|step|cosine", 0,
     "learning-rate schedule"},
    {"warmup-epochs", 0, NN_ARG_DOUBLE, OFF(warmup_epochs), "0", "E", 0, 1e6, NULL, 0,
     "linear learning-rate warm-up over the first E epochs"},
    {"lr-step-epochs", 0, NN_ARG_LONG, OFF(lr_step_epochs), "10", "N", 1, 1e9, NULL, 0,
     "step schedule: multiply the learning rate by --lr-gamma every N epochs"},
    {"lr-gamma", 0, NN_ARG_DOUBLE, OFF(lr_gamma), "0.1", "F", 0, 1, NULL, 0, "step schedule: the factor"},
    {"lr-min", 0, NN_ARG_DOUBLE, OFF(lr_min), "0", "FLOAT", 0, 1e6, NULL, 0,
     "cosine schedule: the learning rate it ends at"},
    {"patience", 0, NN_ARG_LONG, OFF(patience), "0", "N", 0, 1e9, NULL, 0,
     "stop after N epochs without a better validation loss (0: off); best.h5 keeps the best"},
    {"batch", 0, NN_ARG_LONG, OFF(batch), "128", "N", 0, 1e12, NULL, 0,
     "global batch over all ranks; 0 = the whole training set (built-in example: 32)"},
    {"epochs", 0, NN_ARG_LONG, OFF(epochs), "10", "N", 1, 1e9, NULL, 0,
     "passes over the training set (built-in example: 100)"},
    {"seed", 0, NN_ARG_LONG, OFF(seed), "42", "N", 0, 9.2e18, NULL, 0,
     "seed for initialisation, validation split and shuffling"},
    {"val-fraction", 0, NN_ARG_DOUBLE, OFF(val_fraction), "0.1", "F", 0, 0.9, NULL, 0,
     "share of /train held out for validation when the file has no /val"},
    {"no-shuffle", 0, NN_ARG_FLAG, OFF(no_shuffle), NULL, NULL, 0, 0, NULL, 0,
     "keep file order (runs at any rank count then follow one trajectory)"},
    {"checkpoint-dir", 0, NN_ARG_STR, OFF(checkpoint_dir), NULL, "DIR", 0, 0, NULL, 0,
     "write HDF5 checkpoints here (created if missing)"},
    {"checkpoint-every", 0, NN_ARG_LONG, OFF(checkpoint_every), "1", "N", 1, 1e9, NULL, 0,
     "checkpoint every N epochs, and always at the end"},
    {"checkpoint-every-steps", 0, NN_ARG_LONG, OFF(checkpoint_every_steps), "0", "N", 0, 1e12, NULL, 0,
     "also checkpoint every N optimizer steps (0: off)"},
    {"checkpoint-interval", 0, NN_ARG_DOUBLE, OFF(checkpoint_interval), "0", "SECONDS", 0, 1e9, NULL, 0,
     "also checkpoint when this much time has passed since the last one (0: off)"},
    {"keep", 0, NN_ARG_LONG, OFF(keep), "3", "N", 1, 1e6, NULL, 0,
     "keep the newest N checkpoints in --checkpoint-dir"},
    {"resume", 0, NN_ARG_STR, OFF(resume), NULL, "FILE|auto", 0, 0, NULL, 0,
     "resume from a checkpoint; auto: the newest good one in --checkpoint-dir, or start fresh"},
    {"comm-timeout", 0, NN_ARG_DOUBLE, OFF(comm_timeout), "0", "SECONDS", 0, 1e9, NULL, 0,
     "abort when a wait on other ranks has not ended after this long (0: wait forever; "
     "default 900 inside a Slurm job)"},
    {"allreduce", 0, NN_ARG_STR, OFF(allreduce), "auto", "MODE", 0, 0, "auto|mpi", 0,
     "gradient sum: auto = shared memory within a node, MPI between nodes; mpi = MPI_Allreduce"},
    {"verify", 0, NN_ARG_STR, OFF(verify), NULL, "FILE", 0, 0, NULL, 0,
     "check a checkpoint's integrity, print what it holds, and exit"},
    {"metrics", 0, NN_ARG_STR, OFF(metrics), NULL, "FILE", 0, 0, NULL, 0, "per-epoch metrics as CSV"},
    {"step-log", 0, NN_ARG_STR, OFF(step_log), NULL, "FILE", 0, 0, NULL, 0,
     "training loss after every step as CSV"},
    {"threads", 0, NN_ARG_LONG, OFF(threads), "0", "N", 0, 4096, NULL, 0,
     "OpenBLAS threads per rank; 0 keeps OPENBLAS_NUM_THREADS or OpenBLAS's default"},
    {"quiet", 0, NN_ARG_FLAG, OFF(quiet), NULL, NULL, 0, 0, NULL, 0, "print errors only"},
    {"help", 0, NN_ARG_FLAG, OFF(help), NULL, NULL, 0, 0, NULL, 0, "show this help and exit"},
    {"version", 0, NN_ARG_FLAG, OFF(version), NULL, NULL, 0, 0, NULL, 0, "print the version and exit"},
};
#define N_OPTIONS (sizeof options / sizeof options[0])
_Static_assert(N_OPTIONS <= sizeof(((nn_config *)0)->given), "given[] too small");

static const nn_argspec spec = {options, N_OPTIONS, "nn-train", NULL};

int nn_config_parse(nn_config *cfg, int argc, char **argv, char *err, size_t errlen)
{
    memset(cfg, 0, sizeof *cfg);
    return nn_args_parse(&spec, cfg, cfg->given, argc, argv, 1, err, errlen);
}

int nn_config_given(const nn_config *cfg, const char *name)
{
    return nn_args_given(&spec, cfg->given, name);
}

const nn_arg *nn_config_arg(const char *name)
{
    return nn_args_find(&spec, name);
}

void nn_config_usage(FILE *out)
{
    fprintf(out,
            "usage: [mpirun -np N] nn-train [--data FILE --layers LIST] [flags]\n"
            "Data-parallel training of a multilayer perceptron over MPI.\n"
            "Without --data it trains the built-in example (y = 2x, 1-64-64-1, 100 epochs).\n\n");
    nn_args_usage(&spec, out);
}
