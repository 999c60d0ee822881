/* predict_config.c: nn-predict's option table, its parser, and --help generated from the table
 * (the same scheme as src/config.c, over nn_predict_config). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "nn_predict.h"

typedef enum { T_STR, T_LONG, T_FLAG } opt_type;

typedef struct {
    const char *name;    /* without the leading "--" */
    opt_type type;
    size_t offset;       /* into nn_predict_config */
    const char *def;     /* default, as text (NULL: none) */
    const char *metavar;
    double min, max;     /* numeric range, inclusive */
    const char *choices; /* "a|b|c" for strings with a fixed set of values */
    const char *help;
    int required;        /* must be given (unless --help or --version) */
} opt;

#define OFF(f) offsetof(nn_predict_config, f)
static const opt options[] = {
    {"model", T_STR, OFF(model), NULL, "FILE", 0, 0, NULL,
     "checkpoint written by nn-train (docs/checkpoint.md)", 1},
    {"data", T_STR, OFF(data), NULL, "FILE", 0, 0, NULL,
     "HDF5 data set (docs/data-format.md); y may be absent from the split", 1},
    {"split", T_STR, OFF(split), "auto", "NAME", 0, 0, "auto|test|val|train",
     "split to predict; auto: test if the file has /test, else val, else train", 0},
    {"output", T_STR, OFF(output), NULL, "FILE", 0, 0, NULL,
     "write the predictions; .csv or .h5/.hdf5 (chosen by the extension)", 0},
    {"batch", T_LONG, OFF(batch), "256", "N", 1, 1e7, NULL, "rows per forward pass", 0},
    {"threads", T_LONG, OFF(threads), "0", "N", 0, 4096, NULL,
     "OpenBLAS threads per rank; 0 keeps OPENBLAS_NUM_THREADS or OpenBLAS's default", 0},
    {"quiet", T_FLAG, OFF(quiet), NULL, NULL, 0, 0, NULL, "print errors only", 0},
    {"help", T_FLAG, OFF(help), NULL, NULL, 0, 0, NULL, "show this help and exit", 0},
    {"version", T_FLAG, OFF(version), NULL, NULL, 0, 0, NULL, "print the version and exit", 0},
};
#define N_OPTIONS (sizeof options / sizeof options[0])
_Static_assert(N_OPTIONS <= sizeof(((nn_predict_config *)0)->given), "given[] too small");

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

static int set_value(nn_predict_config *cfg, const opt *o, const char *v, char *err,
                     size_t errlen)
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
    case T_FLAG:
        *(int *)dst = 1;
        return 0;
    }
    return -1;
}

/* The output format follows the file name's extension. */
static nn_out_kind out_kind(const char *path)
{
    const char *dot = strrchr(path, '.'), *slash = strrchr(path, '/');
    if (!dot || (slash && dot < slash))
        return NN_OUT_NONE;
    if (strcmp(dot, ".csv") == 0)
        return NN_OUT_CSV;
    if (strcmp(dot, ".h5") == 0 || strcmp(dot, ".hdf5") == 0)
        return NN_OUT_H5;
    return NN_OUT_NONE;
}

int nn_predict_config_parse(nn_predict_config *cfg, int argc, char **argv, char *err,
                            size_t errlen)
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
            snprintf(err, errlen, "unknown flag '%.*s' (see nn-predict --help)", (int)len + 2,
                     arg);
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
    if (cfg->help || cfg->version)
        return 0;
    for (size_t i = 0; i < N_OPTIONS; i++)
        if (options[i].required && !cfg->given[i]) {
            snprintf(err, errlen, "--%s %s is required: %s", options[i].name,
                     options[i].metavar, options[i].help);
            return -1;
        }
    if (cfg->output) {
        cfg->out_kind = out_kind(cfg->output);
        if (cfg->out_kind == NN_OUT_NONE) {
            snprintf(err, errlen, "--output %s: expected a file name ending in .csv, .h5 or "
                     ".hdf5 (the extension chooses the format)",
                     cfg->output);
            return -1;
        }
    }
    return 0;
}

int nn_predict_config_given(const nn_predict_config *cfg, const char *name)
{
    for (size_t i = 0; i < N_OPTIONS; i++)
        if (strcmp(options[i].name, name) == 0)
            return cfg->given[i];
    return 0;
}

void nn_predict_config_usage(FILE *out)
{
    fprintf(out,
            "usage: [mpirun -np N] nn-predict --model CHECKPOINT --data FILE [flags]\n"
            "Runs a trained model over one split of a data file: metrics when the split has\n"
            "labels or targets, and the predictions as CSV or HDF5 with --output.\n\n");
    for (size_t i = 0; i < N_OPTIONS; i++) {
        const opt *o = &options[i];
        char left[64];
        snprintf(left, sizeof left, "--%s%s%s", o->name, o->metavar ? " " : "",
                 o->metavar ? o->metavar : "");
        fprintf(out, "  %-24s %s", left, o->help);
        if (o->choices)
            fprintf(out, " (%s)", o->choices);
        if (o->required)
            fprintf(out, " [required]");
        else if (o->def)
            fprintf(out, " [%s]", o->def);
        else if (o->type == T_FLAG)
            fprintf(out, " [off]");
        else
            fprintf(out, " [none]");
        fputc('\n', out);
    }
}
