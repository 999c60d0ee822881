/* csv_rows.c: the CSV importer's passes over the file (csv_job.h). One loop, csv_rows, reads
 * and splits the records of every pass, checks each row and, after pass 1, chooses the /test
 * rows with a seeded sampler, so that the statistics pass (csv_encode.c) and pass 2 see the
 * same split; a pass is the function it hands each row. Pass 1 checks every row (text in a
 * numeric column stops the import; a missing number under --impute drop, or a non-finite one,
 * drops the row, or stops it with --bad-rows fail), counts the rows kept and dropped, collects
 * the labels and, the first time, the evidence of each column's kind; pass 2 writes each kept
 * row, through the encoder, to /train or /test. A field is parsed as a number once per pass:
 * by the check, which keeps the values for the statistics, or in pass 2 by the encoder, whose
 * verdict on the row is the check. */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csv_job.h"
#include "nn_rng.h"

/* The error of field c that is not a number: "FILE:LINE: column C('name')ROLE: 'text' is not
 * a number; expected EXPECTED". ROW_ERROR. */
static row_status not_a_number(const csv_job *j, const char *const *fld, size_t c,
                               const char *role, const char *expected, char *err, size_t errlen)
{
    char cn[96], qv[200];
    snprintf(err, errlen, "%s:%ld: %s%s: '%s' is not a number; expected %s", j->path,
             nn_csv_line(j->csv), col_name(j, c, cn, sizeof cn), role,
             quote_value(fld[c], qv, sizeof qv), expected);
    return ROW_ERROR;
}

/* A number written with a decimal comma ("2,5"), or a value with a control character (a
 * newline inside quotes, an escape sequence): never evidence of a categorical column. */
