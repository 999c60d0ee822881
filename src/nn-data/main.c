/* nn_data_main.c: the nn-data command, which turns MNIST-style IDX files and CSV files into
 * the HDF5 layout nn-train reads (docs/data-format.md) and summarises such files. Usage and
 * every rule are in docs/nn-data.md. One option table per subcommand drives both the parser
 * and --help. Serial: no MPI.
 *
 * Memory never scales with the input: IDX files are read a chunk of rows at a time, and CSV
 * files are read twice, record by record (pass 1 checks every row and learns the header, the
 * task and the classes; pass 2 writes), through the chunk-buffered writer of nn_h5write.h.
 *
 * Exit status: 0 success, 1 a data or I/O error, 2 a usage error. Every error is one line,
 * "nn-data: error: ...", and the output file is never left half-written. */
#include <errno.h>
#include <float.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "nn_args.h"
#include "nn_clock.h"
#include "nn_csv.h"
#include "nn_h5data.h"
#include "nn_fileio.h"
#include "nn_hash.h"
#include "nn_h5info.h"
#include "nn_h5write.h"
#include "nn_idx.h"
#include "nn_rng.h"

enum { EXIT_DATA = 1, EXIT_USAGE = 2 };

/* The RNG stream of the /test split: a tag of its own, apart from nn-train's (nn_rng.h). */
#define STREAM_TEST_SPLIT 16
/* More distinct labels than this is not a classification task (or needs --task regress). */
#define MAX_CLASSES 65536

/* The one error line; what it echoes (file names, values, fields) is escaped. */
static void error(const char *fmt, ...)
{
    char msg[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    nn_print_error("nn-data", 0, msg);
}

/* ---------------------------------------------------------------------------------------- */
/* Options: one table per subcommand (name, short name, type, default, help).                */

typedef struct {
    /* import-idx */
    const char *images, *labels, *test_images, *test_labels;
    /* import-csv */
    const char *label, *task, *bad_rows, *header, *delimiter;
    double test_fraction;
    long seed;
    /* info */
    long features, classes;
    /* common */
    const char *output;
    int help;
    const char *input; /* the positional FILE */
} dopts;

typedef nn_arg opt;

#define OFF(f) offsetof(dopts, f)
#define OUTPUT_OPT                                                                             \
    {"output", 'o', NN_ARG_STR, OFF(output), NULL, "FILE", 0, 0, NULL, 1,                           \
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
     "rows with a missing (empty) or non-finite value: drop and count them, or stop"},
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
    int positional; /* takes one FILE argument */
    int (*run)(const dopts *o, int argc, char **argv);
} command;

static int cmd_import_idx(const dopts *o, int argc, char **argv);
static int cmd_import_csv(const dopts *o, int argc, char **argv);
static int cmd_info(const dopts *o, int argc, char **argv);

#define N_OF(a) (sizeof a / sizeof a[0])
static const command commands[] = {
    {"import-idx",
     "nn-data import-idx --images FILE --labels FILE [--test-images FILE --test-labels FILE] "
     "-o OUT.h5",
     "MNIST-style IDX images and labels to an nn-train data file; pixels become x/255 in [0, 1]",
     idx_opts, N_OF(idx_opts), 0, cmd_import_idx},
    {"import-csv", "nn-data import-csv FILE --label COLUMN -o OUT.h5 [flags]",
     "a CSV file (RFC 4180) to an nn-train data file, dropping rows with missing or "
     "non-finite values",
     csv_opts, N_OF(csv_opts), 1, cmd_import_csv},
    {"info", "nn-data info FILE [flags]",
     "shapes, types, label counts, non-finite values and feature ranges of a data file",
     info_opts, N_OF(info_opts), 1, cmd_info},
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
    if (c->nopts > sizeof given || nn_args_parse(&spec, d, given, argc, argv, 2, err, sizeof err) != 0) {
        error("%s", err);
        return -1;
    }
    if (!d->help && c->positional && !d->input) {
        error("%s needs a FILE argument (usage: %s)", c->name, c->usage);
        return -1;
    }
    return 0;
}

/* ---------------------------------------------------------------------------------------- */
/* Shared by the importers.                                                                  */

/* The temporary output, removed by the signal handler if the run is interrupted. */
static volatile sig_atomic_t g_have_tmp;
static char g_tmp[4096];

static void on_signal(int sig)
{
    if (g_have_tmp)
        unlink(g_tmp); /* async-signal-safe */
    signal(sig, SIG_DFL);
    raise(sig);
}

/* Creates the output's temporary file with the termination signals held back, so that the
 * handler knows its name from the moment it exists. */
static nn_h5w *open_output(const char *out, char *err, size_t errlen)
{
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGHUP);
    sigprocmask(SIG_BLOCK, &block, &old);
    nn_h5w *w = nn_h5w_create(out, err, errlen);
    if (w && strlen(nn_h5w_tmp_path(w)) < sizeof g_tmp) {
        memcpy(g_tmp, nn_h5w_tmp_path(w), strlen(nn_h5w_tmp_path(w)) + 1);
        g_have_tmp = 1;
    }
    sigprocmask(SIG_SETMASK, &old, NULL);
    return w;
}

/* Once renamed, the temporary name no longer exists; a signal before the flag is cleared
 * unlinks nothing. */
static int commit_output(nn_h5w *w, char *err, size_t errlen)
{
    int rc = nn_h5w_commit(w, err, errlen);
    g_have_tmp = 0;
    return rc;
}

static void abort_output(nn_h5w *w)
{
    nn_h5w_abort(w);
    g_have_tmp = 0;
}

/* An existing output that is a device, a FIFO or a socket (-o /dev/null): the rename would
 * replace the node itself. 1 after printing the error (a usage error). */
static int special_output(const char *out)
{
    struct stat st;
    if (stat(out, &st) != 0 || S_ISREG(st.st_mode) || S_ISDIR(st.st_mode))
        return 0;
    error("-o %s is a %s; expected the name of a regular file, which nn-data writes as "
          "%s.tmp and renames over it", out,
          S_ISCHR(st.st_mode) ? "character device" : S_ISBLK(st.st_mode) ? "block device"
          : S_ISFIFO(st.st_mode) ? "FIFO" : "socket or other special file", out);
    return 1;
}

