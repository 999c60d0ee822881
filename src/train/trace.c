/* trace.c: nn-train --trace FILE: the recorder (include/base/nn_trace.h) on every rank for the
 * steps --trace-from .. --trace-from + --trace-steps - 1, then every rank's events gathered
 * on rank 0, which writes them as Chrome trace-event JSON (docs/performance.md, "Timeline").
 * The steps themselves record the spans (step.c, and the gradient sum in src/comm/replica.c);
 * nothing here runs inside a step. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nn_status.h"
#include "nn_trace.h"
#include "train_internal.h"

/* Events per traced step at most: the step, forward, loss and a backward per layer, and the
 * gradient sum's spans, which alternate (wait, add, optimizer) per block of 4096 floats. */
static size_t events_per_step(const nn_trainer *t)
{
    return 16 + 2 * (size_t)t->lo.n_layers + 3 * (t->lo.n_params / 4096 + 8);
}

int nn_train_trace_setup(nn_trainer *t, char *err, size_t errlen)
{
    if (!t->cfg.trace)
        return 0;
    size_t cap = (size_t)t->cfg.trace_steps * events_per_step(t);
    if (cap > ((size_t)1 << 22)) /* 96 MiB; a bigger window drops (and counts) the rest */
        cap = (size_t)1 << 22;
    nn_comm_barrier(t->comm); /* every rank's clock origin at the same moment, near enough */
    int failed = nn_trace_open(cap) != 0;
    if (nn_comm_agree(t->comm, failed) >= 0) {
        snprintf(err, errlen, "--trace: out of memory for %zu events", cap);
        return -1;
    }
    return 0;
}

void nn_train_trace_before(nn_trainer *t)
{
    long s = t->step + 1; /* the step about to run */
    if (t->cfg.trace && t->trace_state == 0)
        nn_trace_window(s >= t->cfg.trace_from && s < t->cfg.trace_from + t->cfg.trace_steps, s);
}

#define HOST_LEN 64 /* bytes of a host name in the trace, NUL included */

/* This host's name, NUL-terminated, zero-padded to HOST_LEN bytes. */
static void host_name(char out[HOST_LEN])
{
    memset(out, 0, HOST_LEN);
    gethostname(out, HOST_LEN - 1);
    out[HOST_LEN - 1] = '\0';
}

/* Collective: gathers every rank's events on rank 0, which writes the file. 0, or -1 (every
 * rank) after rank 0 reported the failure. */
static int write_trace(nn_trainer *t)
{
    const nn_comm *c = t->comm;
    const int p = c->size;
    const size_t E = sizeof(nn_trace_event);
    const long last = t->cfg.trace_from + t->cfg.trace_steps - 1;
    nn_trace_window(0, 0);
    size_t n, dropped;
    const nn_trace_event *ev = nn_trace_events(&n, &dropped);
    int64_t *cnt = calloc((size_t)p + 1, sizeof *cnt);
    size_t *counts = calloc((size_t)p, sizeof *counts);
    char host[HOST_LEN];
    host_name(host);
    int bad = !cnt || !counts;
    if (nn_comm_agree(c, bad) >= 0) {
        free(cnt);
        free(counts);
        return -1;
    }
    cnt[c->rank] = (int64_t)n;
    cnt[p] = (int64_t)dropped;
    nn_comm_sum_i64(c, cnt, (size_t)p + 1);
    size_t total = 0;
    for (int r = 0; r < p; r++)
        total += counts[r] = (size_t)cnt[r];
    nn_trace_event *all = c->rank == 0 ? malloc((total ? total : 1) * E) : NULL;
    char *hosts = c->rank == 0 ? malloc((size_t)p * HOST_LEN) : NULL;
    bad = c->rank == 0 && (!all || !hosts);
    if (nn_comm_agree(c, bad) < 0) {
        nn_comm_gatherv_bytes(c, ev, n * E, all, total * E, 0);
        nn_comm_gatherv_bytes(c, host, HOST_LEN, hosts, (size_t)p * HOST_LEN, 0);
    }
    if (c->rank == 0 && !bad) {
        const char **names = malloc((size_t)p * sizeof *names);
        for (int r = 0; names && r < p; r++)
            names[r] = hosts + (size_t)r * HOST_LEN;
        errno = 0;
        bad = nn_trace_write_json(t->trace, all, counts, p, names,
                                  (size_t)cnt[p]) != 0 ||
              fclose(t->trace) != 0;
        t->trace = NULL;
        if (bad)
            nn_error(c, "--trace %s: writing failed: %s", t->cfg.trace,
                     strerror(errno ? errno : EIO));
        else if (t->step < t->cfg.trace_from)
            nn_say(c, t->cfg.quiet, "trace: the run ended at step %ld, before --trace-from %ld; "
                   "%s holds no step\n", t->step, t->cfg.trace_from, t->cfg.trace);
        else
            nn_say(c, t->cfg.quiet, "trace: steps %ld-%ld of %d rank%s written to %s%s\n",
                   t->cfg.trace_from, last < t->step ? last : t->step, p, p > 1 ? "s" : "",
                   t->cfg.trace, cnt[p] ? " (some events dropped)" : "");
        free(names);
    }
    free(all);
    free(hosts);
    free(cnt);
    free(counts);
    nn_trace_close();
    return nn_comm_agree(c, bad) >= 0 ? -1 : 0;
}

void nn_train_trace_after(nn_trainer *t)
{
    if (t->cfg.trace && t->trace_state == 0 &&
        t->step >= t->cfg.trace_from + t->cfg.trace_steps - 1)
        t->trace_state = write_trace(t) == 0 ? 1 : -1;
}

int nn_trainer_trace_finish(nn_trainer *t)
{
    if (t->cfg.trace && t->trace_state == 0)
        t->trace_state = write_trace(t) == 0 ? 1 : -1;
    return t->trace_state < 0 ? NN_EXIT_FAILURE : 0;
}
