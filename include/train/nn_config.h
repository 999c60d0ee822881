/* nn_config.h: nn-train's command line. One table (nn_options.def) names every flag with its
 * field, type, default and help; the struct, the parser and --help all come from it, so a new
 * flag is one row there plus its use. */
#ifndef NN_CONFIG_H
#define NN_CONFIG_H

#include <stddef.h>
#include <stdio.h>

#include "nn_args.h"

/* One field per row of nn_options.def, of the row's type. */
#define NN_CTYPE_STR const char *
#define NN_CTYPE_LONG long
#define NN_CTYPE_DOUBLE double
#define NN_CTYPE_FLAG int
typedef struct {
#define NN_OPTION(field, flag, type, def, meta, lo, hi, choices, help) NN_CTYPE_##type field;
#include "nn_options.def"
#undef NN_OPTION
    /* which flags the user gave (index into the option table) */
    unsigned char given[96];
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
/* The option table, for the manual page and the shell completion (nn_manual.h). */
const nn_argspec *nn_config_spec(void);

#endif
