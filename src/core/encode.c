/* encode.c: the encoder of raw tabular records (nn_encode.h): numbers, one record to D floats,
 * the outputs' names, and the text form the encoder travels in. Pure: no I/O. */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn_encode.h"

/* ---------------------------------------------------------------- numbers */

static int blank(char ch) { return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n'; }

/* Clinger's fast path: a decimal with at most 19 digits whose integer mantissa m is below
 * 2^53 and whose power of ten |e| <= 22 is exactly m * 10^e or m / 10^-e in one correctly
 * rounded operation (both operands are exact doubles), i.e. what strtod returns. Anything
 * else (more digits, hex, nan, inf, big exponents) goes to strtod. Numeric CSV fields are
 * almost all of this kind, and strtod's general algorithm was most of the import time. */
static int fast_decimal(const char *s, double *v, const char **end)
{
    static const double p10[23] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                   1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                   1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
    const char *p = s;
    int neg = 0;
    if (*p == '-' || *p == '+')
        neg = *p++ == '-';
    uint64_t m = 0;
    int nd = 0, e = 0, any = 0;
    while (*p >= '0' && *p <= '9') {
        if (m == 0 && *p == '0') { /* leading zeros carry no digits */
            p++;
            any = 1;
            continue;
        }
        if (++nd > 19)
            return 0;
        m = m * 10 + (uint64_t)(*p++ - '0');
        any = 1;
    }
    if (*p == '.') {
        p++;
        while (*p >= '0' && *p <= '9') {
            any = 1;
            if (m == 0 && *p == '0') {
                p++;
                e--;
                continue;
            }
            if (++nd > 19)
                return 0;
            m = m * 10 + (uint64_t)(*p++ - '0');
            e--;
        }
    }
    if (!any)
        return 0;
    if (*p == 'e' || *p == 'E') {
        const char *q = p + 1;
        int eneg = 0, x = 0, nx = 0;
        if (*q == '-' || *q == '+')
            eneg = *q++ == '-';
        while (*q >= '0' && *q <= '9' && nx < 4) {
            x = x * 10 + (*q++ - '0');
            nx++;
        }
        if (nx == 0 || (*q >= '0' && *q <= '9'))
            return 0;
        e += eneg ? -x : x;
        p = q;
    }
    if (m > ((uint64_t)1 << 53) || e < -22 || e > 22)
        return 0;
    double r = (double)m;
    r = e < 0 ? r / p10[-e] : r * p10[e];
    *v = neg ? -r : r;
    *end = p;
    return 1;
}

int nn_enc_number(const char *s, double *v)
{
    while (blank(*s))
        s++;
    if (*s == '\0')
        return NN_ENC_NUM_EMPTY;
    const char *end;
    double x;
    int fast = fast_decimal(s, &x, &end);
    if (fast) {
        while (blank(*end))
            end++;
        fast = *end == '\0';
    }
    if (!fast) { /* not a plain decimal (or followed by more text): strtod decides */
        char *e;
        x = strtod(s, &e);
        if (e == s)
            return NN_ENC_NUM_BAD;
        while (blank(*e))
            e++;
        if (*e != '\0')
            return NN_ENC_NUM_BAD;
    }
    *v = x;
    return isfinite(x) ? NN_ENC_NUM_OK : NN_ENC_NUM_NONFINITE; /* overflow: +-HUGE_VAL */
}

/* ---------------------------------------------------------------- lifecycle */

void nn_enc_init(nn_encoder *e) { memset(e, 0, sizeof *e); }

static void strings_free(char **s, int n)
{
    for (int i = 0; s && i < n; i++)
        free(s[i]);
    free(s);
}

void nn_enc_free(nn_encoder *e)
{
    if (!e)
        return;
    for (int c = 0; e->col && c < e->ncol; c++) {
        free(e->col[c].name);
        strings_free(e->col[c].cat, e->col[c].ncat);
        free(e->col[c].order);
    }
    free(e->col);
    strings_free(e->na, e->nna);
    free(e->label);
    strings_free(e->cls, e->ncls);
    nn_enc_init(e);
}

typedef struct {
    const char *s;
    int i;
} keyed;

static int cmp_keyed(const void *a, const void *b)
{
    return strcmp(((const keyed *)a)->s, ((const keyed *)b)->s);
}

int nn_enc_layout(nn_encoder *e)
{
    int j = 0;
    for (int c = 0; c < e->ncol; c++) {
        nn_enc_col *k = &e->col[c];
        k->first = j;
        if (k->kind == NN_ENC_NUMERIC) {
            k->width = 1 + (k->indicator != 0);
        } else {
            k->width = k->ncat + (k->other != 0) + (k->missing != 0);
            free(k->order);
            k->order = malloc((size_t)(k->ncat ? k->ncat : 1) * sizeof *k->order);
            if (!k->order)
                return -1;
            keyed *tmp = malloc((size_t)(k->ncat ? k->ncat : 1) * sizeof *tmp);
            if (!tmp)
                return -1;
            for (int i = 0; i < k->ncat; i++)
                tmp[i] = (keyed){k->cat[i], i};
            qsort(tmp, (size_t)k->ncat, sizeof *tmp, cmp_keyed);
            for (int i = 0; i < k->ncat; i++)
                k->order[i] = tmp[i].i;
            free(tmp);
        }
        j += k->width;
    }
    e->d = j;
    return 0;
}

/* ---------------------------------------------------------------- one record */

/* s without its surrounding blanks, as [*b, *b + return). */
static size_t trimmed(const char *s, const char **b)
{
    while (blank(*s))
        s++;
    size_t n = strlen(s);
    while (n > 0 && blank(s[n - 1]))
        n--;
    *b = s;
    return n;
}

static int lower(int ch) { return ch >= 'A' && ch <= 'Z' ? ch - 'A' + 'a' : ch; }

int nn_enc_is_na(const nn_encoder *e, const char *s)
{
    const char *b;
    size_t n = trimmed(s, &b);
    if (n == 0)
        return 1;
    for (int i = 0; i < e->nna; i++) {
        const char *t = e->na[i];
        size_t m = strlen(t), k = 0;
        if (m != n)
            continue;
        while (k < n && lower((unsigned char)b[k]) == lower((unsigned char)t[k]))
            k++;
        if (k == n)
            return 1;
    }
    return 0;
}

/* The category of a value (blanks trimmed): its index in k->cat, or -1. */
static int find_cat(const nn_enc_col *k, const char *s)
{
    const char *b;
    size_t n = trimmed(s, &b);
    int lo = 0, hi = k->ncat;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        const char *c = k->cat[k->order[mid]];
        int r = strncmp(c, b, n);
        if (r == 0 && c[n] != '\0')
            r = 1;
        if (r < 0)
            lo = mid + 1;
        else if (r > 0)
            hi = mid;
        else
            return k->order[mid];
    }
    return -1;
}

