/* test_gather.c: nn_comm_gatherv_f32 under real mpirun (ctest runs it at 1, 2 and 3 ranks).
 * Ranks send different counts, including none, and the last rank sends more than one 16 MiB
 * chunk, so the chunked path runs too. Rank 0 must receive every value in rank order; a cap
 * that is one float short must fail on every rank. Exit status 1 on any mismatch. */
#include <stdio.h>
#include <stdlib.h>

#include "nn_comm.h"

/* Rank r sends count(r) floats whose values are their global positions. */
static size_t count(int r, int size)
{
    if (r == size - 1)
        return ((size_t)4 << 20) + 1234; /* > one chunk of 4 Mi floats */
    return (size_t)r * 7;                 /* rank 0 sends nothing */
}

int main(int argc, char **argv)
{
    nn_comm c;
    if (nn_comm_init(&c, &argc, &argv) != 0)
        return 1;
    size_t before = 0, total = 0;
    for (int r = 0; r < c.size; r++) {
        if (r < c.rank)
            before += count(r, c.size);
        total += count(r, c.size);
    }
    size_t n = count(c.rank, c.size);
    float *mine = malloc((n ? n : 1) * sizeof(float));
    for (size_t i = 0; i < n; i++)
        mine[i] = (float)((before + i) % 1000003);
    float *all = c.rank == 0 ? malloc(total * sizeof(float)) : NULL;
    int bad = 0;

    if (nn_comm_gatherv_f32(&c, mine, n, all, total, 0) != 0) {
        fprintf(stderr, "rank %d: gather with an exact cap failed\n", c.rank);
        bad = 1;
    }
    if (c.rank == 0)
        for (size_t i = 0; i < total && !bad; i++)
            if (all[i] != (float)(i % 1000003)) {
                fprintf(stderr, "position %zu holds %g; expected %g\n", i, (double)all[i],
                        (double)(i % 1000003));
                bad = 1;
            }
    if (nn_comm_gatherv_f32(&c, mine, n, all, total - 1, 0) != -1) {
        fprintf(stderr, "rank %d: a cap one short did not fail\n", c.rank);
        bad = 1;
    }
    int who = nn_comm_agree(&c, bad);
    if (c.rank == 0)
        printf("test_gather: %d ranks, %zu floats: %s\n", c.size, total, who < 0 ? "OK" : "FAIL");
    free(mine);
    free(all);
    nn_comm_finalize(&c);
    return who < 0 ? 0 : 1;
}
