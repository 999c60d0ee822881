/* nn_args.h: table-driven command lines. A table names every flag with its type, default,
 * range and help; one parser fills a struct from it and one printer makes --help from it, so
 * the two never drift. nn-train, nn-predict and each nn-data command have a table. */
#ifndef NN_ARGS_H
#define NN_ARGS_H

#include <stddef.h>
#include <stdio.h>

typedef enum { NN_ARG_STR, NN_ARG_LONG, NN_ARG_DOUBLE, NN_ARG_FLAG } nn_arg_type;

typedef struct {
    const char *name;    /* without the leading "--" */
    char short_name;     /* 'o' for -o, or 0 */
    nn_arg_type type;    /* the field is const char *, long, double or int */
    size_t offset;       /* of the field in the struct being filled */
    const char *def;     /* default as text, NULL for none */
    const char *metavar; /* "FILE", "N", ...; NULL for flags */
    double min, max;     /* numeric range, inclusive */
    const char *choices; /* "a|b|c" for strings with a fixed set of values */
    int required;        /* must be given, unless --help or --version is */
    const char *help;
} nn_arg;

typedef struct {
    const nn_arg *args;
    size_t n;
    const char *prog;          /* for messages: "nn-train", "nn-data import-csv" */
    const char **positional;   /* where one positional argument goes; NULL: none allowed */
} nn_argspec;

/* Sets every default, then reads argv[first..argc): "--name value", "--name=value", "-x
 * value" and flags. given[i] (n entries) is set for each flag given. A value that starts
 * with "--" is taken as a forgotten value. Returns 0, or -1 with one line in err naming the
 * flag, the value and what was expected. */
int nn_args_parse(const nn_argspec *s, void *base, unsigned char *given, int argc, char **argv,
                  int first, char *err, size_t errlen);
/* 1 if --name was given. */
int nn_args_given(const nn_argspec *s, const unsigned char *given, const char *name);
/* The table's entry for --name (its field's offset and type), or NULL. */
const nn_arg *nn_args_find(const nn_argspec *s, const char *name);
/* The index of s in names[0..n), or -1: a name table's lookup (activations, optimizers,
 * schedules). */
int nn_name_index(const char *const *names, int n, const char *s);
/* One line per flag: "  --name META   help (choices) [default]". */
void nn_args_usage(const nn_argspec *s, FILE *out);

/* Writes s to out as printable text on one line: control characters (a newline in a file
 * name), bytes that are not UTF-8 (a Latin-1 CSV field) and U+FEFF, the byte-order mark,
 * become \xNN; valid UTF-8 passes unchanged. */
void nn_put_escaped(const char *s, FILE *out);
/* The one error line of every program: "PROG: error: MSG" on stderr, with " [rank N]" after
 * "error" when rank > 0, MSG escaped by nn_put_escaped, then flushed. */
void nn_print_error(const char *prog, int rank, const char *msg);

#endif
