/* main.c: nn-serve's entry point (docs/serving.md). Prolog: flags, the key, the model, the
 * server; one startup line on stdout. Then it waits for signals (blocked in every thread, taken
 * here by sigwait): SIGHUP reloads the model; SIGTERM or SIGINT stops accepting, lets what is
 * in flight finish, exits 0.
 * Exit status: 0 after a signal, 1 a runtime failure (checkpoint, listen), 2 a usage error. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nn_args.h"
#include "nn_kernels.h"
#include "nn_libvers.h"
#include "nn_metrics.h"
#include "nn_serve.h"
#include "nn_status.h"

#define ERRLEN 768

/* The key: the file's first line, without its line end. 0 or -1 (err). */
static int read_key(const char *path, char *key, size_t len, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f || !fgets(key, (int)len, f)) {
        snprintf(err, errlen, "--api-key-file %s: cannot read a key from it", path);
        if (f)
            fclose(f);
        return -1;
    }
    fclose(f);
    key[strcspn(key, "\r\n")] = 0;
    if (strlen(key) < 8) {
        snprintf(err, errlen, "--api-key-file %s: the key (first line) has %zu characters; "
                 "expected at least 8", path, strlen(key));
        return -1;
    }
    return 0;
}

/* Serves until SIGTERM or SIGINT; SIGHUP reloads. */
static int serve(const nn_serve_config *cfg, nn_registry *g, nn_metrics *mx, atomic_long *arriving,
                 const char *key)
{
    char err[ERRLEN];
    sigset_t set;
    int sig, port = 0;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, NULL); /* before the server's threads exist */
    nn_server *s = nn_server_start(cfg, g, mx, arriving, key, &port, err, sizeof err);
    if (!s || nn_registry_watch(g, err, sizeof err) != 0) {
        nn_print_error("nn-serve", 0, err);
        nn_server_stop(s);
        return NN_EXIT_FAILURE;
    }
    nn_serve_model *m = nn_registry_acquire(g);
    printf("nn-serve %s: model %s (%s %s, %s output) version %s on http://%s:%d%s%s%s\n",
           NN_VERSION, m->name, m->layers, nn_act_name(m->lo.act),
           m->classify ? "softmax" : "linear", m->version, cfg->host, port,
           key ? " (API key required)" : "", cfg->model_dir ? ", following " : "",
           cfg->model_dir ? cfg->model_dir : "");
    if (!cfg->quiet && getenv("NN_BLAS_CHOSEN")) {
        char kern[128];
        printf("nn-serve: OpenBLAS %s\n", nn_blas_kernels(kern, sizeof kern));
    }
    fflush(stdout);
    nn_serve_model_release(m);
    while (sigwait(&set, &sig) == 0 && sig == SIGHUP)
        nn_registry_reload(g, 1);
    if (!cfg->quiet) {
        printf("nn-serve: %s: finishing the requests in flight\n", sig == SIGTERM ? "SIGTERM"
                                                                                 : "SIGINT");
        fflush(stdout);
    }
    nn_server_stop(s);
    return 0;
}

/* --model-threads 0: one pass per core, at most one per HTTP thread. */
static int executors(const nn_serve_config *cfg)
{
    long n = cfg->model_threads ? cfg->model_threads : sysconf(_SC_NPROCESSORS_ONLN);
    if (n < 1)
        n = 1;
    return (int)(n < cfg->threads ? n : cfg->threads);
}

/* --version: the program, its commit, and each library as built and as run. */
static void print_version(void)
{
    nn_libver v[5] = {{"MPI", "", "not linked: nn-serve runs as one process"}};
    nn_io_libvers(&v[1]);
    nn_blas_libver(&v[3]);
    nn_serve_mhd_libver(&v[4]);
    nn_version_print(stdout, "nn-serve", v, 5);
}

int main(int argc, char **argv)
{
    if (nn_serve_manual(argc, argv) == 0) /* the build's --help-man and --help-bash */
        return 0;
    nn_blas_choose_kernels(argv); /* may re-execute */
    nn_serve_config cfg;
    char err[ERRLEN], key[512];
    if (nn_serve_config_parse(&cfg, argc, argv, err, sizeof err) != 0) {
        nn_print_error("nn-serve", 0, err);
        return NN_EXIT_USAGE;
    }
    if (cfg.help || cfg.version) {
        if (cfg.help)
            nn_serve_config_usage(stdout);
        else
            print_version();
        return 0;
    }
    if (cfg.key_file && read_key(cfg.key_file, key, sizeof key, err, sizeof err) != 0) {
        nn_print_error("nn-serve", 0, err);
        return NN_EXIT_USAGE;
    }
    nn_blas_threads(1); /* the parallelism is the requests' */
    atomic_long arriving;
    atomic_init(&arriving, 0);
    nn_metrics *mx = nn_metrics_new();
    nn_batch_limits lim = {(int)cfg.max_batch, executors(&cfg), cfg.batch_delay_us, &arriving,
                           mx};
    nn_registry *g = mx ? nn_registry_open(&cfg, &lim, err, sizeof err) : NULL;
    if (!g) {
        nn_print_error("nn-serve", 0, mx ? err : "out of memory for the metrics");
        nn_metrics_free(mx);
        return NN_EXIT_FAILURE;
    }
    int rc = serve(&cfg, g, mx, &arriving, cfg.key_file ? key : NULL);
    nn_registry_close(g);
    nn_metrics_free(mx);
    return rc;
}
