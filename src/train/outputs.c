/* outputs.c: what a run writes besides checkpoints. The checks that no output would replace
 * an input or another output, the checkpoint directory, and the CSV logs (--metrics,
 * --step-log): opened by rank 0 only after every input was checked, started anew by a fresh
 * run and continued by a resumed one, without the rows of the work it redoes. */
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nn_checkpoint.h"
#include "nn_fileio.h"
#include "train_internal.h"

static int mkdir_p(const char *dir)
{
    char buf[4096];
    if (snprintf(buf, sizeof buf, "%s", dir) >= (int)sizeof buf)
        return -1;
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, 0777) != 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    return (mkdir(buf, 0777) != 0 && errno != EEXIST) ? -1 : 0;
}

/* 1 if paths a and b name the same file, existing or not: the same device and inode, or the
 * same last component in the same directory. */
static int same_place(const char *a, const char *b)
{
    if (nn_same_file(a, b))
        return 1;
    char da[4096], db[4096];
    snprintf(da, sizeof da, "%s", a);
    snprintf(db, sizeof db, "%s", b);
    const char *ba = strrchr(a, '/') ? strrchr(a, '/') + 1 : a;
    const char *bb = strrchr(b, '/') ? strrchr(b, '/') + 1 : b;
    return strcmp(ba, bb) == 0 && nn_same_file(dirname(da), dirname(db));
}

/* 1 (with the message in err) if --metrics, --step-log or --trace is an input (--data,
 * --resume FILE), or --metrics and --step-log are the same: opening it would truncate or mix it. Compared by device and inode, so a
 * symlink or another spelling is caught; two logs also by name, before either exists. */
int nn_train_outputs_clash(const nn_config *cfg, char *err, size_t errlen)
{
    const char *resume = cfg->resume && strcmp(cfg->resume, "auto") != 0 ? cfg->resume : NULL;
    const struct {
        const char *flag, *path;
    } out[3] = {{"--metrics", cfg->metrics}, {"--step-log", cfg->step_log}, {"--trace", cfg->trace}},
      in[2] = {{"--data", cfg->data}, {"--resume", resume}};
    for (int i = 0; i < 3; i++) {
        for (int j = 0; out[i].path && j < 2; j++)
            if (in[j].path && nn_same_file(out[i].path, in[j].path)) {
                snprintf(err, errlen, "%s %s is the same file as %s %s; refusing to overwrite "
                         "an input", out[i].flag, out[i].path, in[j].flag, in[j].path);
                return 1;
            }
    }
    if (out[0].path && out[1].path && same_place(out[0].path, out[1].path)) {
        snprintf(err, errlen, "--step-log %s is the same file as --metrics %s; expected two "
                 "different files", out[1].path, out[0].path);
        return 1;
    }
    return 0;
}

/* The part of a log's header a file must begin with to be an nn-train log of that kind: the
 * first two column names ("epoch,train_loss,"); later columns have grown over versions. */
static int log_prefix(const char *header)
{
    const char *c = strchr(header, ',');
    c = c ? strchr(c + 1, ',') : NULL;
    return c ? (int)(c - header) + 1 : (int)strlen(header);
}

/* 1 if the file at path begins with header's prefix. */
static int is_log(const char *path, const char *header)
{
    char line[256] = "";
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    int ok = fgets(line, sizeof line, f) != NULL;
    fclose(f);
    return ok && strncmp(line, header, (size_t)log_prefix(header)) == 0;
}

/* Keeps the header and the rows whose first field is <= last, so a resumed run's CSV has no
 * rows from the work lost after the checkpoint. Rewritten through a temporary file. */
static int trim_log(const char *path, long last)
{
    FILE *in = fopen(path, "r");
    if (!in)
        return errno == ENOENT ? 0 : -1;
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *out = fopen(tmp, "w");
    if (!out) {
        fclose(in);
        return -1;
    }
    char line[4096];
    int first = 1;
    while (fgets(line, sizeof line, in)) {
        if (first || strtol(line, NULL, 10) <= last)
            fputs(line, out);
        first = 0;
    }
    fclose(in);
    int rc = fclose(out) == 0 && rename(tmp, path) == 0 ? 0 : -1;
    if (rc)
        unlink(tmp);
    return rc;
}

