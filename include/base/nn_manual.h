/* nn_manual.h: the manual page and the shell completion of a program, made from the same option
 * table as its --help (nn_args.h), so that no form of the flags is kept by hand. Each program
 * answers two hidden flags, given alone: --help-man prints its man(7) page, --help-bash its bash
 * completion; the build writes both (cmake/Manuals.cmake) and installs them.
 *
 * The prose of a page is plain text with three forms, told apart by their lines:
 *   paragraphs, separated by an empty line;
 *   "  " at the start of a line: a literal line (a command), kept as it is;
 *   a tab in a line: "TERM\tTEXT", one entry of a list (exit statuses, variables, files).
 * roff's special characters need no care: the writer escapes them. */
#ifndef NN_MANUAL_H
#define NN_MANUAL_H

#include <stdio.h>

#include "nn_args.h"

typedef struct {
    const char *page;        /* "nn-train", "nn-data-import-csv": the page's name */
    const char *purpose;     /* the NAME line after the dash */
    const char *synopsis;    /* literal lines */
    const char *description; /* the sections, in man(7)'s order; NULL leaves one out */
    const char *exit_status;
    const char *environment;
    const char *files;
    const char *examples;
    const char *see_also;
} nn_manual;

/* One of the hidden flags, given alone after the program (and its command, when first > 1):
 * NN_MANUAL_NONE when argv asks for neither. */
typedef enum { NN_MANUAL_NONE, NN_MANUAL_MAN, NN_MANUAL_BASH } nn_manual_form;
nn_manual_form nn_manual_asked(int argc, char **argv, int first);

/* A program without commands: when argv is --help-man or --help-bash alone, prints page m or
 * the completion of s (the program's name is m's page name) and returns 0; else -1. */
int nn_manual_main(const nn_manual *m, const nn_argspec *s, int argc, char **argv);

/* The page: NAME, SYNOPSIS, DESCRIPTION, OPTIONS (every row of s: its value, choices, range,
 * default, required), then the other sections of m. s may be NULL (no OPTIONS). */
void nn_manual_roff(const nn_manual *m, const nn_argspec *s, FILE *out);

/* A command of a program that has them (nn-data): its name, its table, and the kind of its one
 * positional argument (a metavar as in nn_arg: "FILE.csv"), or NULL for none. */
typedef struct {
    const char *name;
    const nn_argspec *spec;
    const char *positional;
} nn_command_spec;

/* The completion script of program prog: its flags (s), or its commands (cmds, n > 0, then s
 * holds the flags before a command, --help say). A flag's value completes from the row:
 * choices ("a|b"), FILE.EXT (files of that extension and directories; "|word" adds the word),
 * FILE (any file), DIR (directories); any other value offers nothing. */
void nn_manual_bash(const char *prog, const nn_argspec *s, const nn_command_spec *cmds, int n,
                    FILE *out);

#endif
