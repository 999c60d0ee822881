/* serve_parse.c: the time nn-serve takes to parse one request body, without HTTP.
 *
 *   serve_parse BODY D [REPS]
 * parses the file BODY (an OIP v2 JSON body for a model of D inputs, as scripts/serve_torch.py
 * bodies writes them) REPS times (default 200) with nn_serve_parse_v2, in 5 rounds, and prints
 * the best round's time per parse as one line of key=value pairs. Fails on a body the parser
 * refuses, with its message. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>

#include "nn_clock.h"
#include "nn_serve.h"

int main(int argc, char **argv)
{
    if (argc < 3 || argc > 4) {
        fprintf(stderr, "usage: serve_parse BODY D [REPS]\n");
        return 2;
    }
    FILE *f = fopen(argv[1], "rb");
    if (!f) {
        perror(argv[1]);
        return 1;
    }
    nn_buf body = {0};
    char chunk[65536];
    size_t got;
    while ((got = fread(chunk, 1, sizeof chunk, f)) > 0)
        nn_buf_append(&body, chunk, got);
    fclose(f);
    int d = atoi(argv[2]);
    long reps = argc > 3 ? atol(argv[3]) : 200;
    if (body.oom || d < 1 || reps < 1) {
        fprintf(stderr, "serve_parse: %s\n", body.oom ? "out of memory" : "D and REPS must be >= 1");
        return 2;
    }
    char err[512];
    nn_serve_req r;
    double best = 0.0;
    for (int round = 0; round < 5; round++) {
        double t0 = nn_now();
        for (long i = 0; i < reps; i++) {
            if (nn_serve_parse_v2(body.s, body.len, NULL, d, (size_t)1 << 20, &r, err,
                                  sizeof err) != 0) {
                fprintf(stderr, "serve_parse: %s: %s\n", argv[1], err);
                return 1;
            }
            nn_serve_req_free(&r);
        }
        double t = (nn_now() - t0) / (double)reps;
        best = round == 0 || t < best ? t : best;
    }
    printf("body=%s bytes=%zu reps=%ld best_parse_us=%.1f\n", argv[1], body.len, reps,
           best * 1e6);
    nn_buf_free(&body);
    return 0;
}