/* Rank 0 opens every output only after all inputs were checked: bad input writes nothing. */
int nn_train_open_outputs(nn_trainer *t, char *err, size_t errlen)
{
    const nn_config *cfg = &t->cfg;
    int fail = 0;
    if (t->comm->rank != 0)
        return 0;
    if (cfg->checkpoint_dir) {
        struct stat st;
        if (stat(cfg->checkpoint_dir, &st) == 0 && !S_ISDIR(st.st_mode)) {
            snprintf(err, errlen, "--checkpoint-dir %s: exists and is not a directory",
                     cfg->checkpoint_dir);
            fail = 1;
        } else if (mkdir_p(cfg->checkpoint_dir) != 0 || stat(cfg->checkpoint_dir, &st) != 0 ||
                   !S_ISDIR(st.st_mode) || access(cfg->checkpoint_dir, W_OK | X_OK) != 0) {
            snprintf(err, errlen, "--checkpoint-dir %s: cannot create or write to it: %s",
                     cfg->checkpoint_dir, strerror(errno));
            fail = 1;
        }
    }
    if (!fail && cfg->checkpoint_dir)
        nn_ckpt_clean_tmp(cfg->checkpoint_dir); /* left by a writer that was killed */
    /* A resumed run continues its logs: rows after the checkpoint (work that is being redone)
     * are dropped, the rest kept. A fresh run starts them anew. */
    const nn_ckpt_meta *ck = t->resume ? &t->resume->meta : NULL;
    struct {
        const char *path, *header;
        FILE **f;
        long keep_upto;
    } logs[2] = {
        {cfg->metrics,
         "epoch,train_loss,reg_loss,val_loss,val_accuracy,samples_per_sec,seconds,compute_s,"
         "allreduce_s,io_s,lr,optimizer_s,matmul_s,allreduce_max_s,energy_j,energy_source,"
         "cpu_s,co2e_g\n",
         &t->metrics, ck ? ck->epoch : 0},
        {cfg->step_log, "step,epoch,loss\n", &t->step_log, ck ? ck->step : 0},
    };
    for (int i = 0; i < 2 && !fail; i++) {
        if (!logs[i].path)
            continue;
        const char *flag = i == 0 ? "--metrics" : "--step-log";
        struct stat st;
        int append = ck && stat(logs[i].path, &st) == 0 && st.st_size > 0;
        /* A resumed run trims and continues its own log; any other file is left alone. */
        if (append && !is_log(logs[i].path, logs[i].header)) {
            snprintf(err, errlen, "%s %s: not an nn-train log (its first line does not start "
                     "with '%.*s'); expected the log of the run being resumed, or a new file",
                     flag, logs[i].path, log_prefix(logs[i].header), logs[i].header);
            fail = 1;
            break;
        }
        if (append && trim_log(logs[i].path, logs[i].keep_upto) != 0) {
            snprintf(err, errlen, "%s %s: cannot rewrite it: %s", flag, logs[i].path, strerror(errno));
            fail = 1;
            break;
        }
        *logs[i].f = fopen(logs[i].path, append ? "a" : "w");
        if (!*logs[i].f) {
            snprintf(err, errlen, "%s %s: cannot write: %s", flag, logs[i].path, strerror(errno));
            fail = 1;
        } else if (!append) {
            fputs(logs[i].header, *logs[i].f);
        }
    }
    if (!fail && cfg->trace && !(t->trace = fopen(cfg->trace, "w"))) { /* written at the end */
        snprintf(err, errlen, "--trace %s: cannot write: %s", cfg->trace, strerror(errno));
        fail = 1;
    }
    return fail ? -1 : 0;
}
