/* trace.c: the recorder of nn_trace.h and its JSON. */
#include <stdlib.h>

#include "nn_clock.h"
#include "nn_trace.h"

int nn_trace_recording;

static struct {
    nn_trace_event *ev;
    size_t n, cap, dropped;
    double origin;
    uint32_t step;
} rec;

int nn_trace_open(size_t cap)
{
    nn_trace_close();
    if (!(rec.ev = malloc(cap * sizeof *rec.ev)))
        return -1;
    rec.cap = cap;
    rec.origin = nn_now();
    return 0;
}

void nn_trace_close(void)
{
    free(rec.ev);
    rec.ev = NULL;
    rec.n = rec.cap = rec.dropped = 0;
    nn_trace_recording = 0;
}

void nn_trace_window(int on, long step)
{
    nn_trace_recording = on && rec.ev;
    rec.step = (uint32_t)step;
}

void nn_trace_record(nn_trace_kind kind, int arg, double t0, double t1)
{
    if (rec.n == rec.cap) {
        rec.dropped++;
        return;
    }
    rec.ev[rec.n++] = (nn_trace_event){(uint16_t)kind, (uint16_t)arg, rec.step, t0 - rec.origin,
                                       t1 - rec.origin};
}

const nn_trace_event *nn_trace_events(size_t *n, size_t *dropped)
{
    *n = rec.n;
    *dropped = rec.dropped;
    return rec.ev;
}

const char *nn_trace_name(nn_trace_kind kind)
{
    static const char *const names[NN_TR_KINDS] = {
        "step", "forward", "loss", "backward", "wait", "add", "allreduce", "optimizer"};
    return kind < NN_TR_KINDS ? names[kind] : "?";
}

int nn_trace_write_json(FILE *f, const nn_trace_event *ev, const size_t *counts, int ranks,
                        const char *const *hosts, size_t dropped)
{
    fprintf(f, "{\"displayTimeUnit\": \"ms\", \"otherData\": {\"writer\": \"nn-train --trace\", "
               "\"dropped_events\": %zu},\n\"traceEvents\": [\n",
            dropped);
    const char *sep = "";
    for (int r = 0; r < ranks; r++) {
        fprintf(f, "%s{\"ph\": \"M\", \"name\": \"process_name\", \"pid\": %d, \"tid\": 0, "
                   "\"args\": {\"name\": \"rank %d%s%s\"}},\n"
                   "{\"ph\": \"M\", \"name\": \"process_sort_index\", \"pid\": %d, \"tid\": 0, "
                   "\"args\": {\"sort_index\": %d}}",
                sep, r, r, hosts && hosts[r] ? " on " : "", hosts && hosts[r] ? hosts[r] : "",
                r, r);
        sep = ",\n";
    }
    size_t at = 0;
    for (int r = 0; r < ranks; r++)
        for (size_t i = 0; i < counts[r]; i++, at++) {
            const nn_trace_event *e = &ev[at];
            const char *name = nn_trace_name((nn_trace_kind)e->kind);
            fprintf(f, ",\n{\"ph\": \"X\", \"pid\": %d, \"tid\": 0, \"name\": \"%s", r, name);
            if (e->kind == NN_TR_BACKWARD)
                fprintf(f, " %u", (unsigned)e->arg);
            fprintf(f, "\", \"cat\": \"%s\", \"ts\": %.3f, \"dur\": %.3f, \"args\": {\"step\": %u",
                    name, e->t0 * 1e6, (e->t1 - e->t0) * 1e6, (unsigned)e->step);
            if (e->kind == NN_TR_BACKWARD)
                fprintf(f, ", \"layer\": %u", (unsigned)e->arg);
            fputs("}}", f);
        }
    fputs("\n]}\n", f);
    return ferror(f) ? -1 : 0;
}
