/* rawcsv.c: nn-predict --csv FILE.csv (docs/tabular.md): raw rows, as the CSV file nn-data
 * import-csv read, encoded by the checkpoint's /encoder (nn_encode.h) exactly as the importer
 * encoded the rows the model learnt from. Columns are found by their header names (any
 * order; other columns, such as ids, are ignored); the label column is optional: with it,
 * the metrics and --report, without it, predictions only. Rank 0 reads the file and writes
 * the encoded rows as a temporary data file (split "test", beside --output, else in $TMPDIR),
 * which every rank then predicts from as from --data; it is removed at the end. The raw
 * file is held in memory as float32 features: --csv is meant for files of modest size. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nn_csv.h"
#include "nn_encode.h"
#include "nn_h5write.h"
#include "nn_report.h"
#include "predictor.h"

/* The reading of one raw file on rank 0. */
typedef struct {
    const char *path;
    FILE *f;
    nn_csv *csv;
    nn_encoder enc;
    int *map;          /* encoder column -> CSV column */
    long label;        /* the label's CSV column, or -1 */
    const char **rowf; /* a record's fields in encoder order */
    nn_rows rows;
    size_t cap, unseen, unseen_rows;
} raw_job;

static void job_free(raw_job *j)
{
    nn_csv_close(j->csv);
    if (j->f)
        fclose(j->f);
    nn_enc_free(&j->enc);
    free(j->map);
    free(j->rowf);
    nn_rows_free(&j->rows);
}

/* The header: every encoder column's position, and the label's when present. 0, or -1 with
 * err. */
static int map_header(raw_job *j, char *err, size_t errlen)
{
    const char *const *fld;
    size_t nf;
    int r = nn_csv_next(j->csv, &fld, &nf, err, errlen);
    if (r != NN_CSV_RECORD) {
        if (r == NN_CSV_EOF)
            snprintf(err, errlen, "--csv %s: no records; expected a header row naming the "
                     "model's columns, then data rows", j->path);
        return -1;
    }
    j->map = malloc((size_t)j->enc.ncol * sizeof *j->map);
    j->rowf = malloc((size_t)j->enc.ncol * sizeof *j->rowf);
    if (!j->map || !j->rowf) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    j->label = -1;
    for (size_t c = 0; j->enc.label && c < nf; c++)
        if (strcmp(fld[c], j->enc.label) == 0)
            j->label = (long)c;
    for (int k = 0; k < j->enc.ncol; k++) {
        j->map[k] = -1;
        for (size_t c = 0; c < nf && j->map[k] < 0; c++)
            if (strcmp(fld[c], j->enc.col[k].name) == 0)
                j->map[k] = (int)c;
        if (j->map[k] < 0) {
            char cols[512] = "";
            for (int i = 0; i < j->enc.ncol && strlen(cols) < 400; i++)
                snprintf(cols + strlen(cols), sizeof cols - strlen(cols), "%s'%.40s'",
                         i ? ", " : "", j->enc.col[i].name);
            snprintf(err, errlen, "--csv %s:%ld: no column '%.60s' in the header; expected "
                     "every column the model was trained on: %s%s",
                     j->path, nn_csv_line(j->csv), j->enc.col[k].name, cols,
                     strlen(cols) >= 400 ? ", ..." : "");
            return -1;
        }
    }
    return 0;
}

/* The label of a row: its class, or its number. 0, or -1 with err. */
static int row_label(raw_job *j, const char *s, size_t i, char *err, size_t errlen)
{
    if (j->enc.classify) {
        int c = nn_enc_class_of(&j->enc, s);
        if (c < 0) {
            snprintf(err, errlen, "--csv %s:%ld: column %ld ('%.60s'), the label: '%.40s' is "
                     "not one of the model's %d classes; expected one of them (or no label "
                     "column, for predictions only)",
                     j->path, nn_csv_line(j->csv), j->label, j->enc.label, s, j->enc.ncls);
            return -1;
        }
        j->rows.labels[i] = c;
        return 0;
    }
    double v;
    if (nn_csv_number(s, &v) != NN_NUM_OK) {
        snprintf(err, errlen, "--csv %s:%ld: column %ld ('%.60s'), the label: '%.40s' is not "
                 "a finite number; expected the target (or no label column, for predictions "
                 "only)",
                 j->path, nn_csv_line(j->csv), j->label, j->enc.label, s);
        return -1;
    }
    j->rows.targets[i] = (float)v;
    return 0;
}

/* Room for one more row (doubling). 0 or -1. */
static int grow(raw_job *j)
{
    if (j->rows.n < j->cap)
        return 0;
    size_t cap = j->cap ? 2 * j->cap : 1024;
    float *x = realloc(j->rows.x, cap * (size_t)j->enc.d * sizeof(float));
    if (!x)
        return -1;
    j->rows.x = x;
    if (j->label >= 0 && j->enc.classify) {
        int32_t *l = realloc(j->rows.labels, cap * sizeof *l);
        if (!l)
            return -1;
        j->rows.labels = l;
    } else if (j->label >= 0) {
        float *t = realloc(j->rows.targets, cap * sizeof *t);
        if (!t)
            return -1;
        j->rows.targets = t;
    }
    j->cap = cap;
    return 0;
}