/* Provenance on the root group: program, time, command line. */
static int write_provenance(nn_h5w *w, int argc, char **argv)
{
    char cmd[2048] = "", when[32] = "";
    for (int i = 0; i < argc; i++)
        snprintf(cmd + strlen(cmd), sizeof cmd - strlen(cmd), "%s%s", i ? " " : "", argv[i]);
    time_t now = time(NULL);
    struct tm tm;
    if (gmtime_r(&now, &tm))
        strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return nn_h5w_attr_str(w, "/", "created_by", "nn-data " NN_VERSION) |
           nn_h5w_attr_str(w, "/", "created", when) | nn_h5w_attr_str(w, "/", "command", cmd);
}

/* ---------------------------------------------------------------------------------------- */
/* import-idx                                                                                */

/* Streams one images/labels pair into a split, a chunk of rows at a time. */
static int idx_copy(nn_idx *im, nn_idx *lb, nn_h5w_split *s, size_t counts[256], char *err,
                    size_t errlen)
{
    size_t n = nn_idx_count(im), d = nn_idx_item_size(im), block = nn_h5w_chunk_rows(s);
    unsigned char *pix = malloc(block * d), *lab = malloc(block);
    float *x = malloc(d * sizeof(float));
    int rc = pix && lab && x ? 0 : -1;
    if (rc)
        snprintf(err, errlen, "out of memory for %zu rows of %zu pixels", block, d);
    for (size_t done = 0; rc == 0 && done < n; done += block) {
        size_t m = n - done < block ? n - done : block;
        rc = nn_idx_read(im, pix, m, err, errlen);
        if (rc == 0)
            rc = nn_idx_read(lb, lab, m, err, errlen);
        for (size_t i = 0; rc == 0 && i < m; i++) {
            for (size_t j = 0; j < d; j++)
                x[j] = (float)pix[i * d + j] / 255.0f;
            int32_t y = lab[i];
            counts[lab[i]]++;
            rc = nn_h5w_append(s, x, &y, err, errlen);
        }
    }
    if (rc == 0)
        rc = nn_idx_finish(im, err, errlen);
    if (rc == 0)
        rc = nn_idx_finish(lb, err, errlen);
    free(pix);
    free(lab);
    free(x);
    return rc;
}

static void shape_text(const nn_idx *f, char *buf, size_t len)
{
    buf[0] = '\0';
    for (int i = 1; i < nn_idx_ndim(f); i++)
        snprintf(buf + strlen(buf), len - strlen(buf), "%s%u", i > 1 ? "x" : "",
                 (unsigned)nn_idx_dim(f, i));
}

static void class_summary(const size_t counts[256], char *buf, size_t len)
{
    int lo = -1, hi = -1, k = 0;
    for (int i = 0; i < 256; i++)
        if (counts[i]) {
            if (lo < 0)
                lo = i;
            hi = i;
            k++;
        }
    if (k)
        snprintf(buf, len, "labels %d..%d (%d distinct)", lo, hi, k);
    else
        snprintf(buf, len, "no labels");
}

static int cmd_import_idx(const dopts *o, int argc, char **argv)
{
    if (!o->test_images != !o->test_labels) {
        error("--%s needs --%s as well", o->test_images ? "test-images" : "test-labels",
              o->test_images ? "test-labels" : "test-images");
        return EXIT_USAGE;
    }
    const char *inputs[4] = {o->images, o->labels, o->test_images, o->test_labels};
    for (int i = 0; i < 4; i++)
        if (inputs[i] && nn_same_file(inputs[i], o->output)) {
            error("-o %s is also an input; expected a different output file", o->output);
            return EXIT_USAGE;
        }
    if (special_output(o->output))
        return EXIT_USAGE;
    char err[1024] = "";
    double t0 = nn_now();
    nn_idx *f[4] = {NULL, NULL, NULL, NULL};
    nn_h5w *w = NULL;
    int rc = EXIT_DATA;
    int nf = o->test_images ? 4 : 2;
    for (int i = 0; i < nf; i++)
        if (!(f[i] = nn_idx_open(inputs[i], i % 2 ? 1 : 0, err, sizeof err)))
            goto done;
    for (int i = 0; i < nf; i += 2)
        if (nn_idx_count(f[i]) != nn_idx_count(f[i + 1])) {
            snprintf(err, sizeof err, "%s has %zu labels but %s has %zu images; expected one "
                     "label per image", inputs[i + 1], nn_idx_count(f[i + 1]), inputs[i],
                     nn_idx_count(f[i]));
            goto done;
        }
    if (nn_idx_count(f[0]) == 0) {
        snprintf(err, sizeof err, "%s: 0 images; expected at least one", inputs[0]);
        goto done;
    }
    char shape[64], tshape[64];
    shape_text(f[0], shape, sizeof shape);
    if (nf == 4) {
        shape_text(f[2], tshape, sizeof tshape);
        if (strcmp(shape, tshape) != 0) {
            snprintf(err, sizeof err, "%s: images of %s; expected %s as in %s", inputs[2],
                     tshape, shape, inputs[0]);
            goto done;
        }
    }
    size_t d = nn_idx_item_size(f[0]);
    if (!(w = open_output(o->output, err, sizeof err)))
        goto done;
    nn_h5w_split *train = nn_h5w_add_split(w, "train", d, 0, err, sizeof err), *test = NULL;
    if (!train || (nf == 4 && !(test = nn_h5w_add_split(w, "test", d, 0, err, sizeof err))))
        goto done;
    size_t counts[2][256];
    memset(counts, 0, sizeof counts);
    if (idx_copy(f[0], f[1], train, counts[0], err, sizeof err) != 0 ||
        (test && idx_copy(f[2], f[3], test, counts[1], err, sizeof err) != 0))
        goto done;
    if (write_provenance(w, argc, argv) |
        nn_h5w_attr_str(w, "/meta", "source_format", "idx") |
        nn_h5w_attr_str(w, "/meta", "train_images", inputs[0]) |
        nn_h5w_attr_str(w, "/meta", "train_labels", inputs[1]) |
        (test ? nn_h5w_attr_str(w, "/meta", "test_images", inputs[2]) |
                    nn_h5w_attr_str(w, "/meta", "test_labels", inputs[3])
              : 0) |
        nn_h5w_attr_str(w, "/meta", "image_shape", shape) |
        nn_h5w_attr_str(w, "/meta", "x_scaling", "pixel / 255 (float32 in [0, 1])") |
        nn_h5w_attr_str(w, "/meta", "task", "classify")) {
        snprintf(err, sizeof err, "%s: writing the attributes failed", nn_h5w_tmp_path(w));
        goto done;
    }
    size_t ntrain = nn_h5w_rows(train), ntest = test ? nn_h5w_rows(test) : 0;
    int gz[4];
    for (int i = 0; i < nf; i++)
        gz[i] = nn_idx_is_gzip(f[i]);
    nn_h5w *pending = w;
    w = NULL;
    if (commit_output(pending, err, sizeof err) != 0)
        goto done;
    char cs[64];
    class_summary(counts[0], cs, sizeof cs);
    printf("%s%s: %zu images of %s pixels, scaled to x/255 in [0, 1]; %s%s: %s\n", inputs[0],
           gz[0] ? " (gzip)" : "", ntrain, shape, inputs[1], gz[1] ? " (gzip)" : "", cs);
    if (nf == 4) {
        class_summary(counts[1], cs, sizeof cs);
        printf("%s%s: %zu test images; %s%s: %s\n", inputs[2], gz[2] ? " (gzip)" : "", ntest,
               inputs[3], gz[3] ? " (gzip)" : "", cs);
    }
    printf("wrote %s: /train %zu rows", o->output, ntrain);
    if (nf == 4)
        printf(", /test %zu rows", ntest);
    printf(", %zu features, int32 labels, in %.2f s\n", d, nn_now() - t0);
    rc = 0;
done:
    if (rc != 0)
        error("%s", err);
    abort_output(w);
    for (int i = 0; i < 4; i++)
        nn_idx_close(f[i]);
    return rc;
}

