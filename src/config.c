/* config.c: the option table, the parser, and --help generated from the table. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn_config.h"

typedef enum { T_STR, T_LONG, T_DOUBLE, T_FLAG } opt_type;

typedef struct {
    const char *name;    /* without the leading "--" */
    opt_type type;
    size_t offset;       /* into nn_config */
    const char *def;     /* default, as text (NULL: none) */
    const char *metavar;
    double min, max;     /* numeric range, inclusive */
    const char *choices; /* "a|b|c" for strings with a fixed set of values */
    const char *help;
} opt;

#define OFF(f) offsetof(nn_config, f)
static const opt options[] = {
    {"data", T_STR, OFF(data), NULL, "FILE", 0, 0, NULL,
     "HDF5 data set (docs/data-format.md); without it, the built-in y = 2x example"},
    {"layers", T_STR, OFF(layers), "1,64,64,1", "LIST", 0, 0, NULL,
     "layer sizes, input to output, e.g. 784,256,128,10 (required with --data)"},
    {"activation", T_STR, OFF(activation), "relu", "NAME", 0, 0, "relu|tanh|sigmoid|linear",
     "hidden-layer activation"},
    {"loss", T_STR, OFF(loss), "auto", "NAME", 0, 0, "auto|mse|xent",
     "auto: softmax cross-entropy for integer labels, mean squared error for float targets"},
    {"optimizer", T_STR, OFF(optimizer), "adam", "NAME", 0, 0, "sgd|gd|adam|adamw",
     "gd is full-batch gradient descent (implies --batch 0)"},
    {"lr", T_DOUBLE, OFF(lr), "0.001", "FLOAT", 1e-12, 1e6, NULL, "learning rate"},
    {"momentum", T_DOUBLE, OFF(momentum), "0", "FLOAT", 0, 0.999999, NULL, "sgd momentum"},
    {"beta1", T_DOUBLE, OFF(beta1), "0.9", "FLOAT", 0, 0.999999, NULL, "adam first-moment decay"},
    {"beta2", T_DOUBLE, OFF(beta2), "0.999", "FLOAT", 0, 0.999999999, NULL,
     "adam second-moment decay"},
    {"eps", T_DOUBLE, OFF(eps), "1e-8", "FLOAT", 0, 1, NULL, "adam epsilon"},
    {"weight-decay", T_DOUBLE, OFF(weight_decay), "0.01", "FLOAT", 0, 1e3, NULL,
     "adamw decoupled weight decay (kernels only)"},
    {"l1", T_DOUBLE, OFF(l1), "0", "FLOAT", 0, 1e6, NULL, "L1 penalty l1*sum|w| on kernels"},
    {"l2", T_DOUBLE, OFF(l2), "0", "FLOAT", 0, 1e6, NULL, "L2 penalty l2/2*sum w^2 on kernels"},
    {"normalize", T_STR, OFF(normalize), "zscore", "NAME", 0, 0, "zscore|minmax|none",
     "input scaling from the training set's statistics (stored in checkpoints)"},
    {"dropout", T_DOUBLE, OFF(dropout), "0", "P", 0, 0.95, NULL,
     "dropout rate on hidden activations during training"},
    {"lr-schedule", T_STR, OFF(lr_schedule), "constant", "NAME", 0, 0, "constant|step|cosine",
     "learning-rate schedule"},
    {"warmup-epochs", T_DOUBLE, OFF(warmup_epochs), "0", "E", 0, 1e6, NULL,
     "linear learning-rate warm-up over the first E epochs"},
    {"lr-step-epochs", T_LONG, OFF(lr_step_epochs), "10", "N", 1, 1e9, NULL,
     "step schedule: multiply the learning rate by --lr-gamma every N epochs"},
    {"lr-gamma", T_DOUBLE, OFF(lr_gamma), "0.1", "F", 0, 1, NULL, "step schedule: the factor"},
    {"lr-min", T_DOUBLE, OFF(lr_min), "0", "FLOAT", 0, 1e6, NULL,
     "cosine schedule: the learning rate it ends at"},
    {"patience", T_LONG, OFF(patience), "0", "N", 0, 1e9, NULL,
     "stop after N epochs without a better validation loss (0: off); best.h5 keeps the best"},
    {"batch", T_LONG, OFF(batch), "128", "N", 0, 1e12, NULL,
     "global batch over all ranks; 0 = the whole training set (built-in example: 32)"},
    {"epochs", T_LONG, OFF(epochs), "10", "N", 1, 1e9, NULL,
     "passes over the training set (built-in example: 100)"},
    {"seed", T_LONG, OFF(seed), "42", "N", 0, 9.2e18, NULL,
     "seed for initialisation, validation split and shuffling"},
    {"val-fraction", T_DOUBLE, OFF(val_fraction), "0.1", "F", 0, 0.9, NULL,
     "share of /train held out for validation when the file has no /val"},
    {"no-shuffle", T_FLAG, OFF(no_shuffle), NULL, NULL, 0, 0, NULL,
     "keep file order (runs at any rank count then follow one trajectory)"},
    {"checkpoint-dir", T_STR, OFF(checkpoint_dir), NULL, "DIR", 0, 0, NULL,
     "write HDF5 checkpoints here (created if missing)"},
    {"checkpoint-every", T_LONG, OFF(checkpoint_every), "1", "N", 1, 1e9, NULL,
     "checkpoint every N epochs, and always at the end"},
    {"checkpoint-every-steps", T_LONG, OFF(checkpoint_every_steps), "0", "N", 0, 1e12, NULL,
     "also checkpoint every N optimizer steps (0: off)"},
    {"checkpoint-interval", T_DOUBLE, OFF(checkpoint_interval), "0", "SECONDS", 0, 1e9, NULL,
     "also checkpoint when this much time has passed since the last one (0: off)"},
    {"keep", T_LONG, OFF(keep), "3", "N", 1, 1e6, NULL,
     "keep the newest N checkpoints in --checkpoint-dir"},
    {"resume", T_STR, OFF(resume), NULL, "FILE|auto", 0, 0, NULL,
     "resume from a checkpoint; auto: the newest good one in --checkpoint-dir, or start fresh"},
    {"comm-timeout", T_DOUBLE, OFF(comm_timeout), "0", "SECONDS", 0, 1e9, NULL,
     "abort when a collective has not completed after this long (0: wait forever)"},
    {"verify", T_STR, OFF(verify), NULL, "FILE", 0, 0, NULL,
     "check a checkpoint's integrity, print what it holds, and exit"},
    {"metrics", T_STR, OFF(metrics), NULL, "FILE", 0, 0, NULL, "per-epoch metrics as CSV"},
    {"step-log", T_STR, OFF(step_log), NULL, "FILE", 0, 0, NULL,
     "training loss after every step as CSV"},
    {"threads", T_LONG, OFF(threads), "0", "N", 0, 4096, NULL,
     "OpenBLAS threads per rank; 0 keeps OPENBLAS_NUM_THREADS or OpenBLAS's default"},
    {"quiet", T_FLAG, OFF(quiet), NULL, NULL, 0, 0, NULL, "print errors only"},
    {"help", T_FLAG, OFF(help), NULL, NULL, 0, 0, NULL, "show this help and exit"},
    {"version", T_FLAG, OFF(version), NULL, NULL, 0, 0, NULL, "print the version and exit"},
};
#define N_OPTIONS (sizeof options / sizeof options[0])
_Static_assert(N_OPTIONS <= sizeof(((nn_config *)0)->given), "given[] too small");

