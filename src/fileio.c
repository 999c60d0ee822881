/* fileio.c: durable writes shared by every writer (see nn_fileio.h). */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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
