/* prune_ckpt.c: one-shot magnitude pruning of a checkpoint, for the export tests
 * (tests/e2e_export.sh): the smallest FRACTION of all kernel weights by magnitude (ties
 * included) set to exactly 0, with their optimizer moments, and the checkpoint written again
 * through nn_ckpt_write (so its checksum is right).
 *
 *   prune_ckpt SRC DST FRACTION
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "nn_checkpoint.h"

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: prune_ckpt SRC DST FRACTION\n");
        return 2;
    }
    double frac = atof(argv[3]);
    char err[1024];
    nn_ckpt_info info;
    float *p, *m, *v;
    nn_preprocess pre;
    if (nn_ckpt_load(argv[1], &info, &p, &m, &v, &pre, err, sizeof err) != 0) {
        fprintf(stderr, "prune_ckpt: %s\n", err);
        return 1;
    }
    const nn_layout *lo = &info.lo;
    size_t n = 0;
    for (int i = 0; i < lo->n_layers; i++)
        n += (size_t)lo->sizes[i] * lo->sizes[i + 1];
    float *mag = malloc(n * sizeof(float));
    size_t k = 0;
    for (int i = 0; i < lo->n_layers; i++)
        for (size_t j = 0; j < (size_t)lo->sizes[i] * lo->sizes[i + 1]; j++)
            mag[k++] = fabsf(p[lo->w_off[i] + j]);
    qsort(mag, n, sizeof(float), cmp_float);
    size_t cut = (size_t)(frac * (double)n);
    float t = cut ? mag[cut - 1] : -1.0f;
    size_t zeroed = 0;
    for (int i = 0; i < lo->n_layers; i++)
        for (size_t j = 0; j < (size_t)lo->sizes[i] * lo->sizes[i + 1]; j++) {
            size_t at = lo->w_off[i] + j;
            if (fabsf(p[at]) <= t) {
                p[at] = 0.0f;
                if (m)
                    m[at] = 0.0f;
                if (v)
                    v[at] = 0.0f;
                zeroed++;
            }
        }
    int rc = nn_ckpt_write(argv[2], lo, p, &info.hp, m, v, &info.meta, &pre, err, sizeof err);
    if (rc != 0)
        fprintf(stderr, "prune_ckpt: %s\n", err);
    else
        printf("prune_ckpt: %zu of %zu kernel weights set to 0 (%.2f%%)\n", zeroed, n,
               100.0 * (double)zeroed / (double)n);
    free(mag);
    free(p);
    free(m);
    free(v);
    nn_preprocess_free(&pre);
    return rc ? 1 : 0;
}
