/* main.c: the nn-data command, which turns MNIST-style IDX files and CSV files into the HDF5
 * layout nn-train reads (docs/data-format.md) and summarises such files. Usage and every rule
 * are in docs/nn-data.md. This file holds the command table, one option table per subcommand
 * (driving both the parser and --help), the usage text and the dispatch; the subcommands are
 * in import_idx.c, import_csv.c (with csv_rows.c, csv_classes.c, csv_job.c and labels.c) and
 * info.c, the error line and the output file's lifecycle in output.c. Serial: no MPI.
 *
 * Memory does not scale with the rows: IDX files are read a chunk of rows at a time, and CSV
 * files record by record, in two to four passes (pass 1 checks every row and learns the
 * header, the task, the classes and the columns' kinds; a statistics pass over the training
 * rows learns the imputed values and the categories; the last pass encodes and writes),
 * through the chunk-buffered writer of nn_h5write.h. The exceptions are the statistics that
 * need them: --impute median and most-frequent keep each numeric column's training values,
 * and a categorical column keeps its distinct values.
 *
 * Exit status: 0 success, 1 a data or I/O error, 2 a usage error. Every error is one line,
 * "nn-data: error: ...", and the output file is never left half-written. */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "nn_args.h"
#include "nn_fileio.h"
#include "nn_kernels.h"
#include "nn_libvers.h"
#include "nn_data_cmd.h"

/* ---------------------------------------------------------------------------------------- */
/* Options: one table per subcommand (name, short name, type, default, help).                */

typedef nn_arg opt;

#define OFF(f) offsetof(dopts, f)
#define OUTPUT_OPT                                                                             \
    {"output", 'o', NN_ARG_STR, OFF(output), NULL, "FILE.h5", 0, 0, NULL, 1,                      \
     "HDF5 file to write; written as FILE.tmp and renamed when complete"}
#define HELP_OPT {"help", 'h', NN_ARG_FLAG, OFF(help), NULL, NULL, 0, 0, NULL, 0, "show this help"}

static const opt idx_opts[] = {
    {"images", 0, NN_ARG_STR, OFF(images), NULL, "FILE", 0, 0, NULL, 1,
     "training images: IDX unsigned bytes [N, rows, cols] (magic 0x00000803), gzipped or not"},
    {"labels", 0, NN_ARG_STR, OFF(labels), NULL, "FILE", 0, 0, NULL, 1,
     "training labels: IDX unsigned bytes [N] (magic 0x00000801), gzipped or not"},
    {"test-images", 0, NN_ARG_STR, OFF(test_images), NULL, "FILE", 0, 0, NULL, 0,
     "test images, written to /test (needs --test-labels)"},
    {"test-labels", 0, NN_ARG_STR, OFF(test_labels), NULL, "FILE", 0, 0, NULL, 0,
     "test labels (needs --test-images)"},
    OUTPUT_OPT,
    HELP_OPT,
};

