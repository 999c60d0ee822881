/* registry.c: the model being served, and live updates. Each request holds a reference to the
 * model it started with until its answer is written; a reload reads and verifies the new
 * checkpoint beside the old one (nn_serve_model_load: the checks of nn-train --verify), refuses
 * it when it is damaged or does not take and give what the served one does, and otherwise
 * swaps the pointer. The old model is freed by whoever lets go of it last, so no request is
 * dropped or answered by a half-loaded model. With --model-dir a watcher thread follows
 * DIR/latest, the pointer nn-train renames into place after each complete checkpoint. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nn_metrics.h"
#include "nn_serve.h"

typedef struct {
    char path[4096];
    dev_t dev;
    ino_t ino;
    off_t size;
    struct timespec mtime;
} file_id;

struct nn_registry {
    pthread_mutex_t lock;      /* cur */
    pthread_mutex_t reloading; /* one reload at a time: the watcher's and SIGHUP's */
    nn_serve_model *cur;
    file_id served, refused;   /* the checkpoint served; the last one refused */
    int unresolved;            /* DIR/latest could not be read last time (said once) */
    nn_batch_limits lim;
    const char *dir, *file;    /* --model-dir or --model */
    char name[128];
    long reload_s;
    int watching, wake[2];     /* the watcher thread, and the pipe that stops it */
    pthread_t watcher;
};

static int same_file(const file_id *a, const file_id *b)
{
    return strcmp(a->path, b->path) == 0 && a->dev == b->dev && a->ino == b->ino &&
           a->size == b->size && a->mtime.tv_sec == b->mtime.tv_sec &&
           a->mtime.tv_nsec == b->mtime.tv_nsec;
}

/* The checkpoint to serve now: --model, or the file DIR/latest names. 0, or -1 with err. */
static int resolve(const nn_registry *g, file_id *id, char *err, size_t errlen)
{
    memset(id, 0, sizeof *id);
    if (g->file) {
        snprintf(id->path, sizeof id->path, "%s", g->file);
    } else {
        char lp[4096], line[512] = "";
        snprintf(lp, sizeof lp, "%s/latest", g->dir);
        FILE *f = fopen(lp, "r");
        int ok = f && fgets(line, sizeof line, f);
        if (f)
            fclose(f);
        line[strcspn(line, "\r\n")] = 0;
        if (!ok || !line[0] || strchr(line, '/')) {
            snprintf(err, errlen, "--model-dir %s: %s %s; expected the file name of a "
                     "checkpoint, as nn-train --checkpoint-dir writes it", g->dir, lp,
                     !f ? "cannot be read" : "does not name a file");
            return -1;
        }
        snprintf(id->path, sizeof id->path, "%s/%s", g->dir, line);
    }
    struct stat st;
    if (stat(id->path, &st) != 0) {
        snprintf(err, errlen, "%s: %s", id->path, strerror(errno));
        return -1;
    }
    id->dev = st.st_dev, id->ino = st.st_ino, id->size = st.st_size, id->mtime = st.st_mtim;
    return 0;
}

/* The new model must take and give what the served one does: clients depend on it. */
static int fits(const nn_serve_model *old, const nn_serve_model *m, char *err, size_t errlen)
{
    if (nn_serve_inputs(m) == nn_serve_inputs(old) &&
        nn_serve_outputs(m) == nn_serve_outputs(old) && m->classify == old->classify)
        return 1;
    snprintf(err, errlen, "it takes %d inputs and gives %d %s; the served model takes %d and "
             "gives %d %s (restart nn-serve to serve a model of another shape)",
             nn_serve_inputs(m), nn_serve_outputs(m), m->classify ? "classes" : "values",
             nn_serve_inputs(old), nn_serve_outputs(old), old->classify ? "classes" : "values");
    return 0;
}

nn_registry *nn_registry_open(const nn_serve_config *cfg, const nn_batch_limits *lim,
                              char *err, size_t errlen)
{
    nn_registry *g = calloc(1, sizeof *g);
    if (!g)
        return snprintf(err, errlen, "out of memory"), NULL;
    pthread_mutex_init(&g->lock, NULL);
    pthread_mutex_init(&g->reloading, NULL);
    g->lim = *lim;
    g->dir = cfg->model_dir;
    g->file = cfg->model;
    g->reload_s = cfg->reload_s;
    g->wake[0] = g->wake[1] = -1;
    if (cfg->name) {
        snprintf(g->name, sizeof g->name, "%s", cfg->name);
    } else if (g->dir) { /* the checkpoints' own names change; the directory's does not */
        const char *end = g->dir + strlen(g->dir);
        while (end > g->dir + 1 && end[-1] == '/')
            end--;
        const char *base = end;
        while (base > g->dir && base[-1] != '/')
            base--;
        snprintf(g->name, sizeof g->name, "%.*s", (int)(end - base), base);
    }
    if (resolve(g, &g->served, err, errlen) != 0 ||
        !(g->cur = nn_serve_model_load(g->served.path, g->name[0] ? g->name : NULL, lim, err,
                                       errlen))) {
        nn_registry_close(g);
        return NULL;
    }
    if (lim->mx)
        nn_metrics_model(lim->mx, g->cur->step, g->cur->loaded_at, g->cur->load_seconds);
    return g;
}

