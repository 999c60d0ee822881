/* hash.c: FNV-1a 64 (nn_hash.h). */
#include <string.h>

#include "nn_hash.h"

uint64_t nn_fnv1a(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 1099511628211ULL;
    return h;
}

uint64_t nn_fnv1a_str(const char *s) { return nn_fnv1a(NN_FNV_OFFSET, s, strlen(s)); }