static const opt csv_opts[] = {
    OUTPUT_OPT,
    {"label", 0, NN_ARG_STR, OFF(label), NULL, "COLUMN", 0, 0, NULL, 1,
     "label column: a header name, or a 0-based index (negative counts from the end)"},
    {"task", 0, NN_ARG_STR, OFF(task), "auto", "NAME", 0, 0, "auto|classify|regress", 0,
     "auto: classify if a label is not a number or every label is an integer, else regress"},
    {"test-fraction", 0, NN_ARG_DOUBLE, OFF(test_fraction), "0", "F", 0, 0.99, NULL, 0,
     "share of the kept rows written to /test: floor(F*rows), a seeded uniform random subset"},
    {"seed", 0, NN_ARG_LONG, OFF(seed), "42", "N", 0, 9.2e18, NULL, 0, "seed of the /test subset"},
    {"bad-rows", 0, NN_ARG_STR, OFF(bad_rows), "drop", "WHAT", 0, 0, "drop|fail", 0,
     "rows with a missing number (under --impute drop) or a non-finite one: drop and count "
     "them, or stop"},
    {"categorical", 0, NN_ARG_STR, OFF(categorical), NULL, "COLS", 0, 0, NULL, 0,
     "columns one-hot encoded as categories (header names or 0-based indices, comma-"
     "separated); a column whose values are mostly not numbers is categorical anyway"},
    {"numeric", 0, NN_ARG_STR, OFF(numeric), NULL, "COLS", 0, 0, NULL, 0,
     "columns that must hold numbers (text in them is an error)"},
    {"drop-columns", 0, NN_ARG_STR, OFF(drop_columns), NULL, "COLS", 0, 0, NULL, 0,
     "columns left out (ids, free text)"},
    {"max-categories", 0, NN_ARG_LONG, OFF(max_categories), "0", "N", 0, 65536, NULL, 0,
     "at most N categories per column, the most frequent in the training rows; the rest "
     "share one 'other' output, which also takes values never seen (0: no limit)"},
    {"na-values", 0, NN_ARG_STR, OFF(na_values), "NA,N/A,null,?,nan", "LIST", 0, 0, NULL, 0,
     "comma-separated markers of a missing value besides the empty field (ASCII case "
     "ignored); ',' for none"},
    {"impute", 0, NN_ARG_STR, OFF(impute), "drop", "HOW", 0, 0,
     "drop|mean|median|most-frequent", 0,
     "a missing number: drop the row, or fill in the training rows' mean, median or most "
     "frequent value (a missing category is a 'missing' category)"},
    {"missing-indicators", 0, NN_ARG_FLAG, OFF(missing_indicators), NULL, NULL, 0, 0, NULL, 0,
     "one more feature per numeric column with missing training values: 1 where missing"},
    {"header", 0, NN_ARG_STR, OFF(header), "auto", "WHEN", 0, 0, "auto|yes|no", 0,
     "auto: the first row is a header if a field other than the label is not a number"},
    {"delimiter", 0, NN_ARG_STR, OFF(delimiter), ",", "CHAR", 0, 0, NULL, 0,
     "field separator: one character, or 'tab'"},
    HELP_OPT,
};

static const opt info_opts[] = {
    {"features", 0, NN_ARG_LONG, OFF(features), "8", "N", 0, 1e9, NULL, 0,
     "features listed one per line (the first N); a summary line covers all of them"},
    {"classes", 0, NN_ARG_LONG, OFF(classes), "20", "N", 0, 1e9, NULL, 0,
     "classes listed with their counts (the first N); a summary line covers all of them"},
    HELP_OPT,
};

typedef struct {
    const char *name;
    const char *usage;
    const char *summary;
    const opt *opts;
    size_t nopts;
    const char *positional; /* the kind of its one FILE argument ("FILE.csv"), or NULL */
    int (*run)(const dopts *o, int argc, char **argv);
} command;

static const command commands[] = {
    {"import-idx",
     "nn-data import-idx --images FILE --labels FILE [--test-images FILE --test-labels FILE] "
     "-o OUT.h5",
     "MNIST-style IDX images and labels to an nn-train data file; pixels become x/255 in [0, 1]",
     idx_opts, N_OF(idx_opts), NULL, cmd_import_idx},
    {"import-csv", "nn-data import-csv FILE --label COLUMN -o OUT.h5 [flags]",
     "a CSV file (RFC 4180) to an nn-train data file: numeric and categorical (one-hot) "
     "columns, missing values imputed or their rows dropped",
     csv_opts, N_OF(csv_opts), "FILE.csv", cmd_import_csv},
    {"info", "nn-data info FILE [flags]",
     "shapes, types, label counts, non-finite values and feature ranges of a data file",
     info_opts, N_OF(info_opts), "FILE.h5", cmd_info},
};

/* What comes before a command (for the manual page and the completion; parsed by main). */
static const opt top_opts[] = {
    {"help", 'h', NN_ARG_FLAG, OFF(help), NULL, NULL, 0, 0, NULL, 0,
     "show every command's flags and exit"},
    {"version", 0, NN_ARG_FLAG, OFF(help), NULL, NULL, 0, 0, NULL, 0,
     "print the version, the git commit and the libraries, and exit"},
};

static void print_opts(FILE *out, const command *c)
{
    char prog[64];
    snprintf(prog, sizeof prog, "nn-data %s", c->name);
    nn_argspec spec = {c->opts, c->nopts, prog, NULL};
    nn_args_usage(&spec, out);
}