static nn_enc_status numeric_field(const nn_enc_col *k, const char *s, int na, float *x)
{
    x[0] = 0.0f;
    if (k->indicator)
        x[1] = na ? 1.0f : 0.0f;
    if (na) {
        if (!k->has_fill)
            return NN_ENC_NO_FILL;
        x[0] = k->fill;
        return NN_ENC_OK;
    }
    double v;
    int r = nn_enc_number(s, &v);
    if (r == NN_ENC_NUM_BAD)
        return NN_ENC_NOT_A_NUMBER;
    if (r != NN_ENC_NUM_OK || fabs(v) > FLT_MAX)
        return NN_ENC_NONFINITE;
    x[0] = (float)v;
    return NN_ENC_OK;
}

nn_enc_status nn_enc_row(const nn_encoder *e, const char *const *f, float *x, int *bad,
                         size_t *unseen)
{
    for (int c = 0; c < e->ncol; c++) {
        const nn_enc_col *k = &e->col[c];
        float *o = x + k->first;
        int na = nn_enc_is_na(e, f[c]);
        if (k->kind == NN_ENC_NUMERIC) {
            nn_enc_status st = numeric_field(k, f[c], na, o);
            if (st != NN_ENC_OK) {
                *bad = c;
                return st;
            }
            continue;
        }
        memset(o, 0, (size_t)k->width * sizeof *o);
        int i = na ? -1 : find_cat(k, f[c]);
        if (i >= 0)
            o[i] = 1.0f;
        else if (na && k->missing)
            o[k->ncat + (k->other != 0)] = 1.0f;
        else {
            if (k->other)
                o[k->ncat] = 1.0f;
            if (unseen)
                (*unseen)++;
        }
    }
    return NN_ENC_OK;
}

const char *nn_enc_output_name(const nn_encoder *e, int j, char *buf, size_t len)
{
    snprintf(buf, len, "?");
    for (int c = 0; c < e->ncol; c++) {
        const nn_enc_col *k = &e->col[c];
        int i = j - k->first;
        if (i < 0 || i >= k->width)
            continue;
        if (k->kind == NN_ENC_NUMERIC)
            snprintf(buf, len, i == 0 ? "%s" : "%s=(missing)", k->name);
        else if (i < k->ncat)
            snprintf(buf, len, "%s=%s", k->name, k->cat[i]);
        else
            snprintf(buf, len, "%s=%s", k->name,
                     i == k->ncat && k->other ? "(other)" : "(missing)");
        break;
    }
    return buf;
}

