/* energy.c: RAPL package counters and the CPU-time estimate (nn_energy.h). */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "nn_energy.h"

/* One unsigned decimal number from a file. 0, or -1 when unreadable or not a number. */
static int read_u64(const char *path, uint64_t *v)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    unsigned long long x;
    int ok = fscanf(f, "%llu", &x) == 1;
    fclose(f);
    if (ok)
        *v = (uint64_t)x;
    return ok ? 0 : -1;
}

/* 1 for "intel-rapl:N": a package (one colon, then digits). */
static int is_package_dir(const char *name)
{
    const char *c = strchr(name, ':');
    if (strncmp(name, "intel-rapl:", 11) != 0 || !c || !c[1] || strchr(c + 1, ':'))
        return 0;
    return strspn(c + 1, "0123456789") == strlen(c + 1);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int nn_rapl_open(nn_rapl *r, const char *dir)
{
    memset(r, 0, sizeof *r);
    if (!dir)
        dir = getenv("NN_TEST_POWERCAP_DIR");
    if (!dir)
        dir = "/sys/class/powercap";
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    char *names[NN_RAPL_MAX];
    int k = 0;
    struct dirent *de;
    while ((de = readdir(d)) && k < NN_RAPL_MAX)
        if (is_package_dir(de->d_name) && (names[k] = strdup(de->d_name)))
            k++;
    closedir(d);
    qsort(names, (size_t)k, sizeof *names, cmp_str);
    for (int i = 0; i < k; i++) {
        char p[400], name[64] = "";
        snprintf(p, sizeof p, "%s/%s/name", dir, names[i]);
        FILE *f = fopen(p, "r");
        if (f) { /* "package-0"; a platform domain ("psys") overlaps the packages */
            if (!fgets(name, sizeof name, f))
                name[0] = '\0';
            fclose(f);
        }
        uint64_t range, now;
        snprintf(p, sizeof p, "%s/%s/max_energy_range_uj", dir, names[i]);
        int ok = (!f || strncmp(name, "package", 7) == 0) && read_u64(p, &range) == 0 &&
                 range > 0;
        snprintf(p, sizeof p, "%s/%s/energy_uj", dir, names[i]);
        if (ok && strlen(p) < sizeof r->path[0] && read_u64(p, &now) == 0) {
            memcpy(r->path[r->n], p, strlen(p) + 1); /* fits: checked above */
            r->range[r->n] = range;
            r->last[r->n] = now;
            r->n++;
        }
        free(names[i]);
    }
    return r->n;
}

uint64_t nn_rapl_delta(uint64_t last, uint64_t now, uint64_t range)
{
    if (now >= last)
        return now - last;
    return range >= last ? now + (range - last) : now; /* wrapped (range: the counter's end) */
}

int nn_rapl_update(nn_rapl *r)
{
    int rc = 0;
    for (int i = 0; i < r->n; i++) {
        uint64_t now;
        if (read_u64(r->path[i], &now) != 0) {
            rc = -1;
            continue;
        }
        r->uj += (double)nn_rapl_delta(r->last[i], now, r->range[i]);
        r->last[i] = now;
    }
    return rc;
}

double nn_cpu_seconds(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0)
        return 0.0;
    return (double)ru.ru_utime.tv_sec + 1e-6 * (double)ru.ru_utime.tv_usec +
           (double)ru.ru_stime.tv_sec + 1e-6 * (double)ru.ru_stime.tv_usec;
}

void nn_energy_start(nn_energy *e, double watts_per_core, int use_rapl)
{
    memset(e, 0, sizeof *e);
    e->watts_per_core = watts_per_core;
    e->measured = use_rapl && nn_rapl_open(&e->rapl, NULL) > 0;
    e->cpu0 = nn_cpu_seconds();
}

double nn_energy_joules(nn_energy *e)
{
    if (e->measured) {
        nn_rapl_update(&e->rapl);
        return 1e-6 * e->rapl.uj;
    }
    return (nn_cpu_seconds() - e->cpu0) * e->watts_per_core;
}
