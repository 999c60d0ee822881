/* sgemm_ceiling.c: the matrix-product ceiling of one nn-train training step.
 *
 * Times exactly the nn_sgemm calls that one step of nn-train makes for a given model and
 * batch, with the same shapes, transposes and beta as src/kernels.c:
 *   forward, every layer i:        Z (B, out) = X (B, in) W (in, out)            beta 0
 *   backward, every layer i:       dW (in, out) += X^T (in, B) dZ (B, out)       beta 1 (nn-train zeroes dW just before)
 *   backward, layers i > 0 only:   dX (B, in) = dZ (B, out) W^T (out, in)        beta 0
 * Nothing else (zeroing, bias, activations, loss, allreduce, optimizer) is timed, so the figure is
 * an upper bound on the samples/s of a step made of these products on THREADS OpenBLAS
 * threads. Prints the best and median time per step over REPS repetitions (after a warm-up),
 * the implied samples/s and the GFLOP/s, as one line of key=value pairs.
 *
 *   sgemm_ceiling LAYERS BATCH THREADS [REPS]     e.g. sgemm_ceiling 784,256,128,10 128 2
 * REPS defaults to enough repetitions for about 1 s of products (at least 20).
 *
 *   sgemm_ceiling --forward LAYERS BATCH THREADS [REPS]
 * times instead the inference pass nn-predict and nn-serve run (nn_forward: the products as
 * its plan makes them, bias and activation), BATCH rows at a time: the ceiling of a server's
 * rows/s on THREADS threads, without HTTP, parsing, softmax or answers. Both modes run the
 * OpenBLAS kernels the programs choose (nn_blas_choose_kernels).
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn_clock.h"
#include "nn_kernels.h"
#include "nn_model.h"

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

typedef struct {
    int L, B;
    const int *s;
    float *w[NN_MAX_LAYERS], *dw[NN_MAX_LAYERS];
    float *act[NN_MAX_LAYERS + 1]; /* act[0] is the input batch */
    float *da, *db;                /* (B, max_width) ping-pong, as in nn_work */
} step_bufs;

static void one_step(step_bufs *p)
{
    const int L = p->L, B = p->B;
    const int *s = p->s;
    for (int i = 0; i < L; i++) /* forward */
        nn_sgemm(0, 0, B, s[i + 1], s[i], 1.0f, p->act[i], p->w[i], 0.0f, p->act[i + 1]);
    float *dz = p->da, *dx = p->db;
    for (int i = L - 1; i >= 0; i--) { /* backward */
        nn_sgemm(1, 0, s[i], s[i + 1], B, 1.0f, p->act[i], dz, 1.0f, p->dw[i]);
        if (i > 0) {
            nn_sgemm(0, 1, B, s[i], s[i + 1], 1.0f, dz, p->w[i], 0.0f, dx);
            float *t = dz;
            dz = dx;
            dx = t;
        }
    }
}

/* --forward: the inference pass itself */
static nn_layout fwd_lo;
static nn_work fwd_w;
static float *fwd_params;

static void one_forward(step_bufs *p)
{
    nn_forward(&fwd_lo, fwd_params, &fwd_w, p->act[0], p->B);
}

static float *alloc_fill(size_t n, unsigned *seed)
{
    float *a = malloc((n ? n : 1) * sizeof(float));
    if (!a) {
        fprintf(stderr, "sgemm_ceiling: out of memory\n");
        exit(1);
    }
    for (size_t i = 0; i < n; i++) {
        *seed = *seed * 1103515245u + 12345u;
        a[i] = ((float)((*seed >> 8) & 0xffff) / 65536.0f - 0.5f) * 0.1f;
    }
    return a;
}

