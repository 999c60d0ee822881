/* import_csv.c: nn-data import-csv, a CSV file (RFC 4180, nn_csv.h) to an nn-train data
 * file. The command itself: its arguments, the first record (field count, label column,
 * header), the order of the steps (pass 1, the classes, pass 2, /meta, the commit) and the
 * summary it prints. The passes are in csv_rows.c, the task and classes in csv_classes.c. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csv_job.h"
#include "nn_clock.h"

/* The first record: 0 with its fields in *fld, *nf (at least 2), or an exit status after
 * printing the error. */
static int first_record(csv_job *j, const dopts *o, const char *const **fld, size_t *nf)
{
    char err[1024];
    int r = nn_csv_next(j->csv, fld, nf, err, sizeof err);
    if (r == NN_CSV_ERROR) {
        data_error("%s", err);
        return EXIT_DATA;
    }
    if (r == NN_CSV_EOF) {
        data_error("%s: no records; expected a CSV file with a label column and feature "
                   "columns", j->path);
        return EXIT_DATA;
    }
    j->width = *nf;
    if (*nf < 2) {
        data_error("%s:%ld: 1 field; expected a label column and at least one feature column "
                   "separated by '%s' (see --delimiter)",
                   j->path, nn_csv_line(j->csv), o->delimiter);
        return EXIT_DATA;
    }
    return 0;
}

/* --label as a header name: the one column of the first record that has it, in j->label. 0,
 * or EXIT_USAGE after printing the error. */
static int label_by_name(csv_job *j, const dopts *o, const char *const *fld, size_t nf)
{
    const char *lab = o->label;
    char qv[200];
    if (strcmp(o->header, "no") == 0) {
        data_error("--label '%s' is a column name but --header no says %s has no header; "
                   "expected a 0-based column index",
                   lab, j->path);
        return EXIT_USAGE;
    }
    size_t c = 0;
    while (c < nf && strcmp(fld[c], lab) != 0)
        c++;
    for (size_t c2 = c + 1; c < nf && c2 < nf; c2++)
        if (strcmp(fld[c2], lab) == 0) {
            data_error("--label '%s' names two columns of %s, %zu and %zu; expected a name "
                       "that appears once in the header (or a 0-based column index)",
                       quote_value(lab, qv, sizeof qv), j->path, c, c2);
            return EXIT_USAGE;
        }
    if (c == nf) {
        char cols[400] = "";
        for (size_t i = 0; i < nf && strlen(cols) < 300; i++)
            snprintf(cols + strlen(cols), sizeof cols - strlen(cols), "%s'%s'",
                     i ? ", " : "", quote_value(fld[i], qv, sizeof qv));
        data_error("--label '%s': no such column in the first row of %s; expected one of %s%s",
                   lab, j->path, cols, strlen(cols) >= 300 ? ", ..." : "");
        return EXIT_USAGE;
    }
    j->label = c;
    return 0;
}

/* --label: an integer is an index (negative counts from the end), anything else a header
 * name; the column in j->label, and whether it was an index in *is_index. 0, or EXIT_USAGE
 * after printing the error. */
static int find_label(csv_job *j, const dopts *o, const char *const *fld, size_t nf,
                      int *is_index)
{
    const char *lab = o->label;
    char *end;
    errno = 0;
    long long li = strtoll(lab, &end, 10);
    *is_index = end != lab && *end == '\0' && errno == 0;
    if (!*is_index)
        return label_by_name(j, o, fld, nf);
    if (li < -(long long)nf || li >= (long long)nf) {
        data_error("--label %s: %s has %zu columns; expected an index in [0, %zu] (or [-%zu, "
                   "-1] from the end)",
                   lab, j->path, nf, nf - 1, nf);
        return EXIT_USAGE;
    }
    j->label = (size_t)(li < 0 ? li + (long long)nf : li);
    return 0;
}

/* Header: given, or (auto) implied by a label name, or a non-number outside the label. When
 * there is one, its fields are kept in j->names. 0, or EXIT_DATA after printing the error. */
static int read_header(csv_job *j, const dopts *o, const char *const *fld, size_t nf,
                       int is_index)
{
    if (strcmp(o->header, "yes") == 0 || (!is_index && strcmp(o->header, "auto") == 0)) {
        j->header = 1;
    } else if (strcmp(o->header, "auto") == 0) {
        for (size_t c = 0; c < nf; c++) {
            double v;
            if (c != j->label && nn_csv_number(fld[c], &v) == NN_NUM_BAD)
                j->header = 1;
        }
    }
    if (!j->header)
        return 0;
    j->names = calloc(nf, sizeof *j->names);
    for (size_t c = 0; j->names && c < nf; c++)
        if (!(j->names[c] = strdup(fld[c]))) {
            data_error("out of memory");
            return EXIT_DATA;
        }
    if (!j->names) {
        data_error("out of memory");
        return EXIT_DATA;
    }
    return 0;
}