static int in_choices(const char *v, const char *choices)
{
    size_t n = strlen(v);
    for (const char *p = choices; *p;) {
        const char *bar = strchr(p, '|');
        size_t len = bar ? (size_t)(bar - p) : strlen(p);
        if (len == n && strncmp(p, v, n) == 0)
            return 1;
        p += len + (bar != NULL);
    }
    return 0;
}

static int set_value(nn_config *cfg, const opt *o, const char *v, char *err, size_t errlen)
{
    char *dst = (char *)cfg + o->offset;
    char *end;
    errno = 0;
    switch (o->type) {
    case T_STR:
        if (o->choices && !in_choices(v, o->choices)) {
            snprintf(err, errlen, "--%s '%s': expected one of %s", o->name, v, o->choices);
            return -1;
        }
        if (*v == '\0') {
            snprintf(err, errlen, "--%s: expected a non-empty %s", o->name, o->metavar);
            return -1;
        }
        *(const char **)dst = v;
        return 0;
    case T_LONG: {
        long long x = strtoll(v, &end, 10);
        if (end == v || *end || errno || x < o->min || (double)x > o->max) {
            snprintf(err, errlen, "--%s '%s': expected an integer in [%.0f, %.0f]", o->name, v,
                     o->min, o->max);
            return -1;
        }
        *(long *)dst = (long)x;
        return 0;
    }
    case T_DOUBLE: {
        double x = strtod(v, &end);
        if (end == v || *end || errno || !isfinite(x) || x < o->min || x > o->max) {
            snprintf(err, errlen, "--%s '%s': expected a number in [%g, %g]", o->name, v, o->min,
                     o->max);
            return -1;
        }
        *(double *)dst = x;
        return 0;
    }
    case T_FLAG:
        *(int *)dst = 1;
        return 0;
    }
    return -1;
}