int main(int argc, char **argv)
{
    nn_blas_choose_kernels(argv); /* the kernels the programs run; may re-execute */
    int forward = argc > 1 && !strcmp(argv[1], "--forward");
    argc -= forward, argv += forward;
    if (argc < 4 || argc > 5) {
        fprintf(stderr, "usage: sgemm_ceiling [--forward] LAYERS BATCH THREADS [REPS]\n");
        return 2;
    }
    int sizes[NN_MAX_LAYERS + 1], L;
    char err[256];
    if (nn_parse_layers(argv[1], sizes, &L, err, sizeof err) != 0) {
        fprintf(stderr, "sgemm_ceiling: %s\n", err);
        return 2;
    }
    int B = atoi(argv[2]), threads = atoi(argv[3]);
    long reps = argc > 4 ? atol(argv[4]) : 0;
    if (B < 1 || threads < 1 || reps < 0) {
        fprintf(stderr, "sgemm_ceiling: BATCH and THREADS must be >= 1, REPS >= 0\n");
        return 2;
    }
    nn_flush_denormals();
    int got = nn_blas_threads(threads);

    step_bufs p = {.L = L, .B = B, .s = sizes};
    unsigned seed = 12345u;
    int maxw = 0;
    double flops = 0.0;
    for (int i = 0; i <= L; i++)
        maxw = sizes[i] > maxw ? sizes[i] : maxw;
    p.act[0] = alloc_fill((size_t)B * sizes[0], &seed);
    for (int i = 0; i < L; i++) {
        p.w[i] = alloc_fill((size_t)sizes[i] * sizes[i + 1], &seed);
        p.dw[i] = alloc_fill((size_t)sizes[i] * sizes[i + 1], &seed);
        p.act[i + 1] = alloc_fill((size_t)B * sizes[i + 1], &seed);
        double mnk = 2.0 * B * (double)sizes[i] * sizes[i + 1];
        flops += mnk * (i > 0 ? 3.0 : 2.0);
    }
    p.da = alloc_fill((size_t)B * maxw, &seed);
    p.db = alloc_fill((size_t)B * maxw, &seed);
    void (*run)(step_bufs *) = one_step;
    if (forward) {
        if (nn_layout_init(&fwd_lo, sizes, L, NN_ACT_RELU, NN_LOSS_XENT, err, sizeof err) != 0 ||
            !(fwd_params = malloc(fwd_lo.n_params * sizeof(float))) ||
            nn_work_init(&fwd_w, &fwd_lo, B) != 0) {
            fprintf(stderr, "sgemm_ceiling: %s\n", fwd_params ? "out of memory" : err);
            return 1;
        }
        nn_params_init(&fwd_lo, fwd_params, 7);
        run = one_forward;
        flops = 0.0;
        for (int i = 0; i < L; i++)
            flops += 2.0 * B * (double)sizes[i] * sizes[i + 1];
    }

    /* Warm-up (thread pool start, caches), then size REPS to about 1 s if not given. */
    double t0 = nn_now();
    long warm = 0;
    do {
        run(&p);
        warm++;
    } while (nn_now() - t0 < 0.2 && warm < 100000);
    if (reps == 0) {
        double per = (nn_now() - t0) / (double)warm;
        reps = (long)(1.0 / per);
        if (reps < 20)
            reps = 20;
        if (reps > 200000)
            reps = 200000;
    }
    /* Time in chunks so that the best and median are of many steps, not of one timer read. */
    long chunk = reps / 20 > 0 ? reps / 20 : 1;
    long nchunks = (reps + chunk - 1) / chunk;
    double *per = malloc((size_t)nchunks * sizeof(double));
    if (!per)
        return 1;
    for (long c = 0; c < nchunks; c++) {
        double a = nn_now();
        for (long r = 0; r < chunk; r++)
            run(&p);
        per[c] = (nn_now() - a) / (double)chunk;
    }
    qsort(per, (size_t)nchunks, sizeof(double), cmp_double);
    double best = per[0], median = per[nchunks / 2];
    printf("%slayers=%s batch=%d threads=%d reps=%ld best_step_s=%.9g median_step_s=%.9g "
           "samples_per_sec=%.1f median_samples_per_sec=%.1f gflops=%.2f\n",
           forward ? "mode=forward " : "", argv[1], B, got, nchunks * chunk, best, median, (double)B / best,
           (double)B / median, flops / best * 1e-9);

    free(per);
    nn_work_free(&fwd_w);
    free(fwd_params);
    for (int i = 0; i < L; i++) {
        free(p.w[i]);
        free(p.dw[i]);
        free(p.act[i + 1]);
    }
    free(p.act[0]);
    free(p.da);
    free(p.db);
    return 0;
}
