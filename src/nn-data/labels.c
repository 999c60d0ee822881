/* labels.c: the set of distinct label strings the CSV importer collects in pass 1 (csv_job.h):
 * open addressing with linear probing over FNV-1a hashes, a power-of-two table kept at most
 * half full. It holds at most MAX_CLASSES strings; past that it only notes the overflow,
 * which csv_classes reports. Each key's class id (ids) is filled in once the classes are
 * sorted. */
#include <stdlib.h>
#include <string.h>

#include "csv_job.h"
#include "nn_hash.h"

void strset_free(strset *t)
{
    for (size_t i = 0; i < t->cap; i++)
        free(t->keys[i]);
    free(t->keys);
    free(t->ids);
    memset(t, 0, sizeof *t);
}

size_t strset_slot(const strset *t, const char *s)
{
    size_t i = (size_t)nn_fnv1a_str(s) & (t->cap - 1);
    while (t->keys[i] && strcmp(t->keys[i], s) != 0)
        i = (i + 1) & (t->cap - 1);
    return i;
}

int strset_add(strset *t, const char *s)
{
    if (t->cap && t->keys[strset_slot(t, s)])
        return 0;
    if (t->n >= MAX_CLASSES) {
        t->overflow = 1;
        return 0;
    }
    if (2 * (t->n + 1) > t->cap) {
        strset big = {0};
        big.cap = t->cap ? 2 * t->cap : 64;
        big.keys = calloc(big.cap, sizeof *big.keys);
        big.ids = calloc(big.cap, sizeof *big.ids);
        if (!big.keys || !big.ids) {
            free(big.keys);
            free(big.ids);
            return -1;
        }
        for (size_t i = 0; i < t->cap; i++)
            if (t->keys[i]) { /* the key and what it carries (strset_count's counts) */
                size_t j = strset_slot(&big, t->keys[i]);
                big.keys[j] = t->keys[i];
                big.ids[j] = t->ids[i];
            }
        big.n = t->n;
        free(t->keys);
        free(t->ids);
        *t = big;
    }
    size_t i = strset_slot(t, s);
    if (!(t->keys[i] = strdup(s)))
        return -1;
    t->n++;
    return 0;
}

int strset_count(strset *t, const char *s)
{
    if (strset_add(t, s) != 0)
        return -1;
    if (t->cap == 0)
        return 0; /* overflowed before the first key: noted in t->overflow */
    size_t i = strset_slot(t, s);
    if (t->keys[i])
        t->ids[i]++;
    return 0;
}
