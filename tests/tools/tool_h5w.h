/* tool_h5w.h: what make_data and predict_tool share to write data files through the io
 * layer's writer (nn_h5write.h): every failure ends the tool with one line on stderr,
 * "TOOL_NAME: message", exit status 1. Define TOOL_NAME before including it. */
#ifndef TOOL_H5W_H
#define TOOL_H5W_H

#include <stdio.h>
#include <stdlib.h>

#include "nn_h5write.h"

static void die(const char *msg)
{
    fprintf(stderr, "%s: %s\n", TOOL_NAME, msg);
    exit(1);
}

static nn_h5w *create_or_die(const char *path)
{
    char err[512];
    nn_h5w *w = nn_h5w_create(path, err, sizeof err);
    if (!w)
        die(err);
    return w;
}

/* Adds group /split holding r's rows to w, whole and contiguous (nn_h5w_put_rows). */
static void add_or_die(nn_h5w *w, const char *split, const nn_rows *r)
{
    char err[512];
    if (nn_h5w_put_rows(w, split, r, err, sizeof err) != 0) {
        nn_h5w_abort(w);
        die(err);
    }
}

static void commit_or_die(nn_h5w *w)
{
    char err[512];
    if (nn_h5w_commit(w, err, sizeof err) != 0)
        die(err);
}

#endif