/* Reads the first record: field count, label column, header. Returns 0 (with *first_is_data
 * = 1 when the record is data, to be read again), or an exit status after printing the
 * error. */
static int csv_start(csv_job *j, const dopts *o, int *first_is_data)
{
    const char *const *fld;
    size_t nf;
    int is_index, rc = first_record(j, o, &fld, &nf);
    if (rc != 0)
        return rc;
    if ((rc = find_label(j, o, fld, nf, &is_index)) != 0)
        return rc;
    j->d = nf - 1;
    if ((rc = read_header(j, o, fld, nf, is_index)) != 0)
        return rc;
    if ((rc = csv_columns(j, o, fld, nf)) != 0)
        return rc;
    *first_is_data = !j->header;
    return 0;
}

static const char *task_name(const csv_job *j)
{
    return j->task == TASK_CLASSIFY ? "classify" : "regress";
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
             nn_h5w_attr_str(w, "/meta", "task", task_name(j)) |
             nn_h5w_attr_str(w, "/meta", "label_column", lab) |
             nn_h5w_attr_int(w, "/meta", "label_index", (long long)j->label) |
             nn_h5w_attr_int(w, "/meta", "header", j->header) |
             nn_h5w_attr_int(w, "/meta", "rows_read", (long long)j->rows) |
             nn_h5w_attr_int(w, "/meta", "rows_dropped_missing", (long long)j->missing) |
             nn_h5w_attr_int(w, "/meta", "rows_dropped_nonfinite", (long long)j->nonfinite) |
             nn_h5w_attr_int(w, "/meta", "rows_test", (long long)n_test) |
             nn_h5w_attr_double(w, "/meta", "test_fraction", o->test_fraction) |
             nn_h5w_attr_int(w, "/meta", "seed", o->seed);
    /* The encoder (nn_encode.h) and the names of its outputs, the features. */
    char *text = nn_enc_to_text(&j->enc);
    char **fn = calloc(j->d, sizeof *fn);
    for (size_t i = 0; fn && i < j->d; i++) {
        char buf[256];
        fn[i] = strdup(nn_enc_output_name(&j->enc, (int)i, buf, sizeof buf));
        rc |= fn[i] ? 0 : -1;
    }
    rc |= text && fn ? 0 : -1;
    if (rc == 0 && (j->names || j->enc.ncol < (int)j->width - 1 || (size_t)j->enc.ncol != j->d))
        rc |= nn_h5w_strings(w, "/meta/feature_names", (const char *const *)fn, j->d);
    if (rc == 0)
        rc |= nn_h5w_strings(w, "/meta/encoder", (const char *const *)&text, 1) |
              nn_h5w_attr_str(w, "/meta", "impute", o->impute) |
              nn_h5w_attr_str(w, "/meta", "na_values", o->na_values) |
              nn_h5w_attr_int(w, "/meta", "test_unseen_values", (long long)j->unseen);
    for (size_t i = 0; fn && i < j->d; i++)
        free(fn[i]);
    free(fn);
    free(text);
    if (j->task == TASK_CLASSIFY)
        rc |= nn_h5w_strings(w, "/meta/class_names", (const char *const *)j->cnames, j->k);
    return rc;
}

static void print_csv_summary(const csv_job *j, const dopts *o, size_t ntrain, size_t ntest,
                              double secs)
{
    char cn[96];
    printf("%s: %s; label %s; %zu features; task %s", j->path,
           j->header ? "header row" : "no header row", col_name(j, j->label, cn, sizeof cn),
           j->d, task_name(j));
    if (j->task == TASK_CLASSIFY) {
        printf(" (%zu classes:", j->k);
        for (size_t i = 0; i < j->k && i < 8; i++)
            printf(" %zu='%.30s'", i, j->cnames[i]);
        printf("%s)", j->k > 8 ? " ..." : "");
    }
    int ncat = 0;
    for (int c = 0; c < j->enc.ncol; c++)
        ncat += j->enc.col[c].kind == NN_ENC_CATEGORICAL;
    printf("\n%s: %d columns encoded (%d numeric, %d categorical), %zu dropped; impute %s",
           j->path, j->enc.ncol, j->enc.ncol - ncat, ncat, j->width - 1 - (size_t)j->enc.ncol,
           o->impute);
    if (ntest)
        printf("; /test: %zu values outside the training categories in %zu rows", j->unseen,
               j->unseen_rows);
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
    printf(", %s, in %.2f s\n",
           j->task == TASK_CLASSIFY ? "int32 labels" : "float32 targets [N, 1]", secs);
}

/* The usage errors: the delimiter (into *delim), the input named as the output, an output
 * that is not a regular file. 0, or EXIT_USAGE after printing the error. */
