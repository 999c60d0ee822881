/* manual.c: nn-predict's manual page; the prose is here, the OPTIONS come from the option
 * table (config.c) like --help. */
#include <stdio.h>

#include "nn_manual.h"
#include "nn_predict.h"

static const nn_manual page = {
    .page = "nn-predict",
    .purpose = "run a model trained by nn-train over a data set",
    .synopsis = "  [mpirun -np N] nn-predict --model CHECKPOINT.h5 --data FILE.h5 [options]",
    .description =
        "nn-predict loads a checkpoint written by nn-train and runs the model over one split "
        "of an HDF5 data file, applying the input scaling stored in the checkpoint. When the "
        "split has labels or targets it prints the loss and the accuracy (or MSE). With "
        "--output it writes the predictions: for a classifier the predicted class and the "
        "probability of every class, for a regressor the values in the data's units.\n"
        "\n"
        "It runs as a plain process or under mpirun, and gives the same answer at any rank "
        "count. The checkpoint is verified (its checksum covers the tensors, the settings and "
        "the scaling) before any work, and an --output that is an input is refused.",
    .exit_status = "0\tsuccess\n"
                   "1\ta runtime failure: a damaged checkpoint, unreadable data, an output that "
                   "could not be written\n"
                   "2\ta usage error: a bad flag or value, a split the file lacks, data that "
                   "does not fit the model, an --output that is an input",
    .environment = "OPENBLAS_NUM_THREADS\tBLAS threads per rank, unless --threads is given\n"
                   "OPENBLAS_CORETYPE\tthe OpenBLAS kernels (see nn-train(1))",
    .files = "CHECKPOINT.h5\ta checkpoint of nn-train (docs/checkpoint.md)\n"
             "FILE.h5\tthe data set (docs/data-format.md); y may be absent\n"
             "OUT.csv, OUT.h5\tthe predictions, by --output's extension (docs/nn-predict.md)",
    .examples = "Metrics on the test split:\n"
                "  nn-predict --model ckpt/best.h5 --data fmnist.h5\n"
                "\n"
                "Predictions for new rows, on 4 ranks:\n"
                "  mpirun -np 4 nn-predict --model ckpt/best.h5 --data new.h5 --output "
                "preds.csv",
    .see_also = "nn-train(1), nn-serve(1), nn-data(1); share/doc/nn-train/nn-predict.md",
};

int nn_predict_manual(int argc, char **argv)
{
    return nn_manual_main(&page, nn_predict_config_spec(), argc, argv);
}
