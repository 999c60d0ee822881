/* output.c: what nn-data leaves behind: its one error line, and the output file of the
 * importers, never left half-written. The file is written as OUT.tmp and renamed over OUT once
 * complete (nn_h5write.h); a termination signal while it is being written removes OUT.tmp
 * before the program dies of the signal. Also here: the refusal of an OUT that is an input or
 * a device, FIFO or socket, and the provenance attributes (program, time, command line) every
 * imported file carries. Nothing here needs another file of nn-data. */
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "nn_args.h"
#include "nn_data_cmd.h"
#include "nn_fileio.h"
#include "nn_h5write.h"
#include "nn_sig.h"

void data_error(const char *fmt, ...)
{
    char msg[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    nn_print_error("nn-data", 0, msg);
}

/* The temporary output, removed by the signal handler if the run is interrupted. */
static volatile sig_atomic_t g_have_tmp;
static char g_tmp[4096];

static void on_signal(int sig)
{
    if (g_have_tmp)
        unlink(g_tmp); /* async-signal-safe */
    signal(sig, SIG_DFL);
    raise(sig);
}

void install_signal_handlers(void)
{
    static const int sigs[] = {SIGINT, SIGTERM, SIGHUP};
    nn_sig_handle(sigs, 3, on_signal, 0);
}

/* Creates the output's temporary file with the termination signals held back, so that the
 * handler knows its name from the moment it exists. */
nn_h5w *open_output(const char *out, char *err, size_t errlen)
{
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGHUP);
    sigprocmask(SIG_BLOCK, &block, &old);
    nn_h5w *w = nn_h5w_create(out, err, errlen);
    if (w && strlen(nn_h5w_tmp_path(w)) < sizeof g_tmp) {
        memcpy(g_tmp, nn_h5w_tmp_path(w), strlen(nn_h5w_tmp_path(w)) + 1);
        g_have_tmp = 1;
    }
    sigprocmask(SIG_SETMASK, &old, NULL);
    return w;
}

/* Once renamed, the temporary name no longer exists; a signal before the flag is cleared
 * unlinks nothing. */
int commit_output(nn_h5w *w, char *err, size_t errlen)
{
    int rc = nn_h5w_commit(w, err, errlen);
    g_have_tmp = 0;
    return rc;
}

void abort_output(nn_h5w *w)
{
    nn_h5w_abort(w);
    g_have_tmp = 0;
}

/* An existing output that is a device, a FIFO or a socket (-o /dev/null): the rename would
 * replace the node itself. 1 after printing the error (a usage error). */
static int special_output(const char *out)
{
    struct stat st;
    if (stat(out, &st) != 0 || S_ISREG(st.st_mode) || S_ISDIR(st.st_mode))
        return 0;
    data_error("-o %s is a %s; expected the name of a regular file, which nn-data writes as "
               "%s.tmp and renames over it", out,
               S_ISCHR(st.st_mode) ? "character device" : S_ISBLK(st.st_mode) ? "block device"
               : S_ISFIFO(st.st_mode) ? "FIFO" : "socket or other special file", out);
    return 1;
}

int check_output(const char *out, const char *const *inputs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (inputs[i] && nn_same_file(inputs[i], out)) {
            data_error(n == 1 ? "-o %s is the input file; expected a different output file"
                              : "-o %s is also an input; expected a different output file",
                       out);
            return 1;
        }
    return special_output(out);
}

/* Provenance on the root group: program, time, command line. */
int write_provenance(nn_h5w *w, int argc, char **argv)
{
    char cmd[2048] = "", when[32] = "";
    for (int i = 0; i < argc; i++)
        snprintf(cmd + strlen(cmd), sizeof cmd - strlen(cmd), "%s%s", i ? " " : "", argv[i]);
    time_t now = time(NULL);
    struct tm tm;
    if (gmtime_r(&now, &tm))
        strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return nn_h5w_attr_str(w, "/", "created_by", "nn-data " NN_VERSION) |
           nn_h5w_attr_str(w, "/", "created", when) | nn_h5w_attr_str(w, "/", "command", cmd);
}
