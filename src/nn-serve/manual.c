/* manual.c: nn-serve's manual page; the prose is here, the OPTIONS come from the option table
 * (config.c) like --help. */
#include <stdio.h>

#include "nn_manual.h"
#include "nn_serve.h"

static const nn_manual page = {
    .page = "nn-serve",
    .purpose = "serve a model trained by nn-train over HTTP",
    .synopsis = "  nn-serve --model CHECKPOINT.h5 [options]\n"
                "  nn-serve --model-dir CHECKPOINT_DIR [options]",
    .description =
        "nn-serve answers inference requests for an nn-train checkpoint over HTTP, in the "
        "protocols clients already speak: the Open Inference Protocol v2 of KServe, Triton "
        "and MLServer (/v2/...), with its binary tensor extension, and TensorFlow Serving's "
        "REST predict (/v1/models/NAME:predict). Answers are nn-predict's, bit for bit: the "
        "checkpoint's input scaling is applied, and a classifier answers its class "
        "probabilities and the predicted class.\n"
        "\n"
        "Rows of concurrent requests run together in one forward pass (dynamic batching); a "
        "lone request is never delayed. With --model-dir, each new checkpoint nn-train writes "
        "is verified and swapped in without dropping a request; a damaged one is refused "
        "with one log line and the old model keeps serving. GET /metrics gives Prometheus "
        "metrics. It listens on 127.0.0.1 unless --host says otherwise; with --api-key-file "
        "every endpoint but the health checks needs the key.\n"
        "\n"
        "SIGHUP reloads the model. SIGTERM or SIGINT stops accepting connections, answers the "
        "requests in flight and exits 0.",
    .exit_status = "0\tstopped by SIGTERM or SIGINT after answering what was in flight (also "
                   "after --help and --version)\n"
                   "1\tthe model could not be loaded, or the address could not be bound\n"
                   "2\ta usage error: a bad flag or value, an unreadable --api-key-file",
    .environment = "OPENBLAS_NUM_THREADS\tignored: each forward pass uses one BLAS thread, "
                   "the parallelism is the requests'\n"
                   "OPENBLAS_CORETYPE\tthe OpenBLAS kernels (see nn-train(1))",
    .files = "CHECKPOINT.h5\ta checkpoint of nn-train (docs/checkpoint.md)\n"
             "CHECKPOINT_DIR/latest\twith --model-dir: the name of the checkpoint to serve\n"
             "share/nn-train/cluster\tnn-serve.service (systemd) and nn-serve.sbatch (Slurm)",
    .examples = "Serve the newest checkpoint of a training run, and classify one row:\n"
                "  nn-serve --model-dir ckpt --name fmnist --port 8080\n"
                "  curl -s localhost:8080/v2/models/fmnist/infer -d @row.json\n"
                "\n"
                "The same through TensorFlow Serving's API:\n"
                "  curl -s localhost:8080/v1/models/fmnist:predict -d '{\"instances\": "
                "[[0.0, 0.5, ...]]}'",
    .see_also = "nn-train(1), nn-predict(1), curl(1); share/doc/nn-train/serving.md",
};

int nn_serve_manual(int argc, char **argv)
{
    return nn_manual_main(&page, nn_serve_config_spec(), argc, argv);
}
