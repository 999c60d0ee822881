/* nn_fileio.h: the durable-file steps every writer of nn-train shares (checkpoints, nn-data
 * outputs, nn-predict outputs): fsync a file, and move a finished temporary file into place
 * so a reader sees either the old file or the complete new one; and the check that an output
 * is not one of the inputs. */
#ifndef NN_FILEIO_H
#define NN_FILEIO_H

#include <stddef.h>

/* fsync an existing file; 0, or the errno of the failure. */
int nn_fsync_file(const char *path);
/* Writes buf to path (created or truncated) and fsyncs it; 0, or the errno of the failure. */
int nn_write_file(const char *path, const void *buf, size_t n);
/* Renames tmp over path, then fsyncs path's directory so the rename survives a crash (a failed
 * directory fsync is ignored: the file itself is complete). 0, or the errno of the rename. */
int nn_rename_durable(const char *tmp, const char *path);
/* fsyncs a directory; failures are ignored (used after unlinking or renaming in it). */
void nn_fsync_dir(const char *dir);
/* 1 if a and b both exist and are the same file (same device and inode, so a symlink or
 * another spelling of the path counts), else 0. Writers refuse an output that is one of their
 * inputs: the rename, or the truncation, would replace the input. */
int nn_same_file(const char *a, const char *b);

/* The input guard. HDF5 1.10 crashes (SIGSEGV, SIGFPE) on some damaged files rather than
 * returning an error (docs/fuzzing.md lists them). While a reader holds an input file open,
 * nn_input_guard_arm(path) installs handlers for SIGSEGV, SIGBUS, SIGFPE and SIGILL that print
 * one line, "PROG: error: PATH: reading it crashed the HDF5 library ...", and end the process
 * with status 1, instead of a core dump with no word about the file; nn_input_guard_disarm()
 * puts the previous handlers back. Arms nest (the innermost path is named). Nothing happens
 * until a program names itself with nn_input_guard_program (rank > 0 is named in the line, as
 * in every error line of a rank other than 0; under mpirun each rank that crashes says so):
 * libraries, tests and fuzzers keep their own handlers. Nothing is written while an input is
 * read, so exiting there leaves no partial output. */
void nn_input_guard_program(const char *prog, int rank);
void nn_input_guard_arm(const char *path);
void nn_input_guard_disarm(void);

#endif
