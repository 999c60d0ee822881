/* io.c: nn-predict's output files (nn_predict.h): the checks before any work, and the atomic
 * writers of the predictions, CSV here and HDF5 through the io layer (nn_predictions.h). */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "nn_fileio.h"
#include "nn_predict.h"

/* ---------------------------------------------------------------- checkpoint */


/* ---------------------------------------------------------------- output */

static void dir_of(const char *path, char *dir, size_t len)
{
    char buf[4096];
    snprintf(buf, sizeof buf, "%s", path);
    snprintf(dir, len, "%s", dirname(buf));
}

int nn_predict_check_output(const char *path, char *err, size_t errlen)
{
    char dir[4096];
    struct stat st;
    if (strlen(path) + 8 >= sizeof dir) {
        snprintf(err, errlen, "--output %s: path too long", path);
        return -1;
    }
    dir_of(path, dir, sizeof dir);
    const char *why = NULL;
    if (stat(dir, &st) != 0)
        why = strerror(errno);
    else if (!S_ISDIR(st.st_mode))
        why = "not a directory";
    else if (access(dir, W_OK | X_OK) != 0)
        why = strerror(errno);
    if (why) {
        snprintf(err, errlen, "--output %s: cannot write into directory %s: %s", path, dir, why);
        return -1;
    }
    if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "--output %s: is a %s; expected a file name", path,
                 S_ISDIR(st.st_mode) ? "directory" : "device, FIFO or socket (the rename would "
                                                     "replace it)");
        return -1;
    }
    return 0;
}

int nn_predict_close(FILE *f)
{
    int e = 0;
    if (fflush(f) != 0 || ferror(f))
        e = errno ? errno : EIO;
    else if (fsync(fileno(f)) != 0)
        e = errno;
    if (fclose(f) != 0 && !e)
        e = errno ? errno : EIO;
    return e;
}

int nn_predict_tmp_name(const char *path, char *tmp, size_t len, char *err, size_t errlen)
{
    if (snprintf(tmp, len, "%s.tmp", path) >= (int)len) {
        snprintf(err, errlen, "--output %s: path too long", path);
        return -1;
    }
    return 0;
}

int nn_predict_commit(const char *path, const char *tmp, int rc_of_write, char *err,
                      size_t errlen)
{
    int rc = rc_of_write;
    if (rc != 0) {
        snprintf(err, errlen, "--output %s: writing %s failed: %s", path, tmp,
                 rc > 0 ? strerror(rc) : "building the HDF5 file in memory failed (out of "
                                         "memory?)");
        unlink(tmp);
        return -1;
    }
    if ((rc = nn_rename_durable(tmp, path)) != 0) {
        snprintf(err, errlen, "--output %s: cannot rename %s into place: %s", path, tmp,
                 strerror(rc));
        unlink(tmp);
        return -1;
    }
    return 0;
}

/* 0, or the errno of the failed write, sync or close. */
static int write_csv(const char *tmp, const float *rec, size_t n, const nn_predictions_meta *m)
{
    FILE *f = fopen(tmp, "w");
    if (!f)
        return errno ? errno : EIO;
    int k = m->k, w = k + m->classify;
    fputs(m->classify ? "row,class" : "row", f);
    for (int j = 0; j < k; j++)
        fprintf(f, m->classify ? ",p%d" : ",y%d", j);
    fputc('\n', f);
    for (size_t i = 0; i < n && !ferror(f); i++) {
        const float *r = rec + i * (size_t)w; /* (w) */
        fprintf(f, "%zu", i);
        if (m->classify)
            fprintf(f, ",%d", (int)r[0]);
        for (int j = m->classify; j < w; j++)
            fprintf(f, ",%.9g", (double)r[j]);
        fputc('\n', f);
    }
    return nn_predict_close(f);
}

int nn_predict_write(const char *path, nn_out_kind kind, const float *rec, size_t n,
                     const nn_predictions_meta *meta, char *err, size_t errlen)
{
    char tmp[4096];
    if (nn_predict_tmp_name(path, tmp, sizeof tmp, err, errlen) != 0)
        return -1;
    int rc = kind == NN_OUT_CSV ? write_csv(tmp, rec, n, meta)
                                : nn_predictions_write_h5(tmp, rec, n, meta);
    return nn_predict_commit(path, tmp, rc, err, errlen);
}