int nn_enc_class_of(const nn_encoder *e, const char *s)
{
    double v, w;
    int num = nn_enc_number(s, &v) == NN_ENC_NUM_OK;
    for (int i = 0; i < e->ncls; i++)
        if (strcmp(e->cls[i], s) == 0 ||
            (num && nn_enc_number(e->cls[i], &w) == NN_ENC_NUM_OK && w == v))
            return i;
    return -1;
}

/* ---------------------------------------------------------------- the text form */

typedef struct {
    char *s;
    size_t n, cap;
    int oom;
} sbuf;

static void put(sbuf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->n + n + 1)
            cap *= 2;
        char *t = realloc(b->s, cap);
        if (!t) {
            b->oom = 1;
            return;
        }
        b->s = t;
        b->cap = cap;
    }
    memcpy(b->s + b->n, s, n);
    b->n += n;
    b->s[b->n] = '\0';
}

static void putf(sbuf *b, const char *fmt, double v)
{
    char t[64];
    int n = snprintf(t, sizeof t, fmt, v);
    put(b, t, (size_t)n);
}

/* A string as one token: bytes that would end or break it (blanks, controls, '%') as %XX;
 * the empty string as "%-". */
static void put_str(sbuf *b, const char *s)
{
    put(b, " ", 1);
    if (!*s)
        put(b, "%-", 2);
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch <= 0x20 || ch == 0x7f || ch == '%') {
            char t[4];
            snprintf(t, sizeof t, "%%%02X", ch);
            put(b, t, 3);
        } else {
            put(b, s, 1);
        }
    }
}

static void put_int(sbuf *b, const char *key, long v)
{
    put(b, " ", 1);
    put(b, key, strlen(key));
    putf(b, " %.0f", (double)v);
}

char *nn_enc_to_text(const nn_encoder *e)
{
    sbuf b = {0};
    put(&b, "nn-encoder 1\nna", 15);
    putf(&b, " %.0f", e->nna);
    for (int i = 0; i < e->nna; i++)
        put_str(&b, e->na[i]);
    if (e->label) {
        put(&b, "\nlabel", 6);
        put_str(&b, e->label);
        put(&b, e->classify ? " classify" : " regress", e->classify ? 9 : 8);
        if (e->classify) {
            putf(&b, " %.0f", e->ncls);
            for (int i = 0; i < e->ncls; i++)
                put_str(&b, e->cls[i]);
        }
    }
    for (int c = 0; c < e->ncol; c++) {
        const nn_enc_col *k = &e->col[c];
        if (k->kind == NN_ENC_NUMERIC) {
            put(&b, "\nnumeric", 8);
            put_str(&b, k->name);
            if (k->has_fill)
                putf(&b, " fill %.9g", (double)k->fill);
            else
                put(&b, " fill none", 10);
            put_int(&b, "indicator", k->indicator);
        } else {
            put(&b, "\ncategorical", 12);
            put_str(&b, k->name);
            put_int(&b, "other", k->other);
            put_int(&b, "missing", k->missing);
            put_int(&b, "categories", k->ncat);
            for (int i = 0; i < k->ncat; i++)
                put_str(&b, k->cat[i]);
        }
    }
    put(&b, "\nend\n", 5);
    if (b.oom) {
        free(b.s);
        return NULL;
    }
    return b.s;
}

/* A reader of whitespace-separated tokens. */
typedef struct {
    const char *p;
    char tok[4096];
    int bad;
} lexer;

static int hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* The next token, unescaped, in lx->tok (NULL at the end or on a malformed one). */
static const char *next(lexer *lx)
{
    while (blank(*lx->p))
        lx->p++;
    if (!*lx->p || lx->bad)
        return NULL;
    size_t n = 0;
    if (lx->p[0] == '%' && lx->p[1] == '-') {
        lx->p += 2;
        lx->tok[0] = '\0';
        return lx->tok;
    }
    while (*lx->p && !blank(*lx->p)) {
        unsigned v;
        char ch = *lx->p++;
        if (ch == '%') {
            if (!hex(lx->p[0]) || !hex(lx->p[1]) || sscanf(lx->p, "%2x", &v) != 1 || v == 0) {
                lx->bad = 1;
                return NULL;
            }
            ch = (char)v;
            lx->p += 2;
        }
        if (n + 1 >= sizeof lx->tok) {
            lx->bad = 1;
            return NULL;
        }
        lx->tok[n++] = ch;
    }
    lx->tok[n] = '\0';
    return lx->tok;
}

