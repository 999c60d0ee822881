/* nn_data_cmd.h: what the files of the nn-data program share (private to src/nn-data). The
 * parsed options of every subcommand (one struct, filled from the option tables in main.c),
 * the exit statuses, the one error line and the output file's lifecycle (output.c), and the
 * three subcommands (import_idx.c, import_csv.c, info.c) that main.c dispatches to. */
#ifndef NN_DATA_CMD_H
#define NN_DATA_CMD_H

#include <stddef.h>

#include "nn_h5write.h"
#include "nn_manual.h"

enum { EXIT_DATA = 1, EXIT_USAGE = 2 };

#define N_OF(a) (sizeof a / sizeof a[0])

/* Every subcommand's options; each fills only its own. */
typedef struct {
    /* import-idx */
    const char *images, *labels, *test_images, *test_labels;
    /* import-csv */
    const char *label, *task, *bad_rows, *header, *delimiter;
    const char *categorical, *numeric, *drop_columns, *na_values, *impute;
    long max_categories;
    int missing_indicators;
    double test_fraction;
    long seed;
    /* info */
    long features, classes;
    /* common */
    const char *output;
    int help;
    const char *input; /* the positional FILE */
} dopts;

/* ---- manual.c: the prose of the manual pages ---- */

/* The page of a command ("import-csv"), or nn-data's own for NULL; NULL for an unknown one. */
const nn_manual *data_manual_page(const char *command);

/* ---- output.c: the one error line, and the output file, never left half-written ---- */

/* The one error line, "nn-data: error: ..."; what it echoes (file names, values, fields) is
 * escaped. */
void data_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Removes the temporary output on SIGINT, SIGTERM or SIGHUP, then dies of the signal. */
void install_signal_handlers(void);
/* Creates OUT.tmp (nn_h5w_create) with the signals held back until the handler knows it. */
nn_h5w *open_output(const char *out, char *err, size_t errlen);
/* Renames OUT.tmp to OUT (nn_h5w_commit). 0, or -1 with one line in err. */
int commit_output(nn_h5w *w, char *err, size_t errlen);
/* Removes OUT.tmp (nn_h5w_abort); accepts NULL. */
void abort_output(nn_h5w *w);
/* Whether -o OUT is usable: 1 after printing the (usage) error if it is one of the n inputs
 * (NULL ones skipped), or exists as a device, FIFO or socket; else 0. */
int check_output(const char *out, const char *const *inputs, size_t n);
/* created_by, created (UTC) and command on the root group. 0, or nonzero on failure. */
int write_provenance(nn_h5w *w, int argc, char **argv);

/* ---- the subcommands: an exit status each, after printing their output or one error ---- */

int cmd_import_idx(const dopts *o, int argc, char **argv);
int cmd_import_csv(const dopts *o, int argc, char **argv);
int cmd_info(const dopts *o, int argc, char **argv);

#endif
