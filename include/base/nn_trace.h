/* nn_trace.h: a timeline of what each rank does in a window of training steps (nn-train
 * --trace FILE), written as Chrome's trace-event JSON (Perfetto, chrome://tracing), like
 * Horovod's timeline. One recorder per process: the layers that do the work (the step in
 * train, the gradient sum in comm) record spans into a buffer allocated once, before the
 * first step; nothing allocates while recording, and when the recorder is closed or outside
 * the window a span costs one load and a branch. The train layer gathers the ranks' events
 * and writes the file (src/train/trace.c). */
#ifndef NN_TRACE_H
#define NN_TRACE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* What a span is. NN_TR_WAIT: waiting for other ranks (their gradients, a barrier);
 * NN_TR_ADD: adding up this host's gradients; NN_TR_ALLREDUCE: the sum between hosts. */
typedef enum {
    NN_TR_STEP,
    NN_TR_FORWARD,
    NN_TR_LOSS,
    NN_TR_BACKWARD, /* arg: the layer, 1 = first hidden */
    NN_TR_WAIT,
    NN_TR_ADD,
    NN_TR_ALLREDUCE,
    NN_TR_OPTIMIZER,
    NN_TR_KINDS
} nn_trace_kind;

/* One span, as it travels between ranks (24 bytes, no pointers). */
typedef struct {
    uint16_t kind, arg;
    uint32_t step;
    double t0, t1; /* seconds since the recorder's origin */
} nn_trace_event;

extern int nn_trace_recording; /* read by nn_trace_span's inline test: on and in the window */

/* Opens the recorder with room for cap events and its clock's origin now; -1 if out of
 * memory. */
int nn_trace_open(size_t cap);
void nn_trace_close(void);
/* Records (or not) from now on, with spans labelled step. */
void nn_trace_window(int on, long step);
/* Records [t0, t1] (nn_now() times); a full buffer counts the span as dropped. */
void nn_trace_record(nn_trace_kind kind, int arg, double t0, double t1);
static inline void nn_trace_span(nn_trace_kind kind, int arg, double t0, double t1)
{
    if (nn_trace_recording)
        nn_trace_record(kind, arg, t0, t1);
}
/* The events recorded so far (*n of them), and how many were dropped. */
const nn_trace_event *nn_trace_events(size_t *n, size_t *dropped);
/* The name of a kind ("backward"). */
const char *nn_trace_name(nn_trace_kind kind);
/* Writes events of ranks as Chrome trace-event JSON: counts[r] events of rank r, in rank
 * order, with hosts[r] (NULL: none) naming the process. Returns 0, or -1 on a write error. */
int nn_trace_write_json(FILE *f, const nn_trace_event *ev, const size_t *counts, int ranks,
                        const char *const *hosts, size_t dropped);

#endif
