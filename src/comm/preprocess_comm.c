/* preprocess_comm.c: a /preprocess (nn_preprocess.h) from one rank to all
 * (nn_preprocess_comm.h): the sizes, an allocation agreed by every rank, then each array. */
#include <stdlib.h>
#include <string.h>

#include "nn_preprocess_comm.h"
#include "nn_report.h"

int nn_preprocess_bcast(const nn_comm *c, nn_preprocess *p, int root, const char *oom)
{
    struct {
        char method[32];
        int d, k, nc, range; /* lengths (0: absent); range: x_min and x_max, [d] each */
    } h = {{0}, 0, 0, 0, 0};
    if (c->rank == root && p->x_shift) {
        memcpy(h.method, p->method, sizeof h.method);
        h.d = p->d;
        h.k = p->y_shift ? p->k : 0;
        h.nc = p->class_weight ? p->nc : 0;
        h.range = p->x_min && p->x_max;
    }
    nn_comm_bcast(c, &h, sizeof h, root);
    if (h.d == 0)
        return 0;
    int fail = 0;
    if (c->rank != root) {
        fail = nn_preprocess_alloc(p, h.method, h.d, h.k) != 0 ||
               (h.nc > 0 && nn_preprocess_alloc_class_weight(p, h.nc) != 0);
        if (!fail && h.range) {
            p->x_min = malloc((size_t)h.d * sizeof(float));
            p->x_max = malloc((size_t)h.d * sizeof(float));
            fail = !p->x_min || !p->x_max;
        }
        if (fail)
            nn_preprocess_free(p);
    }
    if (nn_fail(c, fail, oom) != 0)
        return 1;
    float *const v[] = {p->x_shift, p->x_scale, p->y_shift, p->y_scale, p->class_weight,
                        p->x_min, p->x_max};
    const int n[] = {h.d, h.d, h.k, h.k, h.nc, h.range ? h.d : 0, h.range ? h.d : 0};
    for (int i = 0; i < 7; i++)
        if (n[i] > 0)
            nn_comm_bcast(c, v[i], (size_t)n[i] * sizeof(float), root);
    return 0;
}
