/* explain_out.c: the parts of nn-predict's explanations that need no other rank (explain.h):
 * the --rows list, the --baseline file, the feature names and the output files. */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "explain.h"
#include "nn_fileio.h"
#include "nn_h5info.h"
#include "nn_h5table.h"

/* ---------------------------------------------------------------- inputs */

static int cmp_size(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return x < y ? -1 : x > y;
}

/* One number of a --rows item: digits only. 0 or -1. */
static int row_number(const char *s, const char *end, size_t *v)
{
    if (s == end)
        return -1;
    size_t r = 0;
    for (; s < end; s++) {
        if (*s < '0' || *s > '9' || r > (SIZE_MAX - 9) / 10)
            return -1;
        r = r * 10 + (size_t)(*s - '0');
    }
    *v = r;
    return 0;
}

int ex_parse_rows(const char *list, size_t n, size_t **sel, size_t *n_sel, char *err,
                  size_t errlen)
{
    size_t cap = 16, cnt = 0, *v;
    *sel = NULL;
    *n_sel = 0;
    if (!list) { /* every row */
        if (!(v = malloc((n ? n : 1) * sizeof *v)))
            goto oom;
        for (size_t i = 0; i < n; i++)
            v[i] = i;
        *sel = v;
        *n_sel = n;
        return 0;
    }
    if (!(v = malloc(cap * sizeof *v)))
        goto oom;
    for (const char *s = list; *s;) {
        const char *e = strchr(s, ','), *dash;
        if (!e)
            e = s + strlen(s);
        size_t a, b;
        for (dash = s; dash < e && *dash != '-'; dash++)
            ;
        int bad = dash < e ? row_number(s, dash, &a) || row_number(dash + 1, e, &b)
                           : row_number(s, e, &a) || (b = a, 0);
        if (bad || a > b || b >= n) {
            snprintf(err, errlen, "--rows %s: item '%.*s': expected a row number or a range A-B "
                     "with A <= B, below the split's %zu rows (e.g. 0,5,10-19)",
                     list, (int)(e - s), s, n);
            free(v);
            return -1;
        }
        for (size_t r = a; r <= b; r++) {
            if (cnt == cap) {
                size_t *t = realloc(v, 2 * cap * sizeof *v);
                if (!t) {
                    free(v);
                    goto oom;
                }
                v = t;
                cap *= 2;
            }
            v[cnt++] = r;
        }
        s = *e ? e + 1 : e;
    }
    qsort(v, cnt, sizeof *v, cmp_size);
    size_t u = 0;
    for (size_t i = 0; i < cnt; i++)
        if (u == 0 || v[i] != v[u - 1])
            v[u++] = v[i];
    if (u == 0) {
        snprintf(err, errlen, "--rows '%s': no rows; expected e.g. 0,5,10-19", list);
        free(v);
        return -1;
    }
    *sel = v;
    *n_sel = u;
    return 0;
oom:
    snprintf(err, errlen, "--rows: out of memory");
    return -1;
}

int ex_read_baseline(const char *path, int D, float *base, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "--baseline %s: cannot open: %s (expected mean, zero or a file "
                 "of %d numbers)", path, strerror(errno), D);
        return -1;
    }
    int n = 0, c, bad = 0;
    char tok[128];
    size_t len = 0;
    do {
        c = fgetc(f);
        if (c == EOF || c == ',' || c == ' ' || c == '\t' || c == '\n' || c == '\r') {
            if (len == 0)
                continue;
            tok[len] = 0;
            len = 0;
            char *end;
            double v = strtod(tok, &end);
            if (*end || !isfinite(v) || fabs(v) > 3.4e38) {
                snprintf(err, errlen, "--baseline %s: value %d '%s' is not a finite number; "
                         "expected %d numbers in the raw features' units", path, n + 1, tok, D);
                bad = 1;
                break;
            }
            if (n < D)
                base[n] = (float)v;
            n++;
        } else if (len + 1 < sizeof tok) {
            tok[len++] = (char)c;
        }
    } while (c != EOF);
    fclose(f);
    if (!bad && n != D) {
        snprintf(err, errlen, "--baseline %s: %d numbers; expected %d, one per feature of the "
                 "model's input", path, n, D);
        bad = 1;
    }
    return bad ? -1 : 0;
}

void ex_names_free(char **names, int D)
{
    if (!names)
        return;
    for (int j = 0; j < D; j++)
        free(names[j]);
    free(names);
}

char **ex_feature_names(const char *data, int D, int *from_meta)
{
    char **meta = NULL;
    size_t n = 0;
    *from_meta = 0;
    /* read defensively: a missing, unreadable or mis-sized list falls back to f0.. */
    if (nn_h5_read_strings(data, "/meta/feature_names", &meta, &n) == 0 && n == (size_t)D) {
        int ok = 1;
        for (int j = 0; j < D && ok; j++)
            ok = meta[j] && meta[j][0];
        if (ok) {
            *from_meta = 1;
            return meta;
        }
    }
    nn_h5_strings_free(meta, n);
    char **v = calloc((size_t)(D ? D : 1), sizeof *v);
    for (int j = 0; v && j < D; j++) {
        char b[32];
        snprintf(b, sizeof b, "f%d", j);
        if (!(v[j] = strdup(b))) {
            ex_names_free(v, D);
            return NULL;
        }
    }
    return v;
}

