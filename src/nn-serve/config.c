/* config.c: nn-serve's option table; src/base/args.c parses it and prints --help. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "nn_args.h"
#include "nn_serve.h"

#define OFF(f) offsetof(nn_serve_config, f)
static const nn_arg options[] = {
    {"model", 0, NN_ARG_STR, OFF(model), NULL, "FILE.h5", 0, 0, NULL, 0,
     "checkpoint written by nn-train (docs/checkpoint.md); SIGHUP reads it again"},
    {"model-dir", 0, NN_ARG_STR, OFF(model_dir), NULL, "DIR", 0, 0, NULL, 0,
     "a --checkpoint-dir of nn-train: serves the checkpoint DIR/latest names and swaps in "
     "each new one, verified, without dropping a request"},
    {"name", 0, NN_ARG_STR, OFF(name), NULL, "NAME", 0, 0, NULL, 0,
     "the model's name in URLs; default: the --model file's name without directory and "
     "extension, or the --model-dir directory's name"},
    {"host", 0, NN_ARG_STR, OFF(host), "127.0.0.1", "ADDR", 0, 0, NULL, 0,
     "IPv4 address to listen on (0.0.0.0: every interface)"},
    {"port", 0, NN_ARG_LONG, OFF(port), "8080", "N", 0, 65535, NULL, 0,
     "TCP port; 0: any free port (the startup line names it)"},
    {"threads", 0, NN_ARG_LONG, OFF(threads), "0", "N", 0, 256, NULL, 0,
     "worker threads (libmicrohttpd, epoll, one each; a new connection goes to the one with "
     "the fewest open); each reads every request that is ready, then runs their rows in one "
     "pass; 0: one per core"},
    {"model-threads", 0, NN_ARG_LONG, OFF(model_threads), "0", "N", 0, 256, NULL, 0,
     "forward passes at once; requests beyond them queue and ride together in the next "
     "pass; 0: the number of cores, at most --threads"},
    {"max-batch", 0, NN_ARG_LONG, OFF(max_batch), "1024", "ROWS", 1, 1 << 20, NULL, 0,
     "rows one request may carry (more are answered 413), and one forward pass gathers"},
    {"batch-delay-us", 0, NN_ARG_LONG, OFF(batch_delay_us), "0", "US", 0, 1000000, NULL, 0,
     "how long a pass that is not full may wait for requests whose bodies are still "
     "arriving; a lone request never waits"},
    {"reload-seconds", 0, NN_ARG_LONG, OFF(reload_s), "2", "S", 1, 86400, NULL, 0,
     "--model-dir: look at DIR/latest at least this often (changes are seen at once where "
     "the file system reports them)"},
    {"max-body", 0, NN_ARG_LONG, OFF(max_body), "67108864", "BYTES", 64, 1L << 34, NULL, 0,
     "bytes one request body may hold; more are answered 413"},
    {"max-connections", 0, NN_ARG_LONG, OFF(max_conn), "256", "N", 1, 65536, NULL, 0,
     "open connections at once; more are refused"},
    {"timeout", 0, NN_ARG_LONG, OFF(timeout), "30", "SECONDS", 1, 86400, NULL, 0,
     "a connection idle this long is closed"},
    {"api-key-file", 0, NN_ARG_STR, OFF(key_file), NULL, "FILE", 0, 0, NULL, 0,
     "every endpoint but health requires 'Authorization: Bearer KEY', KEY the file's first line"},
    {"quiet", 0, NN_ARG_FLAG, OFF(quiet), NULL, NULL, 0, 0, NULL, 0,
     "no access log: print the startup line and errors only"},
    {"help", 0, NN_ARG_FLAG, OFF(help), NULL, NULL, 0, 0, NULL, 0, "show this help and exit"},
    {"version", 0, NN_ARG_FLAG, OFF(version), NULL, NULL, 0, 0, NULL, 0,
     "print the version and exit"},
};
#define N_OPTIONS (sizeof options / sizeof options[0])
_Static_assert(N_OPTIONS <= sizeof(((nn_serve_config *)0)->given), "given[] too small");
static const nn_argspec spec = {options, N_OPTIONS, "nn-serve", NULL};

int nn_serve_config_parse(nn_serve_config *cfg, int argc, char **argv, char *err, size_t errlen)
{
    memset(cfg, 0, sizeof *cfg);
    int rc = nn_args_parse(&spec, cfg, cfg->given, argc, argv, 1, err, errlen);
    if (rc == 0 && !cfg->help && !cfg->version && !cfg->model == !cfg->model_dir) {
        snprintf(err, errlen, "%s; expected one of --model FILE or --model-dir DIR",
                 cfg->model ? "both --model and --model-dir given" : "no model given");
        return -1;
    }
    if (rc == 0 && cfg->threads == 0) { /* one worker per core: the fewest that keep them busy */
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        cfg->threads = n < 1 ? 1 : n > 256 ? 256 : n;
    }
    return rc;
}

const nn_argspec *nn_serve_config_spec(void) { return &spec; }

void nn_serve_config_usage(FILE *out)
{
    fprintf(out, "usage: nn-serve --model CHECKPOINT [flags]\n"
                 "       nn-serve --model-dir CHECKPOINT_DIR [flags]\n"
                 "Serves a trained model over HTTP: the Open Inference Protocol v2 (/v2/...) and\n"
                 "TensorFlow Serving's REST predict (/v1/...); docs/serving.md.\n\n");
    nn_args_usage(&spec, out);
}