/* One record encoded into row n. 0, or -1 with err. */
static int encode_row(raw_job *j, const char *const *fld, char *err, size_t errlen)
{
    size_t i = j->rows.n;
    if (grow(j) != 0) {
        snprintf(err, errlen, "--csv %s: out of memory at line %ld", j->path,
                 nn_csv_line(j->csv));
        return -1;
    }
    for (int k = 0; k < j->enc.ncol; k++)
        j->rowf[k] = fld[j->map[k]];
    int bad = 0;
    size_t before = j->unseen;
    nn_enc_status st = nn_enc_row(&j->enc, j->rowf, j->rows.x + i * (size_t)j->enc.d, &bad,
                                  &j->unseen);
    j->unseen_rows += j->unseen != before;
    if (st != NN_ENC_OK) {
        snprintf(err, errlen, "--csv %s:%ld: column %d ('%.60s'): '%.40s' %s", j->path,
                 nn_csv_line(j->csv), j->map[bad], j->enc.col[bad].name, j->rowf[bad],
                 st == NN_ENC_NOT_A_NUMBER
                     ? "is not a number; expected a number or a missing value (empty, or one "
                       "of the NA markers the importer used)"
                 : st == NN_ENC_NONFINITE
                     ? "is not finite; expected a number within float32's range"
                     : "is a missing value, and the model's data was imported with --impute "
                       "drop, which has no value to fill in; expected a number");
        return -1;
    }
    if (j->label >= 0 && row_label(j, fld[j->label], i, err, errlen) != 0)
        return -1;
    j->rows.n++;
    return 0;
}

/* Rank 0: the raw file into j->rows. 0, or -1 with err. */
static int read_raw(raw_job *j, const char *model, const char *encoder, char *err,
                    size_t errlen)
{
    char why[512];
    if (!encoder) {
        snprintf(err, errlen, "--csv needs a model trained on a file from nn-data import-csv "
                 "(its checkpoint carries /encoder); --model %s has none, so its features "
                 "must come as --data FILE.h5", model);
        return -1;
    }
    if (nn_enc_from_text(&j->enc, encoder, why, sizeof why) != 0) {
        snprintf(err, errlen, "--model: /encoder: %s", why);
        return -1;
    }
    if (!(j->f = fopen(j->path, "rb"))) {
        snprintf(err, errlen, "--csv %s: cannot open: %s", j->path, strerror(errno));
        return -1;
    }
    if (!(j->csv = nn_csv_open(j->f, j->path, ',')) || map_header(j, err, errlen) != 0) {
        if (!j->csv)
            snprintf(err, errlen, "out of memory");
        return -1;
    }
    j->rows.d = j->enc.d;
    j->rows.k = j->label >= 0 && !j->enc.classify ? 1 : 0;
    const char *const *fld;
    size_t nf;
    int r;
    while ((r = nn_csv_next(j->csv, &fld, &nf, err, errlen)) == NN_CSV_RECORD)
        if (encode_row(j, fld, err, errlen) != 0)
            return -1;
    if (r == NN_CSV_ERROR)
        return -1;
    if (j->rows.n == 0) {
        snprintf(err, errlen, "--csv %s: a header but no data rows; expected at least one row",
                 j->path);
        return -1;
    }
    return 0;
}

/* Rank 0: the temporary data file's name, beside --output or in $TMPDIR. */
static void temp_name(const predictor *p, char *buf, size_t len)
{
    const char *out = p->cfg.output, *slash = out ? strrchr(out, '/') : NULL;
    const char *tmp = getenv("TMPDIR");
    if (out)
        snprintf(buf, len, "%.*s.nn-predict-csv-%ld.h5", slash ? (int)(slash - out + 1) : 0, out,
                 (long)getpid());
    else
        snprintf(buf, len, "%s/.nn-predict-csv-%ld.h5", tmp && *tmp ? tmp : "/tmp",
                 (long)getpid());
}

/* Rank 0: the encoded rows as the temporary file's /test. 0, or -1 with err. */
static int write_temp(raw_job *j, const char *path, char *err, size_t errlen)
{
    nn_h5w *w = nn_h5w_create(path, err, errlen);
    if (!w)
        return -1;
    if (nn_h5w_put_rows(w, "test", &j->rows, err, errlen) != 0) {
        nn_h5w_abort(w);
        return -1;
    }
    return nn_h5w_commit(w, err, errlen);
}

int raw_csv_open(predictor *p)
{
    const nn_comm *c = p->comm;
    char err[ERRLEN] = "";
    int fail = 0;
    if (c->rank == 0) {
        raw_job j;
        memset(&j, 0, sizeof j);
        j.path = p->cfg.csv;
        temp_name(p, p->raw_path, sizeof p->raw_path);
        fail = read_raw(&j, p->cfg.model, p->pre.encoder, err, sizeof err) != 0 ||
               write_temp(&j, p->raw_path, err, sizeof err) != 0;
        if (!fail && !p->cfg.quiet)
            printf("raw rows  %s: %zu rows, %d columns encoded into %d features%s; %zu values "
                   "outside the training categories in %zu rows\n",
                   j.path, j.rows.n, j.enc.ncol, j.enc.d,
                   j.label >= 0 ? ", with the label" : ", no label column (predictions only)",
                   j.unseen, j.unseen_rows);
        if (fail)
            p->raw_path[0] = '\0';
        job_free(&j);
    }
    if (nn_fail(c, fail, err))
        return 1;
    nn_comm_bcast(c, p->raw_path, sizeof p->raw_path, 0);
    p->cfg.data = p->raw_path;
    p->cfg.split = "test";
    return 0;
}

void raw_csv_close(predictor *p)
{
    if (p->comm && p->comm->rank == 0 && p->raw_path[0])
        unlink(p->raw_path);
    p->raw_path[0] = '\0';
}
