/* main.c: nn-serve's entry point (docs/serving.md). Prolog: flags, the key, the model, the
 * server; one startup line on stdout. Then it waits for SIGTERM or SIGINT (blocked in every
 * thread, taken here by sigwait), stops accepting, lets what is in flight finish, exits 0.
 * Exit status: 0 after a signal, 1 a runtime failure (checkpoint, listen), 2 a usage error. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn_args.h"
#include "nn_kernels.h"
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

/* Serves until SIGTERM or SIGINT. */
static int serve(const nn_serve_config *cfg, nn_serve_model *m, const char *key)
{
    char err[ERRLEN];
    sigset_t set;
    int sig, port = 0;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL); /* before the server's threads exist */
    nn_server *s = nn_server_start(cfg, m, key, &port, err, sizeof err);
    if (!s) {
        nn_print_error("nn-serve", 0, err);
        return NN_EXIT_FAILURE;
    }
    printf("nn-serve %s: model %s (%s %s, %s output) version %s on http://%s:%d%s\n", NN_VERSION,
           m->name, m->layers, nn_act_name(m->lo.act), m->classify ? "softmax" : "linear",
           m->version, cfg->host, port, key ? " (API key required)" : "");
    fflush(stdout);
    sigwait(&set, &sig);
    if (!cfg->quiet) {
        printf("nn-serve: %s: finishing the requests in flight\n", sig == SIGTERM ? "SIGTERM"
                                                                                 : "SIGINT");
        fflush(stdout);
    }
    nn_server_stop(s);
    return 0;
}

int main(int argc, char **argv)
{
    nn_serve_config cfg;
    nn_serve_model m;
    char err[ERRLEN], key[512];
    if (nn_serve_config_parse(&cfg, argc, argv, err, sizeof err) != 0) {
        nn_print_error("nn-serve", 0, err);
        return NN_EXIT_USAGE;
    }
    if (cfg.help || cfg.version) {
        if (cfg.help)
            nn_serve_config_usage(stdout);
        else
            printf("nn-serve %s\n", NN_VERSION);
        return 0;
    }
    if (cfg.key_file && read_key(cfg.key_file, key, sizeof key, err, sizeof err) != 0) {
        nn_print_error("nn-serve", 0, err);
        return NN_EXIT_USAGE;
    }
    nn_blas_threads(1); /* the parallelism is the requests' */
    if (nn_serve_model_load(&m, cfg.model, cfg.name, (int)cfg.max_batch, (int)cfg.threads, err,
                            sizeof err) != 0) {
        nn_print_error("nn-serve", 0, err);
        nn_serve_model_free(&m);
        return NN_EXIT_FAILURE;
    }
    int rc = serve(&cfg, &m, cfg.key_file ? key : NULL);
    nn_serve_model_free(&m);
    return rc;
}
