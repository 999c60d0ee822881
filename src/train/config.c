/* config.c: nn-train's option table, made from include/train/nn_options.def; src/base/args.c
 * parses it and prints --help from it. */
#include <stdio.h>
#include <string.h>

#include "nn_args.h"
#include "nn_config.h"

/* The option table, one entry per row of nn_options.def. */
#define NN_OPTION(field, flag, type, def, meta, lo, hi, choices, help) \
    {flag, 0, NN_ARG_##type, offsetof(nn_config, field), def, meta, lo, hi, choices, 0, help},
static const nn_arg options[] = {
#include "nn_options.def"
};
#undef NN_OPTION
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

const nn_argspec *nn_config_spec(void) { return &spec; }

void nn_config_usage(FILE *out)
{
    fprintf(out,
            "usage: [mpirun -np N] nn-train [--data FILE --layers LIST] [flags]\n"
            "Data-parallel training of a multilayer perceptron over MPI.\n"
            "Without --data it trains the built-in example (y = 2x, 1-64-64-1, 100 epochs).\n\n");
    nn_args_usage(&spec, out);
}
