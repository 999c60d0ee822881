/* args.c: the table-driven command-line parser and --help printer (see nn_args.h). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn_args.h"

static int in_choices(const char *v, const char *choices)
{
    size_t n = strlen(v);
    for (const char *p = choices; *p;) {
        const char *bar = strchr(p, '|');
        size_t len = bar ? (size_t)(bar - p) : strlen(p);
        if (len == n && strncmp(p, v, n) == 0)
            return 1;
        p += len + (bar != NULL);
    }
    return 0;
}

static int set_value(void *base, const nn_arg *o, const char *v, char *err, size_t errlen)
{
    char *dst = (char *)base + o->offset;
    char *end;
    errno = 0;
    switch (o->type) {
    case NN_ARG_STR:
        if (o->choices && !in_choices(v, o->choices)) {
            snprintf(err, errlen, "--%s '%s': expected one of %s", o->name, v, o->choices);
            return -1;
        }
        if (*v == '\0') {
            snprintf(err, errlen, "--%s: expected a non-empty %s", o->name, o->metavar);
            return -1;
        }
        *(const char **)dst = v;
        return 0;
    case NN_ARG_LONG: {
        long long x = strtoll(v, &end, 10);
        if (end == v || *end || errno || x < o->min || (double)x > o->max) {
            snprintf(err, errlen, "--%s '%s': expected an integer in [%.0f, %.0f]", o->name, v,
                     o->min, o->max);
            return -1;
        }
        *(long *)dst = (long)x;
        return 0;
    }
    case NN_ARG_DOUBLE: {
        double x = strtod(v, &end);
        if (end == v || *end || errno || !isfinite(x) || x < o->min || x > o->max) {
            snprintf(err, errlen, "--%s '%s': expected a number in [%g, %g]", o->name, v, o->min,
                     o->max);
            return -1;
        }
        *(double *)dst = x;
        return 0;
    }
    case NN_ARG_FLAG:
        *(int *)dst = 1;
        return 0;
    }
    return -1;
}

int nn_args_parse(const nn_argspec *s, void *base, unsigned char *given, int argc, char **argv,
                  int first, char *err, size_t errlen)
{
    memset(given, 0, s->n);
    for (size_t i = 0; i < s->n; i++)
        if (s->args[i].def && set_value(base, &s->args[i], s->args[i].def, err, errlen) != 0)
            return -1; /* a bad default is a programming error; the tests catch it */
    for (int a = first; a < argc; a++) {
        const char *arg = argv[a], *eq = NULL;
        const nn_arg *o = NULL;
        if (strncmp(arg, "--", 2) == 0 && arg[2]) {
            const char *name = arg + 2;
            eq = strchr(name, '=');
            size_t len = eq ? (size_t)(eq - name) : strlen(name);
            for (size_t i = 0; i < s->n; i++)
                if (strlen(s->args[i].name) == len && strncmp(s->args[i].name, name, len) == 0)
                    o = &s->args[i];
            if (!o) {
                snprintf(err, errlen, "unknown flag '%.*s' (see %s --help)", (int)len + 2, arg,
                         s->prog);
                return -1;
            }
        } else if (arg[0] == '-' && arg[1] && !arg[2] && !(arg[1] >= '0' && arg[1] <= '9')) {
            for (size_t i = 0; i < s->n; i++)
                if (s->args[i].short_name && s->args[i].short_name == arg[1])
                    o = &s->args[i];
            if (!o) {
                snprintf(err, errlen, "unknown flag '%s' (see %s --help)", arg, s->prog);
                return -1;
            }
        } else {
            if (!s->positional || *s->positional) {
                snprintf(err, errlen, "unexpected argument '%s' (flags start with --; see %s "
                         "--help)", arg, s->prog);
                return -1;
            }
            *s->positional = arg;
            continue;
        }
        const char *val = NULL;
        if (o->type == NN_ARG_FLAG) {
            if (eq) {
                snprintf(err, errlen, "--%s takes no value", o->name);
                return -1;
            }
        } else if (eq) {
            val = eq + 1;
        } else if (a + 1 < argc && strncmp(argv[a + 1], "--", 2) != 0) {
            val = argv[++a]; /* a following "--flag" means this one's value was forgotten */
        } else {
            snprintf(err, errlen, "--%s: missing value (expected %s)", o->name, o->metavar);
            return -1;
        }
        if (set_value(base, o, val, err, errlen) != 0)
            return -1;
        given[o - s->args] = 1;
    }
    if (nn_args_given(s, given, "help") || nn_args_given(s, given, "version"))
        return 0;
    for (size_t i = 0; i < s->n; i++)
        if (s->args[i].required && !given[i]) {
            snprintf(err, errlen, "%s needs --%s %s (see %s --help)", s->prog, s->args[i].name,
                     s->args[i].metavar ? s->args[i].metavar : "", s->prog);
            return -1;
        }
    return 0;
}

