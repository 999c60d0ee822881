/* nn_hash.h: FNV-1a 64, the one hash of the code base: checkpoint checksums and the
 * settings hash (docs/checkpoint.md), the replicas' agreement check, nn-data's label set. */
#ifndef NN_HASH_H
#define NN_HASH_H

#include <stddef.h>
#include <stdint.h>

#define NN_FNV_OFFSET 1469598103934665603ULL /* FNV-1a 64's offset basis */

/* Continues hash h over n bytes at p; start with h = NN_FNV_OFFSET. */
uint64_t nn_fnv1a(uint64_t h, const void *p, size_t n);
/* FNV-1a 64 of a NUL-terminated string. */
uint64_t nn_fnv1a_str(const char *s);

#endif
