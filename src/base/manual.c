/* manual.c: man pages and bash completion from the option tables (nn_manual.h). */
#include <stdio.h>
#include <string.h>

#include "nn_manual.h"

nn_manual_form nn_manual_asked(int argc, char **argv, int first)
{
    if (argc != first + 1)
        return NN_MANUAL_NONE;
    if (strcmp(argv[first], "--help-man") == 0)
        return NN_MANUAL_MAN;
    if (strcmp(argv[first], "--help-bash") == 0)
        return NN_MANUAL_BASH;
    return NN_MANUAL_NONE;
}

int nn_manual_main(const nn_manual *m, const nn_argspec *s, int argc, char **argv)
{
    switch (nn_manual_asked(argc, argv, 1)) {
    case NN_MANUAL_MAN:
        nn_manual_roff(m, s, stdout);
        return 0;
    case NN_MANUAL_BASH:
        nn_manual_bash(m->page, s, NULL, 0, stdout);
        return 0;
    default:
        return -1;
    }
}

/* ---- roff ---- */

/* s[0, n) as roff text: backslashes and minus signs escaped, and a control character ('.' or
 * '\'') at the start of a line made literal with \&. */
static void esc_n(FILE *out, const char *s, size_t n, int line_start)
{
    for (size_t i = 0; i < n; i++) {
        if (i == 0 && line_start && (s[i] == '.' || s[i] == '\''))
            fputs("\\&", out);
        if (s[i] == '\\')
            fputs("\\e", out);
        else if (s[i] == '-')
            fputs("\\-", out);
        else
            fputc(s[i], out);
    }
}

static void esc(FILE *out, const char *s, int line_start) { esc_n(out, s, strlen(s), line_start); }

/* Prose in the three forms of nn_manual.h. */
static void put_text(FILE *out, const char *text)
{
    int literal = 0, para = 0, started = 0;
    for (const char *p = text; *p;) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        const char *tab = memchr(p, '\t', n);
        int lit = n >= 2 && p[0] == ' ' && p[1] == ' ';
        if (literal && (n == 0 || !lit)) {
            fputs(".fi\n.RE\n", out);
            literal = 0;
        }
        if (n == 0) {
            para = started;
        } else if (lit) {
            if (!literal)
                fputs(para ? ".PP\n.RS 4\n.nf\n" : ".RS 4\n.nf\n", out);
            literal = 1;
            esc_n(out, p + 2, n - 2, 1);
            fputc('\n', out);
        } else if (tab) {
            fputs(".TP\n\\fB", out);
            esc_n(out, p, (size_t)(tab - p), 0);
            fputs("\\fR\n", out);
            esc_n(out, tab + 1, n - (size_t)(tab + 1 - p), 1);
            fputc('\n', out);
        } else {
            if (para)
                fputs(".PP\n", out);
            esc_n(out, p, n, 1);
            fputc('\n', out);
        }
        if (n)
            started = 1, para = 0;
        p += n + (nl != NULL);
    }
    if (literal)
        fputs(".fi\n.RE\n", out);
}

static void section(FILE *out, const char *title, const char *text)
{
    if (!text)
        return;
    fprintf(out, ".SH %s\n", title);
    put_text(out, text);
}

/* One row of the table: the flag and its value, the help, then what it takes. */
static void option(FILE *out, const nn_arg *o)
{
    fputs(".TP\n", out);
    if (o->short_name)
        fprintf(out, "\\fB\\-%c\\fR, ", o->short_name);
    fputs("\\fB\\-\\-", out);
    esc(out, o->name, 0);
    fputs("\\fR", out);
    if (o->metavar) {
        fputs(" \\fI", out);
        esc(out, o->metavar, 0);
        fputs("\\fR", out);
    }
    fputc('\n', out);
    esc(out, o->help, 1);
    fputs(".\n", out);
    if (o->choices) {
        fputs("One of: ", out);
        for (const char *c = o->choices; *c; c++)
            c[0] == '|' ? fputs(", ", out) : esc_n(out, c, 1, 0);
        fputs(".\n", out);
    }
    if ((o->type == NN_ARG_LONG || o->type == NN_ARG_DOUBLE) && (o->min != 0 || o->max != 0))
        fprintf(out, "From %.15g to %.15g.\n", o->min, o->max);
    if (o->required) {
        fputs("Required.\n", out);
    } else if (o->def) {
        fputs("Default: ", out);
        esc(out, o->def, 0);
        fputs(".\n", out);
    }
}

void nn_manual_roff(const nn_manual *m, const nn_argspec *s, FILE *out)
{
    fprintf(out, ".\\\" %s(1): written by the program's --help-man from its option table.\n",
            m->page);
    fputs(".TH \"", out);
    for (const char *c = m->page; *c; c++)
        fputc(*c >= 'a' && *c <= 'z' ? *c - 'a' + 'A' : *c, out);
    fprintf(out, "\" 1 \"\" \"nn-train %s\" \"User Commands\"\n.SH NAME\n", NN_VERSION);
    esc(out, m->page, 1);
    fputs(" \\- ", out);
    esc(out, m->purpose, 0);
    fputc('\n', out);
    section(out, "SYNOPSIS", m->synopsis);
    section(out, "DESCRIPTION", m->description);
    if (s && s->n) {
        fputs(".SH OPTIONS\n", out);
        for (size_t i = 0; i < s->n; i++)
            option(out, &s->args[i]);
    }
    section(out, "EXIT STATUS", m->exit_status);
    section(out, "ENVIRONMENT", m->environment);
    section(out, "FILES", m->files);
    section(out, "EXAMPLES", m->examples);
    section(out, "SEE ALSO", m->see_also);
}

