/* fuzz_h5.h: what the HDF5 harnesses share. An input is opened as an HDF5 file image in memory
 * (the core driver, no backing store: nothing touches the disk), and after the readers ran
 * every HDF5 identifier they opened must be closed again: a reader that leaks a dataset, type
 * or dataspace id on some error path keeps the file open for good in a long-running process,
 * so a leak aborts the run like a memory error. */
#ifndef NN_FUZZ_H5_H
#define NN_FUZZ_H5_H

#include <hdf5.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* FUZZ_VERBOSE=1 in the environment: each reader's outcome on stderr (for replaying one input). */
static void fuzz_h5_say(const char *who, int rc, const char *err)
{
    static int verbose = -1;
    if (verbose < 0)
        verbose = getenv("FUZZ_VERBOSE") != NULL;
    if (verbose)
        fprintf(stderr, "%s: %d%s%s\n", who, rc, rc ? ": " : "", rc ? err : "");
}

/* The name readers use in their messages; never opened (the image is in memory). */
#define FUZZ_H5_NAME "fuzz-input.h5"

static void fuzz_h5_init(void)
{
    H5open();
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL); /* as the readers do: errors come back as codes */
}

/* libFuzzer calls this once, before the first input. */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_h5_init();
    return 0;
}

/* A harness check: a failed one aborts like a memory error. Each harness defines
 * FUZZ_HARNESS (its name) before including this file. */
static void need(int cond, const char *what)
{
    if (!cond) {
        fprintf(stderr, "%s: %s\n", FUZZ_HARNESS, what);
        abort();
    }
}

/* Opens data[0..size) read-only as an HDF5 file; -1 when HDF5 refuses it. */
static hid_t fuzz_h5_open(const uint8_t *data, size_t size)
{
    if (size == 0) /* an empty image would make the core driver read FUZZ_H5_NAME from disk */
        return -1;
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    if (fapl < 0)
        return -1;
    hid_t f = -1;
    if (H5Pset_fapl_core(fapl, 1 << 16, 0) >= 0 &&
        H5Pset_file_image(fapl, (void *)data, size) >= 0) /* copied: data stays const */
        f = H5Fopen(FUZZ_H5_NAME, H5F_ACC_RDONLY, fapl);
    H5Pclose(fapl);
    return f;
}

/* Identifiers that are not tied to a file: datatypes, dataspaces, property lists. */
typedef struct {
    hsize_t types, spaces, plists;
} fuzz_h5_ids;

static fuzz_h5_ids fuzz_h5_count(void)
{
    fuzz_h5_ids n = {0, 0, 0};
    H5Inmembers(H5I_DATATYPE, &n.types);
    H5Inmembers(H5I_DATASPACE, &n.spaces);
    H5Inmembers(H5I_GENPROP_LST, &n.plists);
    return n;
}

/* Closes f after checking that the readers left nothing open in it or beside it. */
static void fuzz_h5_close(hid_t f, fuzz_h5_ids before, const char *who)
{
    ssize_t open_in_file = H5Fget_obj_count(f, H5F_OBJ_ALL | H5F_OBJ_LOCAL);
    fuzz_h5_ids after = fuzz_h5_count();
    if (open_in_file != 1 || after.types != before.types || after.spaces != before.spaces ||
        after.plists != before.plists) {
        fprintf(stderr,
                "fuzz: %s leaked HDF5 identifiers: %zd open in the file (expected 1, the file), "
                "datatypes %llu -> %llu, dataspaces %llu -> %llu, property lists %llu -> %llu\n",
                who, open_in_file, (unsigned long long)before.types,
                (unsigned long long)after.types, (unsigned long long)before.spaces,
                (unsigned long long)after.spaces, (unsigned long long)before.plists,
                (unsigned long long)after.plists);
        abort();
    }
    H5Fclose(f);
}

#endif