int nn_args_given(const nn_argspec *s, const unsigned char *given, const char *name)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->args[i].name, name) == 0)
            return given[i];
    return 0;
}

const nn_arg *nn_args_find(const nn_argspec *s, const char *name)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->args[i].name, name) == 0)
            return &s->args[i];
    return NULL;
}

void nn_args_usage(const nn_argspec *s, FILE *out)
{
    for (size_t i = 0; i < s->n; i++) {
        const nn_arg *o = &s->args[i];
        char left[80];
        snprintf(left, sizeof left, "%s%c%s--%s%s%s", o->short_name ? "-" : " ",
                 o->short_name ? o->short_name : ' ', o->short_name ? ", " : "  ", o->name,
                 o->metavar ? " " : "", o->metavar ? o->metavar : "");
        fprintf(out, "  %-28s %s", left, o->help);
        if (o->choices)
            fprintf(out, " (%s)", o->choices);
        if (o->required)
            fprintf(out, " [required]");
        else if (o->def)
            fprintf(out, " [%s]", o->def);
        else if (o->type == NN_ARG_FLAG)
            fprintf(out, " [off]");
        else
            fprintf(out, " [none]");
        fputc('\n', out);
    }
}

/* The length of the valid UTF-8 sequence at p (2 to 4 bytes), or 0: shortest form, no
 * surrogates, at most U+10FFFF. */
static int utf8_len(const unsigned char *p)
{
    unsigned c = p[0];
    int n = c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
    for (int i = 1; i < n; i++)
        if ((p[i] & 0xc0) != 0x80)
            return 0;
    if ((c == 0xe0 && p[1] < 0xa0) || (c == 0xed && p[1] > 0x9f) || (c == 0xf0 && p[1] < 0x90) ||
        (c == 0xf4 && p[1] > 0x8f))
        return 0;
    return n;
}

void nn_put_escaped(const char *s, FILE *out)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        int n = *p >= 0x80 ? utf8_len(p) : 1;
        int bom = n == 3 && p[0] == 0xef && p[1] == 0xbb && p[2] == 0xbf;
        if (*p < 0x20 || *p == 0x7f || n == 0 || bom) {
            fprintf(out, "\\x%02x", *p);
            p++;
        } else {
            fwrite(p, 1, (size_t)n, out);
            p += n;
        }
    }
}

void nn_print_error(const char *prog, int rank, const char *msg)
{
    if (rank > 0)
        fprintf(stderr, "%s: error [rank %d]: ", prog, rank);
    else
        fprintf(stderr, "%s: error: ", prog);
    nn_put_escaped(msg, stderr);
    fputc('\n', stderr);
    fflush(stderr);
}

int nn_name_index(const char *const *names, int n, const char *s)
{
    for (int i = 0; i < n; i++)
        if (strcmp(s, names[i]) == 0)
            return i;
    return -1;
}