static int csv_check_args(const dopts *o, char *delim)
{
    if (strcmp(o->delimiter, "tab") == 0 || strcmp(o->delimiter, "\\t") == 0)
        *delim = '\t';
    else if (strlen(o->delimiter) == 1 && o->delimiter[0] != '"' && o->delimiter[0] != '\n' &&
             o->delimiter[0] != '\r')
        *delim = o->delimiter[0];
    else {
        data_error("--delimiter '%s': expected one character other than a quote or newline, "
                   "or 'tab'", o->delimiter);
        return EXIT_USAGE;
    }
    return check_output(o->output, &o->input, 1) ? EXIT_USAGE : 0;
}

/* The job for o's input, opened for reading. 0, or EXIT_DATA after printing the error (the
 * job is to be freed either way). */
static int csv_open(csv_job *j, const dopts *o, char delim)
{
    memset(j, 0, sizeof *j);
    j->path = o->input;
    j->task = strcmp(o->task, "classify") == 0  ? TASK_CLASSIFY
              : strcmp(o->task, "regress") == 0 ? TASK_REGRESS
                                                : TASK_AUTO;
    j->drop = strcmp(o->bad_rows, "drop") == 0;
    if (!(j->f = fopen(j->path, "rb"))) {
        data_error("%s: cannot open: %s", j->path, strerror(errno));
        return EXIT_DATA;
    }
    if (!(j->csv = nn_csv_open(j->f, j->path, delim))) {
        data_error("out of memory");
        return EXIT_DATA;
    }
    return 0;
}

/* After pass 1: at least one row kept. 0, or EXIT_DATA after printing the error. */
static int check_kept(const csv_job *j)
{
    if (j->rows == 0) {
        data_error("%s: a header but no data rows; expected at least one row", j->path);
        return EXIT_DATA;
    }
    if (j->kept == 0) {
        data_error("%s: all %zu data rows were dropped (%zu with a missing value, %zu with a "
                   "non-finite value); expected at least one complete row",
                   j->path, j->rows, j->missing, j->nonfinite);
        return EXIT_DATA;
    }
    return 0;
}

/* /train, and /test when n_test > 0: int32 labels or one float32 target per row. 0, or
 * EXIT_DATA after printing the error. */
static int add_splits(nn_h5w *w, const csv_job *j, size_t n_test, nn_h5w_split **train,
                      nn_h5w_split **test)
{
    char err[1024];
    size_t k = j->task == TASK_CLASSIFY ? 0 : 1;
    *train = nn_h5w_add_split(w, "train", j->d, k, err, sizeof err);
    *test = NULL;
    if (*train && n_test > 0)
        *test = nn_h5w_add_split(w, "test", j->d, k, err, sizeof err);
    if (!*train || (n_test > 0 && !*test)) {
        data_error("%s", err);
        return EXIT_DATA;
    }
    return 0;
}

int cmd_import_csv(const dopts *o, int argc, char **argv)
{
    char delim;
    int rc = csv_check_args(o, &delim);
    if (rc != 0)
        return rc;
    double t0 = nn_now();
    csv_job j;
    nn_h5w *w = NULL;
    char err[1024];
    int first_is_data = 0;
    if ((rc = csv_open(&j, o, delim)) != 0 || (rc = csv_start(&j, o, &first_is_data)) != 0)
        goto done;
    rc = EXIT_DATA;
    if (!(w = open_output(o->output, err, sizeof err))) { /* fail early if it cannot be made */
        data_error("%s", err);
        goto done;
    }
    int again = 0;
    if ((rc = csv_pass1(&j, first_is_data, 1)) != 0 || (rc = csv_decide_kinds(&j, &again)) != 0 ||
        (again && (rc = csv_pass1(&j, first_is_data, 0)) != 0))
        goto done;
    rc = EXIT_DATA;
    if (csv_classes(&j) != 0 || check_kept(&j) != 0)
        goto done;
    size_t n_test = (size_t)floor(o->test_fraction * (double)j.kept);
    if (n_test >= j.kept)
        n_test = j.kept - 1;
    if ((rc = csv_build_encoder(&j, o, n_test)) != 0)
        goto done;
    rc = EXIT_DATA;
    nn_h5w_split *train, *test;
    if (add_splits(w, &j, n_test, &train, &test) != 0 ||
        csv_pass2(&j, o, train, test, n_test) != 0)
        goto done;
    if (csv_write_meta(w, &j, o, n_test, argc, argv) != 0) {
        data_error("%s: writing /meta failed", nn_h5w_tmp_path(w));
        goto done;
    }
    size_t ntrain = nn_h5w_rows(train), ntest = test ? nn_h5w_rows(test) : 0;
    nn_h5w *pending = w;
    w = NULL;
    if (commit_output(pending, err, sizeof err) != 0) {
        data_error("%s", err);
        goto done;
    }
    print_csv_summary(&j, o, ntrain, ntest, nn_now() - t0);
    rc = 0;
done:
    abort_output(w);
    job_free(&j);
    return rc;
}