static int next_is(lexer *lx, const char *want)
{
    const char *t = next(lx);
    return t && strcmp(t, want) == 0;
}

/* A count in [lo, hi] into *v; 0 or -1. */
static int next_int(lexer *lx, long lo, long hi, int *v)
{
    const char *t = next(lx);
    char *end;
    if (!t)
        return -1;
    long x = strtol(t, &end, 10);
    if (end == t || *end || x < lo || x > hi)
        return -1;
    *v = (int)x;
    return 0;
}

/* n strings into a new array *out; 0 or -1. */
static int next_strings(lexer *lx, int n, char ***out)
{
    *out = calloc((size_t)(n ? n : 1), sizeof **out);
    if (!*out)
        return -1;
    for (int i = 0; i < n; i++) {
        const char *t = next(lx);
        if (!t || !((*out)[i] = strdup(t)))
            return -1;
    }
    return 0;
}

static int read_column(lexer *lx, nn_enc_col *k, int categorical)
{
    const char *t = next(lx);
    if (!t || !(k->name = strdup(t)))
        return -1;
    k->kind = categorical ? NN_ENC_CATEGORICAL : NN_ENC_NUMERIC;
    if (!categorical) {
        if (!next_is(lx, "fill") || !(t = next(lx)))
            return -1;
        if (strcmp(t, "none") != 0) {
            char *end;
            k->fill = strtof(t, &end);
            if (end == t || *end || !isfinite(k->fill))
                return -1;
            k->has_fill = 1;
        }
        return next_is(lx, "indicator") ? next_int(lx, 0, 1, &k->indicator) : -1;
    }
    if (!next_is(lx, "other") || next_int(lx, 0, 1, &k->other) != 0 ||
        !next_is(lx, "missing") || next_int(lx, 0, 1, &k->missing) != 0 ||
        !next_is(lx, "categories") || next_int(lx, 0, 1 << 24, &k->ncat) != 0)
        return -1;
    return next_strings(lx, k->ncat, &k->cat);
}

int nn_enc_from_text(nn_encoder *e, const char *text, char *err, size_t errlen)
{
    nn_enc_init(e);
    lexer lx = {.p = text};
    const char *t;
    const char *what = "the first line 'nn-encoder 1'";
    if (!next_is(&lx, "nn-encoder") || !next_is(&lx, "1"))
        goto bad;
    what = "the NA tokens";
    if (!next_is(&lx, "na") || next_int(&lx, 0, 1 << 20, &e->nna) != 0 ||
        next_strings(&lx, e->nna, &e->na) != 0)
        goto bad;
    int cap = 0;
    while ((t = next(&lx)) != NULL && strcmp(t, "end") != 0) {
        if (strcmp(t, "label") == 0) {
            what = "the label line";
            if (!(t = next(&lx)) || !(e->label = strdup(t)) || !(t = next(&lx)))
                goto bad;
            e->classify = strcmp(t, "classify") == 0;
            if (!e->classify && strcmp(t, "regress") != 0)
                goto bad;
            if (e->classify && (next_int(&lx, 1, 1 << 24, &e->ncls) != 0 ||
                                next_strings(&lx, e->ncls, &e->cls) != 0))
                goto bad;
            continue;
        }
        int categorical = strcmp(t, "categorical") == 0;
        what = "a column line";
        if (!categorical && strcmp(t, "numeric") != 0)
            goto bad;
        if (e->ncol == cap) {
            cap = cap ? 2 * cap : 16;
            nn_enc_col *n = realloc(e->col, (size_t)cap * sizeof *n);
            if (!n)
                goto bad;
            e->col = n;
        }
        memset(&e->col[e->ncol], 0, sizeof e->col[0]);
        e->ncol++;
        if (read_column(&lx, &e->col[e->ncol - 1], categorical) != 0)
            goto bad;
    }
    what = "the last line 'end'";
    if (!t || e->ncol == 0)
        goto bad;
    what = "memory";
    if (nn_enc_layout(e) != 0)
        goto bad;
    what = "a column with no outputs";
    for (int c = 0; c < e->ncol; c++)
        if (e->col[c].width == 0)
            goto bad;
    return 0;
bad:
    snprintf(err, errlen, "the encoder's text is malformed at %s (at byte %zu); expected the "
             "form nn-data import-csv writes (docs/tabular.md)",
             what, (size_t)(lx.p - text));
    nn_enc_free(e);
    return -1;
}