int nn_config_parse(nn_config *cfg, int argc, char **argv, char *err, size_t errlen)
{
    memset(cfg, 0, sizeof *cfg);
    for (size_t i = 0; i < N_OPTIONS; i++)
        if (options[i].def && set_value(cfg, &options[i], options[i].def, err, errlen) != 0)
            return -1; /* a bad default is a programming error; the tests catch it */
    for (int a = 1; a < argc; a++) {
        const char *arg = argv[a];
        if (strncmp(arg, "--", 2) != 0) {
            snprintf(err, errlen, "unexpected argument '%s' (flags start with --; see --help)",
                     arg);
            return -1;
        }
        const char *name = arg + 2, *eq = strchr(name, '=');
        size_t len = eq ? (size_t)(eq - name) : strlen(name);
        const opt *o = NULL;
        for (size_t i = 0; i < N_OPTIONS; i++)
            if (strlen(options[i].name) == len && strncmp(options[i].name, name, len) == 0)
                o = &options[i];
        if (!o) {
            snprintf(err, errlen, "unknown flag '%.*s' (see nn-train --help)", (int)len + 2, arg);
            return -1;
        }
        const char *val = NULL;
        if (o->type == T_FLAG) {
            if (eq) {
                snprintf(err, errlen, "--%s takes no value", o->name);
                return -1;
            }
        } else if (eq) {
            val = eq + 1;
        } else if (a + 1 < argc && strncmp(argv[a + 1], "--", 2) != 0) {
            val = argv[++a]; /* a following "--flag" means this one's value was forgotten */
        } else {
            snprintf(err, errlen, "--%s: missing value (expected %s)", o->name, o->metavar);
            return -1;
        }
        if (set_value(cfg, o, val, err, errlen) != 0)
            return -1;
        cfg->given[o - options] = 1;
    }
    return 0;
}

int nn_config_given(const nn_config *cfg, const char *name)
{
    for (size_t i = 0; i < N_OPTIONS; i++)
        if (strcmp(options[i].name, name) == 0)
            return cfg->given[i];
    return 0;
}

void nn_config_usage(FILE *out)
{
    fprintf(out,
            "usage: [mpirun -np N] nn-train [--data FILE --layers LIST] [flags]\n"
            "Data-parallel training of a multilayer perceptron over MPI.\n"
            "Without --data it trains the built-in example (y = 2x, 1-64-64-1, 100 epochs).\n\n");
    for (size_t i = 0; i < N_OPTIONS; i++) {
        const opt *o = &options[i];
        char left[64];
        snprintf(left, sizeof left, "--%s%s%s", o->name, o->metavar ? " " : "",
                 o->metavar ? o->metavar : "");
        fprintf(out, "  %-24s %s", left, o->help);
        if (o->choices)
            fprintf(out, " (%s)", o->choices);
        if (o->def)
            fprintf(out, " [%s]", o->def);
        else if (o->type == T_FLAG)
            fprintf(out, " [off]");
        else
            fprintf(out, " [none]");
        fputc('\n', out);
    }
}
