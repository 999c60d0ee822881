/* watchdog.c: the communication watchdog (--comm-timeout) and the test hooks. The main
 * thread names every wait on other ranks (enter/leave in comm_impl.h); a thread started by
 * nn_comm_watchdog turns a wait that lasts too long into a message naming the wait and the
 * step, and exit status NN_EXIT_COMM_TIMEOUT. NN_TEST_FREEZE and NN_TEST_FREEZE_SIGNAL let a
 * test stop a rank, or send a signal, at an exact wait and step (see nn_comm.h). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "comm_impl.h"

void comm_freeze_point(const nn_comm *c, const char *op)
{
    nn_comm_impl *w = c->impl;
    if (c->rank == w->freeze_rank && strcmp(op, w->freeze_op) == 0 &&
        atomic_load_explicit(&w->step, memory_order_relaxed) >= w->freeze_step) {
        w->freeze_op[0] = '\0'; /* once */
        if (!w->freeze_signal) {
            raise(SIGSTOP);
        } else {
            pid_t to = w->freeze_to_parent ? getppid() : getpid();
            kill(to, w->freeze_signal); /* twice: the second arrives while the first is acted on */
            kill(to, w->freeze_signal);
        }
    }
}

/* The watchdog thread makes no MPI call: it reports and ends this process, and mpirun (or
 * Slurm) then ends the rest of the job. */
static void *watchdog(void *arg)
{
    nn_comm_impl *w = arg;
    while (!atomic_load(&w->stop)) {
        struct timespec nap = {0, 200 * 1000 * 1000};
        nanosleep(&nap, NULL);
        double since = atomic_load_explicit(&w->since, memory_order_acquire);
        if (since > 0.0 && nn_now() - since > w->timeout) {
            fprintf(stderr,
                    "nn-train: error [rank %d]: %s at step %ld has not completed after %g s "
                    "(--comm-timeout); another rank is probably dead or stuck. Aborting so the "
                    "scheduler can requeue the job.\n",
                    w->rank, atomic_load(&w->op), atomic_load(&w->step), w->timeout);
            fflush(stderr);
            _exit(NN_EXIT_COMM_TIMEOUT);
        }
    }
    return NULL;
}

int nn_comm_watchdog(nn_comm *c, double seconds)
{
    if (seconds <= 0.0 || c->impl->running)
        return 0;
    c->impl->timeout = seconds;
    c->impl->rank = c->rank;
    if (pthread_create(&c->impl->thread, NULL, watchdog, c->impl) != 0)
        return -1;
    c->impl->running = 1;
    return 0;
}

void comm_watchdog_stop(nn_comm_impl *w)
{
    if (w->running) {
        atomic_store(&w->stop, 1);
        pthread_join(w->thread, NULL);
    }
}

void nn_comm_set_step(const nn_comm *c, long step)
{
    atomic_store_explicit(&c->impl->step, step, memory_order_relaxed);
}

void nn_comm_test_point(const nn_comm *c, const char *where)
{
    if (c->impl->freeze_op[0])
        comm_freeze_point(c, where);
}

/* NN_TEST_FREEZE=OP:RANK[:STEP]; anything malformed leaves the hook off. */
static void parse_freeze(nn_comm_impl *w)
{
    const char *e = getenv("NN_TEST_FREEZE");
    const char *colon = e ? strchr(e, ':') : NULL;
    if (!colon || (size_t)(colon - e) >= sizeof w->freeze_op)
        return;
    char *end;
    long rank = strtol(colon + 1, &end, 10), step = 0;
    if (*end == ':')
        step = strtol(end + 1, &end, 10);
    if (*end != '\0' || rank < 0)
        return;
    memcpy(w->freeze_op, e, (size_t)(colon - e));
    w->freeze_op[colon - e] = '\0';
    w->freeze_rank = (int)rank;
    w->freeze_step = step;
    const char *s = getenv("NN_TEST_FREEZE_SIGNAL");
    long sig = s ? strtol(s, &end, 10) : 0;
    if (s && sig > 0 && sig < 65 && (strcmp(end, ":parent") == 0 || strcmp(end, ":self") == 0)) {
        w->freeze_signal = (int)sig;
        w->freeze_to_parent = strcmp(end, ":parent") == 0;
    }
}

void comm_watchdog_init(nn_comm_impl *w)
{
    atomic_init(&w->since, 0.0);
    atomic_init(&w->op, "");
    atomic_init(&w->step, 0);
    atomic_init(&w->stop, 0);
    parse_freeze(w);
}
