/* fileio.c: durable writes shared by every writer (see nn_fileio.h). */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nn_args.h"
#include "nn_fileio.h"

int nn_fsync_file(const char *path)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return errno;
    int e = fsync(fd) != 0 ? errno : 0;
    close(fd);
    return e;
}

int nn_write_file(const char *path, const void *buf, size_t n)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        return errno;
    const char *p = buf;
    int e = 0;
    while (n > 0 && !e) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno != EINTR)
            e = errno;
        else if (w > 0) {
            p += w;
            n -= (size_t)w;
        }
    }
    if (!e && fsync(fd) != 0)
        e = errno;
    if (close(fd) != 0 && !e)
        e = errno;
    return e;
}

void nn_fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

int nn_rename_durable(const char *tmp, const char *path)
{
    if (rename(tmp, path) != 0)
        return errno;
    char *copy = strdup(path);
    if (copy) /* dirname may modify its argument */
        nn_fsync_dir(dirname(copy));
    free(copy);
    return 0;
}

int nn_same_file(const char *a, const char *b)
{
    struct stat sa, sb;
    return a && b && stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
           sa.st_ino == sb.st_ino;
}

/* ---- the input guard ---- */

static const int guard_signals[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL};
#define N_GUARD (sizeof guard_signals / sizeof guard_signals[0])
static char guard_prog[64];
static int guard_rank;
static char guard_msg[2048]; /* built when armed: the handler only writes it */
static size_t guard_len;
static int guard_depth;
static struct sigaction guard_old[N_GUARD];

static void guard_handler(int sig)
{
    (void)sig;
    ssize_t r = write(STDERR_FILENO, guard_msg, guard_len); /* async-signal-safe */
    (void)r;
    _exit(1);
}

void nn_input_guard_program(const char *prog, int rank)
{
    snprintf(guard_prog, sizeof guard_prog, "%s", prog ? prog : "");
    guard_rank = rank;
}

void nn_input_guard_arm(const char *path)
{
    if (!guard_prog[0])
        return;
    /* the path escaped as every error line escapes it (nn_put_escaped) */
    FILE *m = fmemopen(guard_msg, sizeof guard_msg, "w");
    if (m) {
        if (guard_rank > 0)
            fprintf(m, "%s: error [rank %d]: ", guard_prog, guard_rank);
        else
            fprintf(m, "%s: error: ", guard_prog);
        nn_put_escaped(path, m);
        fputs(": reading it crashed the HDF5 library; the file is damaged or not what it claims "
              "to be (nothing was written)\n", m);
        long n = ftell(m);
        fclose(m);
        guard_len = n > 0 && (size_t)n < sizeof guard_msg ? (size_t)n : strlen(guard_msg);
    }
    if (guard_depth++ > 0)
        return;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = guard_handler;
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < N_GUARD; i++)
        sigaction(guard_signals[i], &sa, &guard_old[i]);
}

void nn_input_guard_disarm(void)
{
    if (!guard_prog[0] || guard_depth == 0 || --guard_depth > 0)
        return;
    for (size_t i = 0; i < N_GUARD; i++)
        sigaction(guard_signals[i], &guard_old[i], NULL);
}