static void usage_all(FILE *out)
{
    fprintf(out, "usage: nn-data COMMAND [flags]   (nn-data COMMAND --help for one command)\n"
                 "Makes and inspects nn-train data files (docs/data-format.md, docs/nn-data.md).\n"
                 "      --help                 show this help\n"
                 "      --version              print the version and exit\n");
    for (size_t i = 0; i < N_OF(commands); i++) {
        fprintf(out, "\n%s: %s\nusage: %s\n", commands[i].name, commands[i].summary,
                commands[i].usage);
        print_opts(out, &commands[i]);
    }
}

/* Fills d from argv[2..] for command c. 0, or -1 after printing one error line. */
static int parse(const command *c, int argc, char **argv, dopts *d)
{
    memset(d, 0, sizeof *d);
    char prog[64], err[512];
    unsigned char given[32];
    snprintf(prog, sizeof prog, "nn-data %s", c->name);
    nn_argspec spec = {c->opts, c->nopts, prog, c->positional ? &d->input : NULL};
    if (c->nopts > sizeof given ||
        nn_args_parse(&spec, d, given, argc, argv, 2, err, sizeof err) != 0) {
        data_error("%s", err);
        return -1;
    }
    if (!d->help && c->positional && !d->input) {
        data_error("%s needs a FILE argument (usage: %s)", c->name, c->usage);
        return -1;
    }
    return 0;
}


/* --help-man or --help-bash, alone after nn-data or after a command: the page or the
 * completion script, from the tables above. Returns 0 after printing, else -1. */
static int manual(int argc, char **argv)
{
    nn_argspec top = {top_opts, N_OF(top_opts), "nn-data", NULL}, specs[N_OF(commands)];
    nn_command_spec cmds[N_OF(commands)];
    for (size_t i = 0; i < N_OF(commands); i++) {
        specs[i] = (nn_argspec){commands[i].opts, commands[i].nopts, commands[i].name, NULL};
        cmds[i] = (nn_command_spec){commands[i].name, &specs[i], commands[i].positional};
    }
    nn_manual_form f = nn_manual_asked(argc, argv, 1);
    if (f == NN_MANUAL_BASH) {
        nn_manual_bash("nn-data", &top, cmds, (int)N_OF(commands), stdout);
        return 0;
    }
    if (f == NN_MANUAL_MAN) {
        nn_manual_roff(data_manual_page(NULL), &top, stdout);
        return 0;
    }
    for (size_t i = 0; argc > 2 && i < N_OF(commands); i++)
        if (strcmp(argv[1], commands[i].name) == 0 &&
            nn_manual_asked(argc, argv, 2) == NN_MANUAL_MAN) {
            nn_manual_roff(data_manual_page(commands[i].name), &specs[i], stdout);
            return 0;
        }
    return -1;
}

/* --version: the program, its commit, and each library as built and as run. */
static void print_version(void)
{
    nn_libver v[4] = {{"MPI", "", "not linked: nn-data runs as one process"}};
    nn_io_libvers(&v[1]);
    nn_blas_libver(&v[3]);
    nn_version_print(stdout, "nn-data", v, 4);
}

/* ---------------------------------------------------------------------------------------- */

int main(int argc, char **argv)
{
    if (manual(argc, argv) == 0) /* the build's --help-man and --help-bash */
        return 0;
    nn_input_guard_program("nn-data", 0); /* a crash inside HDF5 names the file it was reading */
    if (argc < 2) {
        data_error("expected a command: import-idx, import-csv or info (see nn-data --help)");
        return EXIT_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        usage_all(stdout);
        return 0;
    }
    if (strcmp(argv[1], "--version") == 0) {
        print_version();
        return 0;
    }
    const command *c = NULL;
    for (size_t i = 0; i < N_OF(commands); i++)
        if (strcmp(argv[1], commands[i].name) == 0)
            c = &commands[i];
    if (!c) {
        data_error("unknown command '%s'; expected import-idx, import-csv or info (see nn-data "
              "--help)", argv[1]);
        return EXIT_USAGE;
    }
    dopts o;
    if (parse(c, argc, argv, &o) != 0)
        return EXIT_USAGE;
    if (o.help) {
        printf("usage: %s\n%s.\n\n", c->usage, c->summary);
        print_opts(stdout, c);
        return 0;
    }
    install_signal_handlers();
    return c->run(&o, argc, argv);
}