static int not_a_category(const char *s)
{
    for (const char *p = s; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            return 1;
    const char *comma = strchr(s, ',');
    char buf[64];
    double v;
    size_t n = strlen(s);
    if (!comma || strchr(comma + 1, ',') || n >= sizeof buf)
        return 0;
    memcpy(buf, s, n + 1);
    buf[comma - s] = '.';
    return nn_csv_number(buf, &v) == NN_NUM_OK;
}

/* Pass 1's evidence about an AUTO column's field of kind k. */
static void note_kind(csv_job *j, size_t c, const char *s, nn_num_kind k)
{
    col_seen *cs = &j->cs[c];
    if (k == NN_NUM_BAD) {
        int comma = not_a_category(s);
        cs->comma += (size_t)comma;
        cs->text += (size_t)!comma;
        if (!cs->text_value) {
            cs->text_line = nn_csv_line(j->csv);
            cs->text_value = strdup(s);
        }
    } else if (k == NN_NUM_OK) {
        cs->num++;
    } else {
        cs->missing++; /* missing or non-finite: decides nothing */
    }
}

/* The label's field: its kind (a missing value under the NA tokens) and value. */
static row_status label_field(const csv_job *j, const char *const *fld, nn_num_kind *lk,
                              double *lv, char *err, size_t errlen)
{
    size_t c = j->label;
    double v = 0;
    nn_num_kind k = nn_enc_is_na(&j->enc, fld[c]) ? NN_NUM_EMPTY : nn_csv_number(fld[c], &v);
    *lk = k;
    *lv = v;
    if (k == NN_NUM_BAD && j->task == TASK_REGRESS)
        return not_a_number(j, fld, c, ", the label", "a number with --task regress", err,
                            errlen);
    if (k == NN_NUM_EMPTY)
        return ROW_MISSING;
    if (k == NN_NUM_NONFINITE || (k == NN_NUM_OK && fabs(v) > FLT_MAX && j->task == TASK_REGRESS))
        return ROW_NONFINITE;
    return ROW_OK;
}

/* ROWS_KINDS and ROWS_NUMBERS: the numeric (and undecided) features of row r parsed, their
 * kinds and values kept in j->kind and j->val; the first column that drops the row in r->col
 * (the label's status lst counts at its place). */
static row_status check_numbers(csv_job *j, csv_row *r, row_status lst, int kinds, char *err,
                                size_t errlen)
{
    row_status st = ROW_OK;
    for (size_t c = 0; c < j->width; c++) {
        int role = j->role[c];
        if (c == j->label && st == ROW_OK && lst != ROW_OK) {
            st = lst;
            r->col = c;
        }
        if (role != ROLE_AUTO && role != ROLE_NUM)
            continue;
        double v = 0;
        const char *f = r->fld[c];
        nn_num_kind k = nn_enc_is_na(&j->enc, f) ? NN_NUM_EMPTY : nn_csv_number(f, &v);
        if (k == NN_NUM_OK && fabs(v) > FLT_MAX)
            k = NN_NUM_NONFINITE; /* beyond float32: it would be stored as inf */
        j->kind[c] = k;
        j->val[c] = v;
        if (kinds && role == ROLE_AUTO) {
            note_kind(j, c, f, k);
            if (k == NN_NUM_BAD)
                continue; /* text: decided after pass 1 */
        }
        if (k == NN_NUM_BAD)
            return not_a_number(j, r->fld, c, "",
                                "a number, or a missing value (an empty field or one of "
                                "--na-values)",
                                err, errlen);
        if (st == ROW_OK && ((k == NN_NUM_EMPTY && j->impute == IMPUTE_DROP) ||
                             k == NN_NUM_NONFINITE)) {
            st = k == NN_NUM_EMPTY ? ROW_MISSING : ROW_NONFINITE;
            r->col = c;
        }
    }
    return st;
}

/* ROWS_ENCODE: row r's features through the encoder into j->x, which parses each number once
 * and says what check_numbers would: a missing number without a fill (--impute drop) or a
 * non-finite one drops the row, text is an error (the file changed since pass 1, which
 * checked every row). The categorical values outside the vocabulary are counted in
 * r->unseen. */
static row_status encode_row(csv_job *j, csv_row *r, char *err, size_t errlen)
{
    for (int c = 0; c < j->enc.ncol; c++)
        j->rowf[c] = r->fld[j->src[c]];
    int bad = 0;
    r->unseen = 0;
    nn_enc_status st = nn_enc_row(&j->enc, j->rowf, j->x, &bad, &r->unseen);
    if (st == NN_ENC_OK)
        return ROW_OK;
    r->col = (size_t)j->src[bad];
    if (st == NN_ENC_NO_FILL)
        return ROW_MISSING;
    if (st == NN_ENC_NONFINITE)
        return ROW_NONFINITE;
    char cn[96], qv[200];
    snprintf(err, errlen,
             "%s:%ld: %s: '%s' cannot be encoded (not a number); expected the file unchanged "
             "since the first pass",
             j->path, nn_csv_line(j->csv), col_name(j, r->col, cn, sizeof cn),
             quote_value(j->rowf[bad], qv, sizeof qv));
    return ROW_ERROR;
}

/* Checks row r: the label (its kind and value in r->lk, r->lv), then the features as check
 * says. ROW_ERROR with err. */
static row_status check_row(csv_job *j, csv_row *r, int check, char *err, size_t errlen)
{
    row_status lst = label_field(j, r->fld, &r->lk, &r->lv, err, errlen);
    if (lst == ROW_ERROR)
        return lst;
    if (check != ROWS_ENCODE)
        return check_numbers(j, r, lst, check == ROWS_KINDS, err, errlen);
    if (lst != ROW_OK) {
        r->col = j->label;
        return lst; /* dropped: nothing to encode */
    }
    return encode_row(j, r, err, errlen);
}

/* EXIT_DATA after the error for a file that changed between passes. */
static int file_changed(const csv_job *j)
{
    data_error("%s changed while nn-data was reading it; expected an unchanging file", j->path);
    return EXIT_DATA;
}

/* The file read again from its start (the header passed over). 0, or EXIT_DATA after printing
 * the error. */
static int pass_rewind(csv_job *j)
{
    if (nn_csv_rewind(j->csv) != 0) {
        data_error("%s: cannot seek back to the start (a pipe?); expected a regular file, "
                   "which nn-data reads more than once", j->path);
        return EXIT_DATA;
    }
    if (j->header) {
        const char *const *fld;
        size_t nf;
        char err[1024];
        if (nn_csv_next(j->csv, &fld, &nf, err, sizeof err) != NN_CSV_RECORD)
            return file_changed(j);
    }
    return 0;
}

/* The test rows: a seeded selection sampler (Knuth's: exactly n_test of the kept rows, a
 * uniform random subset, decided row by row), the same in every pass that splits. */
typedef struct {
    nn_rng rng;
    size_t kept, picked, n_test, total;
} test_picker;

static void picker_init(test_picker *p, const dopts *o, size_t total, size_t n_test)
{
    nn_rng_seed(&p->rng, (uint64_t)o->seed, nn_stream_id(NN_STREAM_TEST_SPLIT, 0, 0));
    p->kept = p->picked = 0;
    p->total = total;
    p->n_test = n_test;
}

static int picker_next(test_picker *p)
{
    int to_test = 0;
    if (p->n_test > 0 && p->kept < p->total) {
        double u = nn_rng_uniform(&p->rng);
        to_test = (double)(p->total - p->kept) * u < (double)(p->n_test - p->picked);
    }
    p->kept++;
    p->picked += (size_t)to_test;
    return to_test;
}

int csv_rows(csv_job *j, int check, int rewind, const dopts *o, size_t n_test, row_fn fn,
             void *ctx)
{
    char err[1024];
    csv_row r = {0};
    test_picker pk = {0};
    if (o)
        picker_init(&pk, o, j->kept, n_test);
    int rc = rewind ? pass_rewind(j) : 0, rec = NN_CSV_EOF;
    size_t nf;
    while (rc == 0 && (rec = nn_csv_next(j->csv, &r.fld, &nf, err, sizeof err)) == NN_CSV_RECORD) {
        if ((r.st = check_row(j, &r, check, err, sizeof err)) == ROW_ERROR) {
            data_error("%s", err);
            return EXIT_DATA;
        }
        if (o) {
            if (r.st != ROW_OK)
                continue;
            if (pk.kept >= j->kept)
                return file_changed(j); /* more kept rows than pass 1 saw */
            r.to_test = picker_next(&pk);
        }
        rc = fn(j, &r, ctx);
    }
    if (rc == 0 && rec == NN_CSV_ERROR) {
        data_error("%s", err);
        return EXIT_DATA;
    }
    return rc == 0 && o && pk.kept != j->kept ? file_changed(j) : rc;
}

/* ---------------------------------------------------------------- pass 1 */

/* Pass 1's account of a row with a missing or non-finite value in column col: the first of
 * each kind is remembered for the summary. 0, or EXIT_DATA after printing the error under
 * --bad-rows fail. */
static int drop_row(csv_job *j, row_status st, size_t col)
{
    if (!j->drop) {
        char cn[96];
        data_error("%s:%ld: %s: %s; expected no missing or non-finite values with "
                   "--bad-rows fail%s",
                   j->path, nn_csv_line(j->csv), col_name(j, col, cn, sizeof cn),
                   st == ROW_MISSING ? "a missing value (empty, or one of --na-values)"
                                     : "not finite (inf, or beyond float32)",
                   st == ROW_MISSING && col != j->label ? " and --impute drop" : "");
        return EXIT_DATA;
    }
    if (st == ROW_MISSING && j->missing++ == 0) {
        j->miss_line = nn_csv_line(j->csv);
        j->miss_col = col;
    } else if (st == ROW_NONFINITE && j->nonfinite++ == 0) {
        j->nonf_line = nn_csv_line(j->csv);
        j->nonf_col = col;
    }
    return 0;
}

/* Pass 1's account of row r: dropped, or kept with its label. */
static int count_row(csv_job *j, const csv_row *r, void *ctx)
{
    (void)ctx;
    j->rows++;
    if (r->st != ROW_OK)
        return drop_row(j, r->st, r->col);
    j->kept++;
    if (r->lk == NN_NUM_BAD)
        j->label_text = 1;
    else if (r->lv != floor(r->lv) || fabs(r->lv) > 9.0e15)
        j->label_frac = 1;
    if (j->task != TASK_REGRESS && strset_add(&j->seen, r->fld[j->label]) != 0) {
        data_error("out of memory for the labels");
        return EXIT_DATA;
    }
    return 0;
}

int csv_pass1(csv_job *j, int first_is_data, int kinds)
{
    /* Pass 1 starts afresh (it may run twice). */
    j->rows = j->kept = j->missing = j->nonfinite = 0;
    j->label_text = j->label_frac = 0;
    strset_free(&j->seen);
    return csv_rows(j, kinds ? ROWS_KINDS : ROWS_NUMBERS, !kinds || first_is_data, NULL, 0,
                    count_row, NULL);
}

/* ---------------------------------------------------------------- pass 2 */

typedef struct {
    nn_h5w_split *train, *test;
} splits;

/* One kept row, encoded, to its split; the /test rows count the values outside the training
 * vocabulary. */
static int write_row(csv_job *j, const csv_row *r, void *ctx)
{
    const splits *out = ctx;
    char err[1024];
    int32_t c = 0;
    float t = (float)r->lv;
    if (j->task == TASK_CLASSIFY && (c = class_of(j, r->fld[j->label], r->lv)) < 0)
        return file_changed(j); /* an unknown label */
    if (r->to_test) {
        j->unseen += r->unseen;
        j->unseen_rows += r->unseen > 0;
    }
    const void *y = j->task == TASK_CLASSIFY ? (const void *)&c : (const void *)&t;
    if (nn_h5w_append(r->to_test ? out->test : out->train, j->x, y, err, sizeof err) != 0) {
        data_error("%s", err);
        return EXIT_DATA;
    }
    return 0;
}

int csv_pass2(csv_job *j, const dopts *o, nn_h5w_split *train, nn_h5w_split *test,
              size_t n_test)
{
    splits out = {train, test};
    return csv_rows(j, ROWS_ENCODE, 1, o, n_test, write_row, &out);
}