/* ---------------------------------------------------------------- outputs */

/* A CSV field, quoted (RFC 4180) when it holds a comma, a quote or a line break. */
static void put_field(FILE *f, const char *s)
{
    if (!strpbrk(s, ",\"\r\n")) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

static int attr_csv(const char *tmp, const ex_meta *m, const size_t *rows, const float *rec,
                    size_t n)
{
    FILE *f = fopen(tmp, "w");
    if (!f)
        return errno ? errno : EIO;
    int ig = strcmp(m->method, "ig") == 0, W = EX_HEAD + m->D;
    fputs(ig ? "row,class,f_x,f_baseline,attr_sum,gap" : "row,class,f_x", f);
    for (int j = 0; j < m->D; j++) {
        fputc(',', f);
        put_field(f, m->names[j]);
    }
    fputc('\n', f);
    for (size_t i = 0; i < n && !ferror(f); i++) {
        const float *r = rec + i * (size_t)W;
        fprintf(f, "%zu,%d,%.9g", rows[i], (int)r[EX_CLASS], (double)r[EX_FX]);
        if (ig)
            fprintf(f, ",%.9g,%.9g,%.9g", (double)r[EX_FB], (double)r[EX_SUM],
                    (double)r[EX_GAP]);
        for (int j = 0; j < m->D; j++)
            fprintf(f, ",%.9g", (double)r[EX_HEAD + j]);
        fputc('\n', f);
    }
    return nn_predict_close(f);
}

static void now_utc(char *when, size_t len)
{
    time_t now = time(NULL);
    struct tm tmv;
    strftime(when, len, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&now, &tmv));
}

/* The root attributes both HDF5 files carry; returns how many were filled into a. */
static int common_attrs(const ex_meta *m, nn_h5t_attr *a, char *when, size_t len)
{
    now_utc(when, len);
    int n = 0;
    a[n++] = (nn_h5t_attr){"format_version", NN_H5T_I64, NULL, 1};
    a[n++] = (nn_h5t_attr){"program", 0, "nn-predict", 0};
    a[n++] = (nn_h5t_attr){"program_version", 0, NN_VERSION, 0};
    a[n++] = (nn_h5t_attr){"method", 0, m->method, 0};
    a[n++] = (nn_h5t_attr){"model", 0, m->model, 0};
    a[n++] = (nn_h5t_attr){"data", 0, m->data, 0};
    a[n++] = (nn_h5t_attr){"split", 0, m->split, 0};
    a[n++] = (nn_h5t_attr){"world_size", NN_H5T_I64, NULL, m->world};
    a[n++] = (nn_h5t_attr){"feature_names_from", 0, m->names_from_meta ? "/meta/feature_names"
                                                                      : "f0..fD-1", 0};
    a[n++] = (nn_h5t_attr){"created", 0, when, 0};
    return n;
}

static int attr_h5(const char *tmp, const ex_meta *m, const size_t *rows, const float *rec,
                   size_t n)
{
    const int D = m->D, W = EX_HEAD + D, ig = strcmp(m->method, "ig") == 0;
    float *attr = malloc((n ? n : 1) * (size_t)D * sizeof(float));
    float *col = malloc((n ? n : 1) * 4 * sizeof(float));
    int32_t *cls = malloc((n ? n : 1) * sizeof(int32_t));
    int64_t *row = malloc((n ? n : 1) * sizeof(int64_t));
    int rc = -1;
    if (attr && col && cls && row) {
        for (size_t i = 0; i < n; i++) {
            const float *r = rec + i * (size_t)W;
            memcpy(attr + i * (size_t)D, r + EX_HEAD, (size_t)D * sizeof(float));
            cls[i] = (int32_t)r[EX_CLASS];
            row[i] = (int64_t)rows[i];
            for (int c = 0; c < 4; c++)
                col[(size_t)c * n + i] = r[EX_FX + c];
        }
        nn_h5t_dset d[10];
        int nd = 0;
        d[nd++] = (nn_h5t_dset){"attributions", NN_H5T_F32, n, (size_t)D, attr};
        d[nd++] = (nn_h5t_dset){"rows", NN_H5T_I64, n, 0, row};
        d[nd++] = (nn_h5t_dset){"classes", NN_H5T_I32, n, 0, cls};
        d[nd++] = (nn_h5t_dset){"f_x", NN_H5T_F32, n, 0, col};
        if (ig) {
            d[nd++] = (nn_h5t_dset){"f_baseline", NN_H5T_F32, n, 0, col + n};
            d[nd++] = (nn_h5t_dset){"attr_sum", NN_H5T_F32, n, 0, col + 2 * n};
            d[nd++] = (nn_h5t_dset){"gap", NN_H5T_F32, n, 0, col + 3 * n};
            d[nd++] = (nn_h5t_dset){"baseline", NN_H5T_F32, (size_t)D, 0, m->base};
        }
        d[nd++] = (nn_h5t_dset){"feature_names", NN_H5T_STR, (size_t)D, 0, m->names};
        nn_h5t_attr a[16];
        char when[32];
        int na = common_attrs(m, a, when, sizeof when);
        a[na++] = (nn_h5t_attr){"target", 0, m->target, 0};
        if (ig) {
            a[na++] = (nn_h5t_attr){"ig_method", 0, m->ig_method, 0};
            a[na++] = (nn_h5t_attr){"steps", NN_H5T_I64, NULL, m->steps};
            a[na++] = (nn_h5t_attr){"baseline_from", 0, m->baseline, 0};
        }
        rc = nn_h5_table_write(tmp, d, nd, a, na);
    }
    free(attr);
    free(col);
    free(cls);
    free(row);
    return rc;
}