/* ---------------------------------------------------------------------------------------- */
/* import-csv                                                                                */

/* A set of label strings (open addressing, FNV-1a), at most MAX_CLASSES of them. */
typedef struct {
    char **keys;
    int32_t *ids;
    size_t cap, n;
    int overflow; /* more distinct labels than MAX_CLASSES were seen */
} strset;

static void strset_free(strset *t)
{
    for (size_t i = 0; i < t->cap; i++)
        free(t->keys[i]);
    free(t->keys);
    free(t->ids);
    memset(t, 0, sizeof *t);
}

static size_t strset_slot(const strset *t, const char *s)
{
    size_t i = (size_t)nn_fnv1a_str(s) & (t->cap - 1);
    while (t->keys[i] && strcmp(t->keys[i], s) != 0)
        i = (i + 1) & (t->cap - 1);
    return i;
}

/* Adds s if new; 0, or -1 when out of memory. */
static int strset_add(strset *t, const char *s)
{
    if (t->cap && t->keys[strset_slot(t, s)])
        return 0;
    if (t->n >= MAX_CLASSES) {
        t->overflow = 1;
        return 0;
    }
    if (2 * (t->n + 1) > t->cap) {
        strset big = {0};
        big.cap = t->cap ? 2 * t->cap : 64;
        big.keys = calloc(big.cap, sizeof *big.keys);
        big.ids = calloc(big.cap, sizeof *big.ids);
        if (!big.keys || !big.ids) {
            free(big.keys);
            free(big.ids);
            return -1;
        }
        for (size_t i = 0; i < t->cap; i++)
            if (t->keys[i])
                big.keys[strset_slot(&big, t->keys[i])] = t->keys[i];
        big.n = t->n;
        free(t->keys);
        free(t->ids);
        *t = big;
    }
    size_t i = strset_slot(t, s);
    if (!(t->keys[i] = strdup(s)))
        return -1;
    t->n++;
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

typedef enum { ROW_OK, ROW_MISSING, ROW_NONFINITE, ROW_ERROR } row_status;

typedef struct {
    const char *path;
    FILE *f;
    nn_csv *csv;
    size_t width, label, d;
    int header;
    char **names;        /* header fields (width), or NULL */
    int task;            /* 0 auto, 1 classify, 2 regress */
    int drop;            /* --bad-rows drop */
    /* pass 1 */
    size_t rows, kept, missing, nonfinite;
    long miss_line, nonf_line;
    size_t miss_col, nonf_col;
    int label_text;      /* some kept label is not a number */
    int label_frac;      /* some kept label is a non-integer number */
    strset seen;
    /* classes, once the task is known */
    int numeric_classes; /* classes are numbers (cval), else strings (seen.ids) */
    double *cval;
    char **cnames;       /* class names, sorted, K of them */
    size_t k;
} csv_job;

static void job_free(csv_job *j)
{
    if (j->names)
        for (size_t i = 0; i < j->width; i++)
            free(j->names[i]);
    free(j->names);
    nn_h5_strings_free(j->cnames, j->k);
    free(j->cval);
    strset_free(&j->seen);
    nn_csv_close(j->csv);
    if (j->f)
        fclose(j->f);
}

/* "column 3 ('age')" or "column 3". */
static const char *col_name(const csv_job *j, size_t c, char *buf, size_t len)
{
    if (j->names)
        snprintf(buf, len, "column %zu ('%.60s')", c, j->names[c]);
    else
        snprintf(buf, len, "column %zu", c);
    return buf;
}

/* A field's text for a message: at most 40 bytes, control characters escaped. */
static const char *quote_value(const char *s, char *buf, size_t len)
{
    size_t o = 0;
    for (size_t i = 0; s[i] && o + 8 < len; i++) {
        if (i == 40) {
            o += (size_t)snprintf(buf + o, len - o, "...");
            break;
        }
        unsigned char ch = (unsigned char)s[i];
        if (ch < 0x20 || ch == 0x7f)
            o += (size_t)snprintf(buf + o, len - o, "\\x%02x", ch);
        else
            buf[o++] = (char)ch;
    }
    buf[o] = '\0';
    return buf;
}

/* Checks one record and converts its features into x[d]. *col: the offending column. The
 * label is checked here too (empty or non-finite: the row is dropped; not a number under
 * --task regress: an error) and returned in *lk / *lv. */
static row_status check_row(const csv_job *j, const char *const *fld, float *x,
                            nn_num_kind *lk, double *lv, size_t *col, char *err, size_t errlen)
{
    row_status st = ROW_OK;
    char cn[96], qv[200];
    for (size_t c = 0, o = 0; c < j->width; c++) {
        double v = 0;
        nn_num_kind k = nn_csv_number(fld[c], &v);
        if (c == j->label) {
            *lk = k;
            *lv = v;
            if (k == NN_NUM_OK && fabs(v) > FLT_MAX && j->task == 2)
                k = NN_NUM_NONFINITE;
            if (k == NN_NUM_BAD && j->task == 2) {
                snprintf(err, errlen,
                         "%s:%ld: %s, the label: '%s' is not a number; expected a number with "
                         "--task regress",
                         j->path, nn_csv_line(j->csv), col_name(j, c, cn, sizeof cn),
                         quote_value(fld[c], qv, sizeof qv));
                return ROW_ERROR;
            }
        } else {
            if (k == NN_NUM_BAD) {
                snprintf(err, errlen,
                         "%s:%ld: %s: '%s' is not a number; expected a number, or an empty "
                         "field for a missing value",
                         j->path, nn_csv_line(j->csv), col_name(j, c, cn, sizeof cn),
                         quote_value(fld[c], qv, sizeof qv));
                return ROW_ERROR;
            }
            if (k == NN_NUM_OK && fabs(v) > FLT_MAX)
                k = NN_NUM_NONFINITE; /* beyond float32: it would be stored as inf */
            x[o++] = (float)v;
        }
        if (st == ROW_OK && (k == NN_NUM_EMPTY || k == NN_NUM_NONFINITE)) {
            st = k == NN_NUM_EMPTY ? ROW_MISSING : ROW_NONFINITE;
            *col = c;
        }
    }
    return st;
}

/* Reads the first record: field count, label column, header. Returns 0 (with *data = 1 when
 * the record is data, to be read again), or an exit status after printing the error. */
static int csv_start(csv_job *j, const dopts *o, int *first_is_data)
{
    char err[1024];
    const char *const *fld;
    size_t nf;
    int r = nn_csv_next(j->csv, &fld, &nf, err, sizeof err);
    if (r == NN_CSV_ERROR) {
        error("%s", err);
        return EXIT_DATA;
    }
    if (r == NN_CSV_EOF) {
        error("%s: no records; expected a CSV file with a label column and feature columns",
              j->path);
        return EXIT_DATA;
    }
    j->width = nf;
    if (nf < 2) {
        error("%s:%ld: 1 field; expected a label column and at least one feature column "
              "separated by '%s' (see --delimiter)",
              j->path, nn_csv_line(j->csv), o->delimiter);
        return EXIT_DATA;
    }
    /* --label: an integer is an index, anything else a header name. */
    const char *lab = o->label;
    char *end;
    errno = 0;
    long long li = strtoll(lab, &end, 10);
    int is_index = end != lab && *end == '\0' && errno == 0;
    if (is_index) {
        if (li < -(long long)nf || li >= (long long)nf) {
            error("--label %s: %s has %zu columns; expected an index in [0, %zu] (or [-%zu, "
                  "-1] from the end)",
                  lab, j->path, nf, nf - 1, nf);
            return EXIT_USAGE;
        }
        j->label = (size_t)(li < 0 ? li + (long long)nf : li);
    } else {
        if (strcmp(o->header, "no") == 0) {
            error("--label '%s' is a column name but --header no says %s has no header; "
                  "expected a 0-based column index",
                  lab, j->path);
            return EXIT_USAGE;
        }
        size_t c = 0;
        while (c < nf && strcmp(fld[c], lab) != 0)
            c++;
        for (size_t c2 = c + 1; c < nf && c2 < nf; c2++)
            if (strcmp(fld[c2], lab) == 0) {
                char qv[200];
                error("--label '%s' names two columns of %s, %zu and %zu; expected a name that "
                      "appears once in the header (or a 0-based column index)",
                      quote_value(lab, qv, sizeof qv), j->path, c, c2);
                return EXIT_USAGE;
            }
        if (c == nf) {
            char cols[400] = "", qv[200];
            for (size_t i = 0; i < nf && strlen(cols) < 300; i++)
                snprintf(cols + strlen(cols), sizeof cols - strlen(cols), "%s'%s'",
                         i ? ", " : "", quote_value(fld[i], qv, sizeof qv));
            error("--label '%s': no such column in the first row of %s; expected one of %s%s",
                  lab, j->path, cols, strlen(cols) >= 300 ? ", ..." : "");
            return EXIT_USAGE;
        }
        j->label = c;
    }
    j->d = nf - 1;
    /* Header: given, or (auto) implied by a label name, or a non-number outside the label. */
    if (strcmp(o->header, "yes") == 0 || (!is_index && strcmp(o->header, "auto") == 0)) {
        j->header = 1;
    } else if (strcmp(o->header, "auto") == 0) {
        for (size_t c = 0; c < nf; c++) {
            double v;
            if (c != j->label && nn_csv_number(fld[c], &v) == NN_NUM_BAD)
                j->header = 1;
        }
    }
    if (j->header) {
        j->names = calloc(nf, sizeof *j->names);
        for (size_t c = 0; j->names && c < nf; c++)
            if (!(j->names[c] = strdup(fld[c]))) {
                error("out of memory");
                return EXIT_DATA;
            }
        if (!j->names) {
            error("out of memory");
            return EXIT_DATA;
        }
    }
    *first_is_data = !j->header;
    return 0;
}

/* Pass 1: every row checked and counted; the labels of kept rows collected. */
static int csv_pass1(csv_job *j, int first_is_data)
{
    char err[1024];
    float *x = malloc(j->d * sizeof(float));
    if (!x) {
        error("out of memory for %zu features", j->d);
        return EXIT_DATA;
    }
    if (first_is_data && nn_csv_rewind(j->csv) != 0) {
        error("%s: cannot seek back to the start (a pipe?); expected a regular file, which "
              "nn-data reads twice", j->path);
        free(x);
        return EXIT_DATA;
    }
    int rc = 0;
    const char *const *fld;
    size_t nf;
    int r;
    while ((r = nn_csv_next(j->csv, &fld, &nf, err, sizeof err)) == NN_CSV_RECORD) {
        nn_num_kind lk;
        double lv;
        size_t col = 0;
        j->rows++;
        row_status st = check_row(j, fld, x, &lk, &lv, &col, err, sizeof err);
        if (st == ROW_ERROR) {
            error("%s", err);
            rc = EXIT_DATA;
            break;
        }
        if (st != ROW_OK) {
            char cn[96];
            if (!j->drop) {
                error("%s:%ld: %s: %s; expected no missing or non-finite values with "
                      "--bad-rows fail",
                      j->path, nn_csv_line(j->csv), col_name(j, col, cn, sizeof cn),
                      st == ROW_MISSING ? "empty field (a missing value)"
                                        : "not finite (nan, inf, or beyond float32)");
                rc = EXIT_DATA;
                break;
            }
            if (st == ROW_MISSING && j->missing++ == 0) {
                j->miss_line = nn_csv_line(j->csv);
                j->miss_col = col;
            } else if (st == ROW_NONFINITE && j->nonfinite++ == 0) {
                j->nonf_line = nn_csv_line(j->csv);
                j->nonf_col = col;
            }
            continue;
        }
        j->kept++;
        if (lk == NN_NUM_BAD)
            j->label_text = 1;
        else if (lv != floor(lv) || fabs(lv) > 9.0e15)
            j->label_frac = 1;
        if (j->task != 2 && strset_add(&j->seen, fld[j->label]) != 0) {
            error("out of memory for the labels");
            rc = EXIT_DATA;
            break;
        }
    }
    if (rc == 0 && r == NN_CSV_ERROR) {
        error("%s", err);
        rc = EXIT_DATA;
    }
    free(x);
    return rc;
}

/* The class of a kept row's label; -1 if unknown (the file changed between passes). */
static int32_t class_of(const csv_job *j, const char *s, double v)
{
    if (j->numeric_classes) {
        size_t lo = 0, hi = j->k;
        while (lo < hi) {
            size_t mid = (lo + hi) / 2;
            if (j->cval[mid] < v)
                lo = mid + 1;
            else
                hi = mid;
        }
        return lo < j->k && j->cval[lo] == v ? (int32_t)lo : -1;
    }
    size_t i = strset_slot(&j->seen, s);
    return j->seen.keys[i] ? j->seen.ids[i] : -1;
}

/* A number as the shortest text that reads back to it. */
static void number_text(double v, char *buf, size_t len)
{
    if (v == floor(v) && fabs(v) < 1e15) {
        snprintf(buf, len, "%.0f", v == 0 ? 0.0 : v);
        return;
    }
    for (int p = 6; p <= 17; p++) {
        snprintf(buf, len, "%.*g", p, v);
        if (strtod(buf, NULL) == v)
            return;
    }
}

/* After pass 1: the task and, for classification, the sorted classes. */
static int csv_classes(csv_job *j)
{
    if (j->task == 0)
        j->task = (j->label_text || !j->label_frac) ? 1 : 2;
    if (j->task == 2)
        return 0;
    if (j->seen.overflow) {
        char cn[96];
        error("%s: %s, the label, has more than %d distinct values; expected class labels "
              "(for a numeric target use --task regress)",
              j->path, col_name(j, j->label, cn, sizeof cn), MAX_CLASSES);
        return EXIT_DATA;
    }
    size_t n = j->seen.n, k = 0;
    char **keys = malloc((n ? n : 1) * sizeof *keys);
    j->cnames = calloc(n ? n : 1, sizeof *j->cnames);
    if (!keys || !j->cnames)
        goto oom;
    for (size_t i = 0; i < j->seen.cap; i++)
        if (j->seen.keys[i])
            keys[k++] = j->seen.keys[i];
    j->numeric_classes = !j->label_text;
    if (j->numeric_classes) {
        /* Numbers sort by value; "1" and "1.0" are one class. */
        j->cval = malloc((n ? n : 1) * sizeof *j->cval);
        if (!j->cval)
            goto oom;
        for (size_t i = 0; i < n; i++)
            nn_csv_number(keys[i], &j->cval[i]);
        qsort(j->cval, n, sizeof *j->cval, cmp_double);
        k = 0;
        for (size_t i = 0; i < n; i++)
            if (k == 0 || j->cval[i] != j->cval[k - 1])
                j->cval[k++] = j->cval[i];
        for (size_t i = 0; i < k; i++) {
            char buf[40];
            number_text(j->cval[i], buf, sizeof buf);
            if (!(j->cnames[i] = strdup(buf)))
                goto oom;
        }
    } else {
        /* Strings sort bytewise (strcmp), like sklearn's LabelEncoder. */
        qsort(keys, n, sizeof *keys, cmp_str);
        for (size_t i = 0; i < n; i++) {
            j->seen.ids[strset_slot(&j->seen, keys[i])] = (int32_t)i;
            if (!(j->cnames[i] = strdup(keys[i])))
                goto oom;
        }
        k = n;
    }
    j->k = k;
    free(keys);
    return 0;
oom:
    free(keys);
    error("out of memory for %zu classes", n);
    return EXIT_DATA;
}

/* Pass 2: the kept rows, each to /train or /test (Knuth's selection sampling: exactly
 * n_test rows, a uniform random subset, decided row by row). */
static int csv_pass2(csv_job *j, const dopts *o, nn_h5w_split *train, nn_h5w_split *test,
                     size_t n_test)
{
    char err[1024];
    float *x = malloc(j->d * sizeof(float));
    if (!x) {
        error("out of memory for %zu features", j->d);
        return EXIT_DATA;
    }
    if (nn_csv_rewind(j->csv) != 0) {
        error("%s: cannot seek back to the start (a pipe?); expected a regular file, which "
              "nn-data reads twice", j->path);
        free(x);
        return EXIT_DATA;
    }
    nn_rng rng;
    nn_rng_seed(&rng, (uint64_t)o->seed, nn_stream_id(STREAM_TEST_SPLIT, 0, 0));
    size_t kept = 0, picked = 0;
    const char *const *fld;
    size_t nf;
    int r, rc = 0, skip_header = j->header;
    while ((r = nn_csv_next(j->csv, &fld, &nf, err, sizeof err)) == NN_CSV_RECORD) {
        if (skip_header) {
            skip_header = 0;
            continue;
        }
        nn_num_kind lk;
        double lv;
        size_t col;
        row_status st = check_row(j, fld, x, &lk, &lv, &col, err, sizeof err);
        if (st == ROW_ERROR) {
            error("%s", err);
            rc = EXIT_DATA;
            break;
        }
        if (st != ROW_OK)
            continue;
        int to_test = 0;
        if (n_test > 0 && kept < j->kept) {
            double u = nn_rng_uniform(&rng);
            to_test = (double)(j->kept - kept) * u < (double)(n_test - picked);
        }
        kept++;
        picked += (size_t)to_test;
        int32_t c = 0;
        float t = (float)lv;
        if (j->task == 1 && (c = class_of(j, fld[j->label], lv)) < 0)
            kept = j->kept + 1; /* an unknown label: the file changed */
        if (kept > j->kept) {
            error("%s changed while nn-data was reading it; expected an unchanging file",
                  j->path);
            rc = EXIT_DATA;
            break;
        }
        if (nn_h5w_append(to_test ? test : train, x, j->task == 1 ? (void *)&c : (void *)&t, err,
                          sizeof err) != 0) {
            error("%s", err);
            rc = EXIT_DATA;
            break;
        }
    }
    if (rc == 0 && r == NN_CSV_ERROR) {
        error("%s", err);
        rc = EXIT_DATA;
    }
    if (rc == 0 && kept != j->kept) {
        error("%s changed while nn-data was reading it; expected an unchanging file", j->path);
        rc = EXIT_DATA;
    }
    free(x);
    return rc;
}

static int csv_write_meta(nn_h5w *w, const csv_job *j, const dopts *o, size_t n_test, int argc,
                          char **argv)
{
    char lab[96];
    if (j->names)
        snprintf(lab, sizeof lab, "%.90s", j->names[j->label]);
    else
        snprintf(lab, sizeof lab, "%zu", j->label);
    int rc = write_provenance(w, argc, argv) |
             nn_h5w_attr_str(w, "/meta", "source_format", "csv") |
             nn_h5w_attr_str(w, "/meta", "source", j->path) |
             nn_h5w_attr_str(w, "/meta", "task", j->task == 1 ? "classify" : "regress") |
             nn_h5w_attr_str(w, "/meta", "label_column", lab) |
             nn_h5w_attr_int(w, "/meta", "label_index", (long long)j->label) |
             nn_h5w_attr_int(w, "/meta", "header", j->header) |
             nn_h5w_attr_int(w, "/meta", "rows_read", (long long)j->rows) |
             nn_h5w_attr_int(w, "/meta", "rows_dropped_missing", (long long)j->missing) |
             nn_h5w_attr_int(w, "/meta", "rows_dropped_nonfinite", (long long)j->nonfinite) |
             nn_h5w_attr_int(w, "/meta", "rows_test", (long long)n_test) |
             nn_h5w_attr_double(w, "/meta", "test_fraction", o->test_fraction) |
             nn_h5w_attr_int(w, "/meta", "seed", o->seed);
    if (j->names) {
        const char **fn = malloc(j->d * sizeof *fn);
        if (!fn)
            return -1;
        for (size_t c = 0, i = 0; c < j->width; c++)
            if (c != j->label)
                fn[i++] = j->names[c];
        rc |= nn_h5w_strings(w, "/meta/feature_names", fn, j->d);
        free(fn);
    }
    if (j->task == 1)
        rc |= nn_h5w_strings(w, "/meta/class_names", (const char *const *)j->cnames, j->k);
    return rc;
}

static void print_csv_summary(const csv_job *j, const dopts *o, size_t ntrain, size_t ntest,
                              double secs)
{
    char cn[96];
    printf("%s: %s; label %s; %zu features; task %s", j->path,
           j->header ? "header row" : "no header row", col_name(j, j->label, cn, sizeof cn),
           j->d, j->task == 1 ? "classify" : "regress");
    if (j->task == 1) {
        printf(" (%zu classes:", j->k);
        for (size_t i = 0; i < j->k && i < 8; i++)
            printf(" %zu='%.30s'", i, j->cnames[i]);
        printf("%s)", j->k > 8 ? " ..." : "");
    }
    printf("\n%s: %zu data rows; dropped %zu", j->path, j->rows, j->missing + j->nonfinite);
    if (j->missing)
        printf("; %zu with a missing value (first: line %ld, %s)", j->missing, j->miss_line,
               col_name(j, j->miss_col, cn, sizeof cn));
    if (j->nonfinite)
        printf("; %zu with a non-finite value (first: line %ld, %s)", j->nonfinite, j->nonf_line,
               col_name(j, j->nonf_col, cn, sizeof cn));
    printf("\nwrote %s: /train %zu rows", o->output, ntrain);
    if (ntest)
        printf(", /test %zu rows (seed %ld)", ntest, o->seed);
    printf(", %s, in %.2f s\n", j->task == 1 ? "int32 labels" : "float32 targets [N, 1]", secs);
}

static int cmd_import_csv(const dopts *o, int argc, char **argv)
{
    char delim;
    if (strcmp(o->delimiter, "tab") == 0 || strcmp(o->delimiter, "\\t") == 0)
        delim = '\t';
    else if (strlen(o->delimiter) == 1 && o->delimiter[0] != '"' && o->delimiter[0] != '\n' &&
             o->delimiter[0] != '\r')
        delim = o->delimiter[0];
    else {
        error("--delimiter '%s': expected one character other than a quote or newline, or "
              "'tab'", o->delimiter);
        return EXIT_USAGE;
    }
    if (nn_same_file(o->input, o->output)) {
        error("-o %s is the input file; expected a different output file", o->output);
        return EXIT_USAGE;
    }
    if (special_output(o->output))
        return EXIT_USAGE;
    double t0 = nn_now();
    csv_job j;
    memset(&j, 0, sizeof j);
    j.path = o->input;
    j.task = strcmp(o->task, "classify") == 0 ? 1 : strcmp(o->task, "regress") == 0 ? 2 : 0;
    j.drop = strcmp(o->bad_rows, "drop") == 0;
    nn_h5w *w = NULL;
    char err[1024];
    int rc = EXIT_DATA, first_is_data = 0;
    if (!(j.f = fopen(j.path, "rb"))) {
        error("%s: cannot open: %s", j.path, strerror(errno));
        goto done;
    }
    if (!(j.csv = nn_csv_open(j.f, j.path, delim))) {
        error("out of memory");
        goto done;
    }
    if ((rc = csv_start(&j, o, &first_is_data)) != 0)
        goto done;
    rc = EXIT_DATA;
    if (!(w = open_output(o->output, err, sizeof err))) { /* fail early if it cannot be made */
        error("%s", err);
        goto done;
    }
    if (csv_pass1(&j, first_is_data) != 0 || csv_classes(&j) != 0)
        goto done;
    if (j.rows == 0) {
        error("%s: a header but no data rows; expected at least one row", j.path);
        goto done;
    }
    if (j.kept == 0) {
        error("%s: all %zu data rows were dropped (%zu with a missing value, %zu with a "
              "non-finite value); expected at least one complete row",
              j.path, j.rows, j.missing, j.nonfinite);
        goto done;
    }
    size_t n_test = (size_t)floor(o->test_fraction * (double)j.kept);
    if (n_test >= j.kept)
        n_test = j.kept - 1;
    size_t k = j.task == 1 ? 0 : 1;
    nn_h5w_split *train = nn_h5w_add_split(w, "train", j.d, k, err, sizeof err), *test = NULL;
    if (train && n_test > 0)
        test = nn_h5w_add_split(w, "test", j.d, k, err, sizeof err);
    if (!train || (n_test > 0 && !test)) {
        error("%s", err);
        goto done;
    }
    if (csv_pass2(&j, o, train, test, n_test) != 0)
        goto done;
    if (csv_write_meta(w, &j, o, n_test, argc, argv) != 0) {
        error("%s: writing /meta failed", nn_h5w_tmp_path(w));
        goto done;
    }
    size_t ntrain = nn_h5w_rows(train), ntest = test ? nn_h5w_rows(test) : 0;
    nn_h5w *pending = w;
    w = NULL;
    if (commit_output(pending, err, sizeof err) != 0) {
        error("%s", err);
        goto done;
    }
    print_csv_summary(&j, o, ntrain, ntest, nn_now() - t0);
    rc = 0;
done:
    abort_output(w);
    job_free(&j);
    return rc;
}

/* ---------------------------------------------------------------------------------------- */
/* info                                                                                      */

typedef struct {
    size_t n, d;
    double *sum;
    float *lo, *hi;
    size_t *finite;     /* finite values per feature */
    size_t nonfinite;   /* in x */
    size_t *counts;     /* labels in [0, ncounts) */
    size_t ncounts, out_of_range;
    int32_t lmin, lmax;
    size_t k, y_nonfinite;
    double *ysum;
    float *ylo, *yhi;
} split_stats;

static void stats_free(split_stats *s)
{
    free(s->sum);
    free(s->lo);
    free(s->hi);
    free(s->finite);
    free(s->counts);
    free(s->ysum);
    free(s->ylo);
    free(s->yhi);
}

#define MAX_LABEL_COUNTED (1 << 20)

/* Reads a split a block of rows at a time and accumulates its statistics. */
static int gather(const char *path, const char *split, const nn_split_info *info,
                  split_stats *s, char *err, size_t errlen)
{
    memset(s, 0, sizeof *s);
    s->n = info->n;
    s->d = (size_t)info->d;
    s->k = info->y_is_label ? 0 : (size_t)info->k;
    s->sum = calloc(s->d, sizeof *s->sum);
    s->lo = malloc(s->d * sizeof *s->lo);
    s->hi = malloc(s->d * sizeof *s->hi);
    s->finite = calloc(s->d, sizeof *s->finite);
    if (s->k) {
        s->ysum = calloc(s->k, sizeof *s->ysum);
        s->ylo = malloc(s->k * sizeof *s->ylo);
        s->yhi = malloc(s->k * sizeof *s->yhi);
    }
    size_t block = (4u << 20) / (s->d * sizeof(float));
    block = block < 1 ? 1 : block > 65536 ? 65536 : block;
    size_t *rows = malloc(block * sizeof *rows);
    if (!s->sum || !s->lo || !s->hi || !s->finite || !rows ||
        (s->k && (!s->ysum || !s->ylo || !s->yhi))) {
        free(rows);
        snprintf(err, errlen, "out of memory for %zu features", s->d);
        return -1;
    }
    for (size_t c = 0; c < s->d; c++) {
        s->lo[c] = INFINITY;
        s->hi[c] = -INFINITY;
    }
    for (size_t c = 0; c < s->k; c++) {
        s->ylo[c] = INFINITY;
        s->yhi[c] = -INFINITY;
    }
    s->lmin = INT32_MAX;
    s->lmax = INT32_MIN;
    int rc = 0;
    for (size_t start = 0; rc == 0 && start < s->n; start += block) {
        size_t m = s->n - start < block ? s->n - start : block;
        for (size_t i = 0; i < m; i++)
            rows[i] = start + i;
        nn_rows r;
        if (nn_h5_read_rows(path, split, info, rows, m, &r, err, errlen) != 0) {
            rc = -1;
            break;
        }
        for (size_t i = 0; i < m; i++) {
            const float *x = r.x + i * s->d;
            for (size_t c = 0; c < s->d; c++) {
                float v = x[c];
                if (!isfinite(v)) {
                    s->nonfinite++;
                    continue;
                }
                s->finite[c]++;
                s->sum[c] += v;
                if (v < s->lo[c])
                    s->lo[c] = v;
                if (v > s->hi[c])
                    s->hi[c] = v;
            }
            if (r.labels) {
                int32_t l = r.labels[i];
                if (l < s->lmin)
                    s->lmin = l;
                if (l > s->lmax)
                    s->lmax = l;
                if (l < 0 || l >= MAX_LABEL_COUNTED) {
                    s->out_of_range++;
                    continue;
                }
                if ((size_t)l >= s->ncounts) {
                    size_t nc = (size_t)l + 1 > 2 * s->ncounts ? (size_t)l + 1 : 2 * s->ncounts;
                    size_t *p = realloc(s->counts, nc * sizeof *p);
                    if (!p) {
                        snprintf(err, errlen, "out of memory counting labels");
                        rc = -1;
                        break;
                    }
                    memset(p + s->ncounts, 0, (nc - s->ncounts) * sizeof *p);
                    s->counts = p;
                    s->ncounts = nc;
                }
                s->counts[l]++;
            } else {
                for (size_t c = 0; c < s->k; c++) {
                    float v = r.targets[i * s->k + c];
                    if (!isfinite(v)) {
                        s->y_nonfinite++;
                        continue;
                    }
                    s->ysum[c] += v;
                    if (v < s->ylo[c])
                        s->ylo[c] = v;
                    if (v > s->yhi[c])
                        s->yhi[c] = v;
                }
            }
        }
        nn_rows_free(&r);
    }
    free(rows);
    return rc;
}

static void print_desc(const char *name, const nn_h5_dset_desc *d)
{
    printf("  %s  %s [", name, d->type);
    for (int i = 0; i < d->rank && i < 2; i++)
        printf("%s%llu", i ? ", " : "", d->dims[i]);
    printf("%s]", d->rank > 2 ? ", ..." : "");
    if (d->chunked) {
        printf("  chunks [");
        for (int i = 0; i < d->rank && i < 2; i++)
            printf("%s%llu", i ? ", " : "", d->chunk[i]);
        printf("]");
    } else {
        printf("  contiguous");
    }
    printf("  %s\n", d->filters[0] ? d->filters : "uncompressed");
}

static void print_split(const char *path, const char *split, const nn_split_info *info,
                        const split_stats *s, char **fnames, size_t nfn, char **cnames,
                        size_t ncn, const dopts *o)
{
    nn_h5_dset_desc dx, dy;
    char name[32];
    snprintf(name, sizeof name, "/%s/x", split);
    nn_h5_describe(path, name, &dx);
    snprintf(name, sizeof name, "/%s/y", split);
    nn_h5_describe(path, name, &dy);
    printf("/%s: %zu samples, %d features, %s\n", split, info->n, info->d,
           info->y_is_label ? "integer class labels" : "float targets");
    print_desc("x", &dx);
    print_desc("y", &dy);
    printf("  non-finite values: %zu in x", s->nonfinite);
    if (!info->y_is_label)
        printf(", %zu in y", s->y_nonfinite);
    printf("\n");
    if (info->y_is_label && s->n > 0) {
        size_t k = 0;
        for (size_t l = 0; l < s->ncounts; l++)
            k += s->counts[l] > 0;
        printf("  labels: %zu distinct in [%d, %d]%s\n", k + (s->out_of_range ? 1 : 0), s->lmin,
               s->lmax, s->out_of_range ? " (some negative or huge)" : "");
        printf("  %7s %10s %7s  %s\n", "label", "count", "share", ncn ? "name" : "");
        size_t shown = 0, lo = SIZE_MAX, hi = 0;
        for (size_t l = 0; l < s->ncounts; l++) {
            if (!s->counts[l] && l >= ncn)
                continue;
            if (s->counts[l] < lo)
                lo = s->counts[l];
            if (s->counts[l] > hi)
                hi = s->counts[l];
            if (shown++ < (size_t)o->classes)
                printf("  %7zu %10zu %6.2f%%  %s\n", l, s->counts[l],
                       100.0 * (double)s->counts[l] / (double)s->n, l < ncn ? cnames[l] : "");
        }
        if (shown > (size_t)o->classes)
            printf("  ... %zu more classes; counts per class from %zu to %zu\n",
                   shown - (size_t)o->classes, lo, hi);
        if (s->out_of_range)
            printf("  %zu labels are negative or >= %d\n", s->out_of_range, MAX_LABEL_COUNTED);
    } else if (!info->y_is_label) {
        printf("  %7s %12s %12s %12s\n", "target", "min", "max", "mean");
        for (size_t c = 0; c < s->k && c < (size_t)o->features; c++)
            printf("  %7zu %12.5g %12.5g %12.5g\n", c, s->ylo[c], s->yhi[c],
                   s->ysum[c] / (double)(s->n ? s->n : 1));
    }
    if (s->n == 0)
        return;
    printf("  %7s %12s %12s %12s  %s\n", "feature", "min", "max", "mean", nfn ? "name" : "");
    double mlo = INFINITY, mhi = -INFINITY, lo = INFINITY, hi = -INFINITY;
    for (size_t c = 0; c < s->d; c++) {
        double mean = s->finite[c] ? s->sum[c] / (double)s->finite[c] : NAN;
        if (s->finite[c]) {
            mlo = fmin(mlo, mean);
            mhi = fmax(mhi, mean);
            lo = fmin(lo, s->lo[c]);
            hi = fmax(hi, s->hi[c]);
        }
        if (c < (size_t)o->features) {
            if (s->finite[c])
                printf("  %7zu %12.5g %12.5g %12.5g  %s\n", c, s->lo[c], s->hi[c], mean,
                       c < nfn ? fnames[c] : "");
            else
                printf("  %7zu %12s %12s %12s  %s\n", c, "-", "-", "-",
                       c < nfn ? fnames[c] : "");
        }
    }
    if (s->d > (size_t)o->features)
        printf("  ... %zu more features\n", s->d - (size_t)o->features);
    printf("  all %zu features: min %.5g, max %.5g; means from %.5g to %.5g\n", s->d, lo, hi,
           mlo, mhi);
}

static int cmd_info(const dopts *o, int argc, char **argv)
{
    (void)argc;
    (void)argv;
    static const char *const splits[] = {"train", "val", "test"};
    char err[1024];
    nn_split_info info[3];
    int have[3];
    for (int i = 0; i < 3; i++) {
        int r = nn_h5_probe(o->input, splits[i], &info[i], err, sizeof err);
        if (r < 0 || (r == 1 && i == 0)) {
            error("%s", err);
            return EXIT_DATA;
        }
        have[i] = r == 0;
    }
    char **fnames = NULL, **cnames = NULL;
    size_t nfn = 0, ncn = 0;
    nn_h5_read_strings(o->input, "/meta/feature_names", &fnames, &nfn);
    nn_h5_read_strings(o->input, "/meta/class_names", &cnames, &ncn);
    char by[128], src[512], task[32], dropped[3][32];
    printf("%s", o->input);
    if (nn_h5_attr_text(o->input, "/", "created_by", by, sizeof by) == 0)
        printf(": written by %s", by);
    if (nn_h5_attr_text(o->input, "/meta", "source", src, sizeof src) == 0 ||
        nn_h5_attr_text(o->input, "/meta", "train_images", src, sizeof src) == 0)
        printf(" from %s", src);
    if (nn_h5_attr_text(o->input, "/meta", "task", task, sizeof task) == 0)
        printf(", task %s", task);
    if (nn_h5_attr_text(o->input, "/meta", "rows_read", dropped[0], sizeof dropped[0]) == 0 &&
        nn_h5_attr_text(o->input, "/meta", "rows_dropped_missing", dropped[1],
                        sizeof dropped[1]) == 0 &&
        nn_h5_attr_text(o->input, "/meta", "rows_dropped_nonfinite", dropped[2],
                        sizeof dropped[2]) == 0)
        printf("; %s rows read, %lld dropped at import", dropped[0],
               atoll(dropped[1]) + atoll(dropped[2]));
    printf("\n");
    int rc = 0;
    for (int i = 0; i < 3 && rc == 0; i++) {
        if (!have[i])
            continue;
        split_stats s;
        if (gather(o->input, splits[i], &info[i], &s, err, sizeof err) != 0) {
            error("%s", err);
            rc = EXIT_DATA;
        } else {
            print_split(o->input, splits[i], &info[i], &s, fnames, nfn, cnames, ncn, o);
        }
        stats_free(&s);
    }
    nn_h5_strings_free(fnames, nfn);
    nn_h5_strings_free(cnames, ncn);
    return rc;
}

/* ---------------------------------------------------------------------------------------- */

int main(int argc, char **argv)
{
    nn_input_guard_program("nn-data", 0); /* a crash inside HDF5 names the file it was reading */
    if (argc < 2) {
        error("expected a command: import-idx, import-csv or info (see nn-data --help)");
        return EXIT_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        usage_all(stdout);
        return 0;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("nn-data %s\n", NN_VERSION);
        return 0;
    }
    const command *c = NULL;
    for (size_t i = 0; i < N_OF(commands); i++)
        if (strcmp(argv[1], commands[i].name) == 0)
            c = &commands[i];
    if (!c) {
        error("unknown command '%s'; expected import-idx, import-csv or info (see nn-data "
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
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    return c->run(&o, argc, argv);
}