/* ---- bash ---- */

/* The words of a "a|b|c" list, space separated. */
static void words(FILE *out, const char *list)
{
    for (const char *c = list; *c; c++)
        fputc(*c == '|' ? ' ' : *c, out);
}

/* The case arm that completes o's value, or nothing for a flag without one. */
static void value_arm(FILE *out, const char *fn, const nn_arg *o, const char *indent)
{
    const char *mv = o->metavar ? o->metavar : "";
    if (o->type == NN_ARG_FLAG)
        return;
    fputs(indent, out);
    if (o->short_name)
        fprintf(out, "-%c | ", o->short_name);
    fprintf(out, "--%s) ", o->name);
    if (o->choices) {
        fputs("COMPREPLY=($(compgen -W \"", out);
        words(out, o->choices);
        fputs("\" -- \"$cur\")) ;;\n", out);
    } else if (strncmp(mv, "FILE", 4) == 0) {
        const char *bar = strchr(mv, '|');
        size_t ext = mv[4] == '.' ? (bar ? (size_t)(bar - mv) : strlen(mv)) - 5 : 0;
        fprintf(out, "%s_files \"%.*s\" \"", fn, (int)ext, mv + 5);
        if (bar)
            words(out, bar + 1);
        fputs("\" ;;\n", out);
    } else if (strcmp(mv, "DIR") == 0) {
        fputs("compopt -o filenames 2>/dev/null; COMPREPLY=($(compgen -d -- \"$cur\")) ;;\n", out);
    } else {
        fputs(";; # a value: nothing to offer\n", out);
    }
}

/* Completes the flags of s and, where no flag wants a value, the positional argument of kind
 * pos (a metavar, or NULL when there is none). */
static void flags_body(FILE *out, const char *fn, const nn_argspec *s, const char *pos,
                       const char *indent)
{
    char arm[32];
    snprintf(arm, sizeof arm, "%s    ", indent);
    fprintf(out, "%scase $prev in\n", indent);
    for (size_t i = 0; i < s->n; i++)
        value_arm(out, fn, &s->args[i], arm);
    fprintf(out, "%s*)\n", arm);
    if (pos)
        fprintf(out, "%s    if [[ $cur != -* ]]; then\n%s        %s_files \"%s\" \"\"\n"
                     "%s        return\n%s    fi\n",
                arm, arm, fn, pos[4] == '.' ? pos + 5 : "", arm, arm);
    fprintf(out, "%s    COMPREPLY=($(compgen -W \"", arm);
    for (size_t i = 0; i < s->n; i++)
        fprintf(out, "%s--%s", i ? " " : "", s->args[i].name);
    fprintf(out, "\" -- \"$cur\")) ;;\n%sesac\n", indent);
}

void nn_manual_bash(const char *prog, const nn_argspec *s, const nn_command_spec *cmds, int n,
                    FILE *out)
{
    char fn[64];
    snprintf(fn, sizeof fn, "_%s", prog);
    for (char *c = fn; *c; c++)
        *c = *c == '-' ? '_' : *c;
    fprintf(out,
            "# bash completion for %s, written by %s --help-bash from its option table.\n"
            "\n"
            "# %s_files EXT WORDS: files ending in .EXT (any file when EXT is empty), the\n"
            "# directories to reach them, and the extra WORDS.\n"
            "%s_files()\n{\n"
            "    local IFS=$'\\n'\n"
            "    compopt -o filenames 2>/dev/null\n"
            "    if [ -z \"$1\" ]; then\n"
            "        COMPREPLY=($(compgen -f -- \"$cur\"))\n"
            "    else\n"
            "        COMPREPLY=($(compgen -d -- \"$cur\") $(compgen -f -X \"!*.$1\" -- \"$cur\"))\n"
            "    fi\n"
            "    [ -z \"$2\" ] || COMPREPLY+=($(IFS=' '; compgen -W \"$2\" -- \"$cur\"))\n"
            "}\n\n"
            "%s()\n{\n"
            "    local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]}\n"
            "    # --flag=value: bash splits it into --flag, = and value\n"
            "    if [ \"$cur\" = = ]; then\n"
            "        cur=\n"
            "    elif [ \"$prev\" = = ] && [ \"$COMP_CWORD\" -ge 2 ]; then\n"
            "        prev=${COMP_WORDS[COMP_CWORD - 2]}\n"
            "    fi\n"
            "    COMPREPLY=()\n",
            prog, prog, fn, fn, fn);
    if (n == 0) {
        flags_body(out, fn, s, NULL, "    ");
    } else {
        fputs("    local i cmd=\n"
              "    for ((i = 1; i < COMP_CWORD; i++)); do\n"
              "        [[ ${COMP_WORDS[i]} == -* ]] || { cmd=${COMP_WORDS[i]}; break; }\n"
              "    done\n"
              "    case $cmd in\n",
              out);
        for (int c = 0; c < n; c++) {
            fprintf(out, "    %s)\n", cmds[c].name);
            flags_body(out, fn, cmds[c].spec, cmds[c].positional, "        ");
            fputs("        ;;\n", out);
        }
        fputs("    *)\n        COMPREPLY=($(compgen -W \"", out);
        for (int c = 0; c < n; c++)
            fprintf(out, "%s ", cmds[c].name);
        for (size_t i = 0; s && i < s->n; i++)
            fprintf(out, "%s--%s", i ? " " : "", s->args[i].name);
        fputs("\" -- \"$cur\")) ;;\n    esac\n", out);
    }
    fprintf(out, "}\ncomplete -F %s %s\n", fn, prog);
}