int ex_write_attributions(const char *path, nn_out_kind kind, const ex_meta *m,
                          const size_t *rows, const float *rec, size_t n, char *err,
                          size_t errlen)
{
    char tmp[4096];
    if (nn_predict_tmp_name(path, tmp, sizeof tmp, err, errlen) != 0)
        return -1;
    int rc = kind == NN_OUT_CSV ? attr_csv(tmp, m, rows, rec, n) : attr_h5(tmp, m, rows, rec, n);
    return nn_predict_commit(path, tmp, rc, err, errlen);
}

static const double *rank_key;
static int cmp_rank(const void *a, const void *b)
{
    int i = *(const int *)a, j = *(const int *)b;
    double x = rank_key[i], y = rank_key[j];
    if (x != y)
        return x > y ? -1 : 1;
    return i < j ? -1 : i > j;
}

void ex_rank(const double *imp, int D, int *order)
{
    for (int j = 0; j < D; j++)
        order[j] = j;
    rank_key = imp; /* (qsort has no context argument; single-threaded here) */
    qsort(order, (size_t)D, sizeof *order, cmp_rank);
}

int ex_write_importance(const char *path, nn_out_kind kind, const ex_meta *m,
                        const double *imp, const double *spread, size_t n_rows, char *err,
                        size_t errlen)
{
    char tmp[4096];
    if (nn_predict_tmp_name(path, tmp, sizeof tmp, err, errlen) != 0)
        return -1;
    const int D = m->D;
    int *order = malloc((size_t)(D ? D : 1) * sizeof *order), rc;
    if (!order) {
        snprintf(err, errlen, "--output %s: out of memory", path);
        return -1;
    }
    ex_rank(imp, D, order);
    if (kind == NN_OUT_CSV) {
        FILE *f = fopen(tmp, "w");
        rc = f ? 0 : (errno ? errno : EIO);
        if (f) {
            fputs("rank,feature,name,importance,spread\n", f);
            for (int r = 0; r < D && !ferror(f); r++) {
                fprintf(f, "%d,%d,", r + 1, order[r]);
                put_field(f, m->names[order[r]]);
                fprintf(f, ",%.9g,%.9g\n", imp[order[r]], spread[order[r]]);
            }
            rc = nn_predict_close(f);
        }
    } else {
        int32_t *rk = malloc((size_t)(D ? D : 1) * sizeof *rk);
        rc = -1;
        if (rk) {
            for (int r = 0; r < D; r++)
                rk[r] = order[r];
            nn_h5t_dset d[] = {
                {"importance", NN_H5T_F64, (size_t)D, 0, imp},
                {"spread", NN_H5T_F64, (size_t)D, 0, spread},
                {"order", NN_H5T_I32, (size_t)D, 0, rk},
                {"feature_names", NN_H5T_STR, (size_t)D, 0, m->names},
            };
            nn_h5t_attr a[16];
            char when[32];
            int na = common_attrs(m, a, when, sizeof when);
            a[na++] = (nn_h5t_attr){"metric", 0, m->metric, 0};
            a[na++] = (nn_h5t_attr){"rows", NN_H5T_I64, NULL, (double)n_rows};
            if (strcmp(m->method, "permutation") == 0)
                a[na++] = (nn_h5t_attr){"repeats", NN_H5T_I64, NULL, m->repeats};
            else {
                a[na++] = (nn_h5t_attr){"ig_method", 0, m->ig_method, 0};
                a[na++] = (nn_h5t_attr){"steps", NN_H5T_I64, NULL, m->steps};
            }
            rc = nn_h5_table_write(tmp, d, 4, a, na);
            free(rk);
        }
    }
    free(order);
    return nn_predict_commit(path, tmp, rc, err, errlen);
}