nn_serve_model *nn_registry_acquire(nn_registry *g)
{
    pthread_mutex_lock(&g->lock);
    nn_serve_model *m = g->cur;
    atomic_fetch_add(&m->refs, 1);
    pthread_mutex_unlock(&g->lock);
    return m;
}

nn_serve_model *nn_serve_model_ref(nn_serve_model *m)
{
    atomic_fetch_add(&m->refs, 1);
    return m;
}

void nn_serve_model_release(nn_serve_model *m)
{
    if (m && atomic_fetch_sub(&m->refs, 1) == 1)
        nn_serve_model_free(m);
}

/* Loads id's checkpoint and swaps it in: 1, or -1 with err (nothing changed). */
static int swap_in(nn_registry *g, const file_id *id, char *err, size_t errlen)
{
    nn_serve_model *old = nn_registry_acquire(g);
    nn_serve_model *m = nn_serve_model_load(id->path, old->name, &g->lim, err, errlen);
    int ok = m && fits(old, m, err, errlen);
    if (ok) {
        pthread_mutex_lock(&g->lock);
        g->cur = m;
        pthread_mutex_unlock(&g->lock);
        g->served = *id;
        printf("nn-serve: now serving %s version %s (was %s), from %s, loaded and verified in "
               "%.1f ms\n", m->name, m->version, old->version, id->path, m->load_seconds * 1e3);
        fflush(stdout);
        if (g->lim.mx)
            nn_metrics_model(g->lim.mx, m->step, m->loaded_at, m->load_seconds);
        nn_serve_model_release(old); /* the registry's reference */
    } else {
        nn_serve_model_free(m);
    }
    nn_serve_model_release(old); /* this function's */
    return ok ? 1 : -1;
}

int nn_registry_reload(nn_registry *g, int force)
{
    char err[1024];
    file_id id;
    int rc = 0;
    pthread_mutex_lock(&g->reloading);
    if (resolve(g, &id, err, sizeof err) != 0) {
        rc = g->unresolved && !force ? 0 : -1; /* said once, not at every look */
        g->unresolved = 1;
    } else {
        g->unresolved = 0;
        /* A checkpoint that fails to load while DIR/latest has moved on (nn-train's --keep
         * removed it, superseded, while this looked) is not refused: the newer one is tried
         * instead, a few times at most. */
        for (int tries = 0; force || (!same_file(&id, &g->served) &&
                                      !same_file(&id, &g->refused)); tries++) {
            file_id now;
            char why[1024];
            if ((rc = swap_in(g, &id, err, sizeof err)) > 0)
                break;
            if (tries < 8 && resolve(g, &now, why, sizeof why) == 0 && !same_file(&now, &id)) {
                id = now, rc = 0;
                continue;
            }
            g->refused = id; /* not tried again until it changes */
            break;
        }
    }
    if (rc < 0) {
        fprintf(stderr, "nn-serve: refused a new model: %s; still serving version %s\n", err,
                g->cur->version);
        fflush(stderr);
    }
    if (rc != 0 && g->lim.mx)
        nn_metrics_reload(g->lim.mx, rc > 0);
    pthread_mutex_unlock(&g->reloading);
    return rc;
}

/* The watcher: wakes on any change in DIR (inotify: nn-train renames `latest` into place) and
 * at least every reload_s seconds (network file systems send no events), and reloads when
 * DIR/latest names something new. */
static void *watch(void *arg)
{
    nn_registry *g = arg;
    int ino = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
    if (ino >= 0 && inotify_add_watch(ino, g->dir, IN_MOVED_TO | IN_CLOSE_WRITE) < 0) {
        close(ino);
        ino = -1;
    }
    struct pollfd fds[2] = {{g->wake[0], POLLIN, 0}, {ino, POLLIN, 0}};
    char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
    for (;;) {
        int n = poll(fds, ino >= 0 ? 2 : 1, (int)(g->reload_s * 1000));
        if (n > 0 && (fds[0].revents & POLLIN))
            break;
        if (n > 0 && (fds[1].revents & POLLIN))
            while (read(ino, buf, sizeof buf) > 0) {
            }
        nn_registry_reload(g, 0);
    }
    if (ino >= 0)
        close(ino);
    return NULL;
}

int nn_registry_watch(nn_registry *g, char *err, size_t errlen)
{
    if (!g->dir)
        return 0;
    if (pipe(g->wake) != 0 || pthread_create(&g->watcher, NULL, watch, g) != 0) {
        snprintf(err, errlen, "--model-dir %s: cannot start the watcher: %s", g->dir,
                 strerror(errno));
        return -1;
    }
    g->watching = 1;
    return 0;
}

void nn_registry_close(nn_registry *g)
{
    if (!g)
        return;
    if (g->watching) {
        ssize_t w = write(g->wake[1], "x", 1);
        (void)w;
        pthread_join(g->watcher, NULL);
    }
    for (int i = 0; i < 2; i++)
        if (g->wake[i] >= 0)
            close(g->wake[i]);
    nn_serve_model_release(g->cur);
    pthread_mutex_destroy(&g->lock);
    pthread_mutex_destroy(&g->reloading);
    free(g);
}
