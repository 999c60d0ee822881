/* json.c: strict JSON over jsmn's tokens (json.h). jsmn finds the tokens and their nesting;
 * check() walks them once, recursively (depth bounded by NN_JSON_MAX_DEPTH), and rejects what
 * jsmn lets through: wrong or missing separators, bad numbers and literals, control
 * characters in strings, keys that are not strings, more than one value. */
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JSMN_STATIC
#define JSMN_STRICT
#define JSMN_PARENT_LINKS
#include <jsmn.h>

#include "json.h"

#define TOK(j) ((const jsmntok_t *)(j)->tok)

typedef struct {
    const nn_json *j;
    char *err;
    size_t errlen;
} walk;

static int bad(walk *w, size_t at, const char *what)
{
    snprintf(w->err, w->errlen, "malformed JSON at byte %zu of %zu: %s", at, w->j->len, what);
    return -1;
}

/* Where a value's text starts and ends: jsmn's string tokens leave out the quotes. */
static size_t raw_start(const jsmntok_t *t) { return (size_t)t->start - (t->type == JSMN_STRING); }
static size_t raw_end(const jsmntok_t *t) { return (size_t)t->end + (t->type == JSMN_STRING); }

static int ws(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

/* s[a, b) is whitespace around exactly sep (0: no separator). */
static int sep_ok(walk *w, size_t a, size_t b, char sep)
{
    const char *s = w->j->s;
    if (b - a == (sep != 0) && (!sep || s[a] == sep)) /* the common case: nothing else */
        return 0;
    while (a < b && ws(s[a]))
        a++;
    if (sep) {
        if (a >= b || s[a] != sep) {
            char what[40];
            snprintf(what, sizeof what, "expected '%c'", sep);
            return bad(w, a, what);
        }
        a++;
        while (a < b && ws(s[a]))
            a++;
    }
    return a == b ? 0 : bad(w, a, sep ? "unexpected character after a separator"
                                      : "unexpected character");
}

/* A number's digits: the value is (neg ? -1 : 1) * m * 10^e10, with m the first 19
 * significant digits; inexact: a nonzero digit after those was dropped; big: the exponent's
 * digits say more than 100000 (beyond any float). */
typedef struct {
    uint64_t m;
    int e10, neg, inexact, big;
} decimal_t;

#define DIGIT(c) ((unsigned)((c) - '0') < 10u)

/* -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? over exactly [p, e), and its decimal: 1 when
 * the text is such a number, else 0. One pass for the grammar and the digits. */
static int scan_number(const char *p, const char *e, decimal_t *d)
{
    int nd = 0, n; /* significant digits taken */
    *d = (decimal_t){0};
    if (p < e && *p == '-')
        d->neg = 1, p++;
    if (p < e && *p == '0') {
        p++;
    } else {
        for (n = 0; p < e && DIGIT(*p); p++, n++) {
            if (nd < 19) {
                d->m = d->m * 10 + (uint64_t)(*p - '0');
                nd++; /* no leading zero here: the grammar allows none */
            } else {
                d->inexact |= *p != '0';
                d->e10++;
            }
        }
        if (!n)
            return 0;
    }
    if (p < e && *p == '.') {
        p++;
        for (n = 0; p < e && DIGIT(*p); p++, n++) {
            if (nd < 19) {
                d->m = d->m * 10 + (uint64_t)(*p - '0');
                d->e10--;
                nd += d->m != 0; /* zeros before the first nonzero digit only scale */
            } else {
                d->inexact |= *p != '0';
            }
        }
        if (!n)
            return 0;
    }
    if (p < e && (*p == 'e' || *p == 'E')) {
        int eneg = 0, x = 0;
        if (++p < e && (*p == '+' || *p == '-'))
            eneg = *p++ == '-';
        for (n = 0; p < e && DIGIT(*p); p++, n++)
            if (x <= 100000)
                x = x * 10 + (*p - '0');
        if (!n)
            return 0;
        d->big = x > 100000; /* then e10 is not the value's (the slow path reads the text) */
        d->e10 += eneg ? -x : x;
    }
    return p == e;
}

static float to_float(const nn_json *j, const jsmntok_t *t, const decimal_t *d);

/* A literal, or a number: then its nearest float32 goes in f32[i] (NaN: not a finite one). */
static int primitive_ok(walk *w, int i)
{
    const jsmntok_t *t = &TOK(w->j)[i];
    const char *p = w->j->s + t->start;
    size_t n = (size_t)(t->end - t->start);
    decimal_t d;
    if ((n == 4 && !memcmp(p, "true", 4)) || (n == 5 && !memcmp(p, "false", 5)) ||
        (n == 4 && !memcmp(p, "null", 4)))
        return 0;
    if (scan_number(p, p + n, &d)) {
        float f = to_float(w->j, t, &d);
        w->j->f32[i] = isfinite(f) ? f : NAN;
        return 0;
    }
    return bad(w, (size_t)t->start, "not a number, true, false or null");
}

static int string_ok(walk *w, const jsmntok_t *t)
{
    for (int i = t->start; i < t->end; i++)
        if ((unsigned char)w->j->s[i] < 0x20)
            return bad(w, (size_t)i, "a control character inside a string");
    return 0;
}

static int check(walk *w, int i, int depth);

/* The children of container i (an array's elements; an object's keys, each holding its
 * value), with their separators. Returns the token after i's subtree, or -1. */
static int children(walk *w, int i, int depth)
{
    const jsmntok_t *tk = TOK(w->j), *t = &tk[i];
    int obj = t->type == JSMN_OBJECT, k = i + 1;
    size_t prev = (size_t)t->start + 1;
    for (int c = 0; c < t->size; c++) {
        if (k >= w->j->n || sep_ok(w, prev, raw_start(&tk[k]), c ? ',' : 0) != 0)
            return k >= w->j->n ? bad(w, prev, "truncated") : -1;
        if (obj) {
            if (tk[k].type != JSMN_STRING)
                return bad(w, raw_start(&tk[k]), "a key that is not a string");
            if (tk[k].size != 1)
                return bad(w, raw_end(&tk[k]), "a key without ':' and a value");
            if (string_ok(w, &tk[k]) != 0)
                return -1;
            if (k + 1 >= w->j->n || sep_ok(w, raw_end(&tk[k]), raw_start(&tk[k + 1]), ':'))
                return -1;
            w->j->after[k] = -2; /* a key: its value follows */
            k++;
        }
        prev = raw_end(&tk[k]);
        if ((k = check(w, k, depth)) < 0)
            return -1;
    }
    if (sep_ok(w, prev, (size_t)t->end - 1, 0) != 0)
        return -1;
    return k;
}

/* Token i and its subtree: fills after[], returns the token after the subtree or -1. */
static int check(walk *w, int i, int depth)
{
    const jsmntok_t *t = &TOK(w->j)[i];
    int next;
    switch (t->type) {
    case JSMN_PRIMITIVE:
        if (t->size != 0) /* jsmn took it for a key */
            next = bad(w, (size_t)t->start, "a value followed by ':' (a key must be a string)");
        else
            next = primitive_ok(w, i) == 0 ? i + 1 : -1;
        break;
    case JSMN_STRING:
        next = t->size == 0 ? (string_ok(w, t) == 0 ? i + 1 : -1)
                            : bad(w, raw_end(t), "a string where a value was expected");
        break;
    case JSMN_OBJECT:
    case JSMN_ARRAY:
        if (depth >= NN_JSON_MAX_DEPTH) {
            char what[64];
            snprintf(what, sizeof what, "nested deeper than %d levels", NN_JSON_MAX_DEPTH);
            return bad(w, (size_t)t->start, what);
        }
        next = children(w, i, depth + 1);
        break;
    default:
        next = bad(w, (size_t)t->start, "an unknown token");
    }
    if (next >= 0)
        w->j->after[i] = next;
    return next;
}

/* An upper bound on the tokens of s: every value but the root follows a ',', ':', '[' or '{'
 * (counted inside strings too, which only raises the bound). One pass the compiler
 * vectorizes, and jsmn then parses once into an array of the right size. */
static size_t token_bound(const char *s, size_t len)
{
    size_t n = 1;
    for (size_t i = 0; i < len; i++)
        n += (s[i] == ',') | (s[i] == ':') | (s[i] == '[') | (s[i] == '{');
    return n;
}

/* jsmn's pass: tokens into j->tok. 0; 1 when jsmn stopped at an invalid character after
 * j->n tokens (err says where); -1 with err. */
static int tokenize(nn_json *j, walk *w)
{
    jsmn_parser p;
    size_t cap = token_bound(j->s, j->len);
    if (cap > UINT_MAX || !(j->tok = malloc(cap * sizeof(jsmntok_t))))
        return snprintf(w->err, w->errlen, "out of memory for %zu JSON tokens", cap), -1;
    jsmn_init(&p);
    int n = jsmn_parse(&p, j->s, j->len, j->tok, (unsigned)cap);
    if (n == JSMN_ERROR_PART)
        return bad(w, j->len, "the text ends inside a value (truncated?)");
    if (n < 0) {
        j->n = (int)p.toknext;
        return bad(w, p.pos, "invalid character"), 1;
    }
    if (n == 0)
        return bad(w, j->len, "no JSON value");
    j->n = n;
    return 0;
}

/* After an error: whether the first value was complete and valid, so that what failed is the
 * text after it (a second value, garbage, binary data); its end then goes in j->end. */
static void note_first_value(nn_json *j, int tokenized)
{
    char scratch[8];
    walk quiet = {j, scratch, sizeof scratch};
    const jsmntok_t *t = TOK(j);
    if (tokenized < 0 || j->n < 1 || t[0].end < 0)
        return;
    if (check(&quiet, 0, 0) >= 0)
        j->end = raw_end(&t[0]);
}

int nn_json_parse(nn_json *j, const char *s, size_t len, char *err, size_t errlen)
{
    memset(j, 0, sizeof *j);
    j->s = s;
    j->len = len;
    walk w = {j, err, errlen};
    if (len > INT_MAX / 2) {
        snprintf(err, errlen, "a JSON text of %zu bytes; at most %d are parsed", len, INT_MAX / 2);
        return -1;
    }
    int tk = tokenize(j, &w);
    if (tk >= 0 && (!(j->after = malloc((size_t)(j->n ? j->n : 1) * sizeof(int))) ||
                    !(j->f32 = malloc((size_t)(j->n ? j->n : 1) * sizeof(float)))))
        tk = -1, snprintf(err, errlen, "out of memory for %d JSON tokens", j->n);
    int end = tk == 0 ? check(&w, 0, 0) : -1;
    if (end >= 0 && end != j->n)
        end = bad(&w, raw_start(&TOK(j)[end]), "more than one JSON value");
    else if (end >= 0 && (sep_ok(&w, 0, raw_start(&TOK(j)[0]), 0) != 0 ||
                          sep_ok(&w, raw_end(&TOK(j)[0]), len, 0) != 0))
        end = -1;
    if (end < 0) {
        if (tk == 1 || (tk == 0 && j->n > 0))
            note_first_value(j, tk);
        size_t at = j->end;
        nn_json_free(j);
        j->end = at;
        return -1;
    }
    j->end = raw_end(&TOK(j)[0]);
    return 0;
}

void nn_json_free(nn_json *j)
{
    free(j->tok);
    free(j->after);
    free(j->f32);
    j->tok = NULL;
    j->after = NULL;
    j->f32 = NULL;
    j->n = 0;
}

nn_json_type nn_json_type_of(const nn_json *j, int v)
{
    if (v < 0 || v >= j->n)
        return NN_JSON_NONE;
    const jsmntok_t *t = &TOK(j)[v];
    switch (t->type) {
    case JSMN_OBJECT:
        return NN_JSON_OBJECT;
    case JSMN_ARRAY:
        return NN_JSON_ARRAY;
    case JSMN_STRING:
        return NN_JSON_STRING;
    case JSMN_PRIMITIVE:
        switch (j->s[t->start]) {
        case 't':
            return NN_JSON_TRUE;
        case 'f':
            return NN_JSON_FALSE;
        case 'n':
            return NN_JSON_NULL;
        default:
            return NN_JSON_NUMBER;
        }
    default:
        return NN_JSON_NONE;
    }
}

int nn_json_size(const nn_json *j, int v)
{
    nn_json_type ty = nn_json_type_of(j, v);
    return ty == NN_JSON_ARRAY || ty == NN_JSON_OBJECT ? TOK(j)[v].size : 0;
}

int nn_json_first(const nn_json *j, int v)
{
    return nn_json_type_of(j, v) == NN_JSON_ARRAY && TOK(j)[v].size > 0 ? v + 1 : -1;
}

int nn_json_next(const nn_json *j, int e)
{
    if (e < 0 || e >= j->n)
        return -1;
    int n = j->after[e]; /* a sibling, unless e was the last of its array */
    return n < j->n && TOK(j)[n].parent == TOK(j)[e].parent ? n : -1;
}

int nn_json_get(const nn_json *j, int v, const char *key)
{
    if (nn_json_type_of(j, v) != NN_JSON_OBJECT)
        return -1;
    size_t kl = strlen(key);
    int k = v + 1;
    for (int c = 0; c < TOK(j)[v].size; c++) {
        const jsmntok_t *t = &TOK(j)[k];
        if ((size_t)(t->end - t->start) == kl && !memcmp(j->s + t->start, key, kl))
            return k + 1;
        k = j->after[k + 1];
    }
    return -1;
}

int nn_json_is(const nn_json *j, int v, const char *text)
{
    if (nn_json_type_of(j, v) != NN_JSON_STRING)
        return 0;
    const jsmntok_t *t = &TOK(j)[v];
    size_t n = strlen(text);
    return (size_t)(t->end - t->start) == n && !memcmp(j->s + t->start, text, n);
}

size_t nn_json_raw(const nn_json *j, int v, size_t *at)
{
    const jsmntok_t *t = &TOK(j)[v];
    *at = raw_start(t);
    return raw_end(t) - *at;
}

/* Numbers: the digits as m * 10^e10 (scan_number), then Clinger's fast path where it is
 * exact, else the C library on a NUL-terminated copy. */
static const double pow10_exact[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                     1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                     1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

/* The C library's conversion (float: strtof, correctly rounded to float32) of a copy. */
static double slow_number(const nn_json *j, const jsmntok_t *t, int as_float)
{
    size_t n = (size_t)(t->end - t->start);
    char buf[128], *s = n < sizeof buf ? buf : malloc(n + 1);
    if (!s)
        return 0.0 / 0.0;
    memcpy(s, j->s + t->start, n);
    s[n] = 0;
    double d = as_float ? (double)strtof(s, NULL) : strtod(s, NULL);
    if (s != buf)
        free(s);
    return d;
}

static float to_float(const nn_json *j, const jsmntok_t *t, const decimal_t *d)
{
    if (d->m == 0 && !d->inexact)
        return d->neg ? -0.0f : 0.0f;
    if (!d->inexact && !d->big && d->e10 >= -22 && d->e10 <= 22) {
        /* within 2^-52 relative of the true value (two roundings at most, each 2^-53) */
        double v = d->e10 < 0 ? (double)d->m / pow10_exact[-d->e10]
                              : (double)d->m * pow10_exact[d->e10];
        uint64_t bits;
        memcpy(&bits, &v, sizeof bits);
        uint64_t low = bits & ((1ULL << 29) - 1); /* the bits float32 rounds away */
        int near_tie = low > (1ULL << 28) - 16 && low < (1ULL << 28) + 16;
        if (!near_tie && v >= FLT_MIN && v <= FLT_MAX)
            return d->neg ? -(float)v : (float)v; /* rounds as the true value would */
    }
    return (float)slow_number(j, t, 1);
}

double nn_json_number(const nn_json *j, int v)
{
    if (nn_json_type_of(j, v) != NN_JSON_NUMBER)
        return 0.0;
    const jsmntok_t *t = &TOK(j)[v];
    decimal_t d;
    scan_number(j->s + t->start, j->s + t->end, &d); /* valid: the parse checked it */
    if (d.m == 0 && !d.inexact)
        return d.neg ? -0.0 : 0.0;
    if (d.inexact || d.big || d.m > (1ULL << 53) || d.e10 < -22 || d.e10 > 22)
        return slow_number(j, t, 0);
    /* m and 10^|e10| are exact doubles: one correctly rounded operation */
    double x = d.e10 < 0 ? (double)d.m / pow10_exact[-d.e10] : (double)d.m * pow10_exact[d.e10];
    return d.neg ? -x : x;
}

size_t nn_json_floats(const nn_json *j, int arr, float *out, size_t n)
{
    const jsmntok_t *t = TOK(j);
    int e = nn_json_first(j, arr);
    for (size_t i = 0; i < n; i++, e = j->after[e]) {
        if (e < 0 || e >= j->n || t[e].type != JSMN_PRIMITIVE)
            return i;
        char c = j->s[t[e].start];
        if (c == 't' || c == 'f' || c == 'n' || isnan(j->f32[e]))
            return i;
        out[i] = j->f32[e];
    }
    return n;
}

int nn_json_float(const nn_json *j, int v, float *out)
{
    if (nn_json_type_of(j, v) != NN_JSON_NUMBER || isnan(j->f32[v]))
        return -1;
    *out = j->f32[v];
    return 0;
}
