/* config.c: nn-predict's option table; src/base/args.c parses it and prints --help. */
#include <stdio.h>
#include <string.h>

#include "nn_args.h"
#include "nn_predict.h"

#define OFF(f) offsetof(nn_predict_config, f)
static const nn_arg options[] = {
    {"model", 0, NN_ARG_STR, OFF(model), NULL, "FILE.h5", 0, 0, NULL, 1,
     "checkpoint written by nn-train (docs/checkpoint.md)"},
    {"data", 0, NN_ARG_STR, OFF(data), NULL, "FILE.h5", 0, 0, NULL, 0,
     "HDF5 data set (docs/data-format.md); y may be absent from the split"},
    {"csv", 0, NN_ARG_STR, OFF(csv), NULL, "FILE.csv", 0, 0, NULL, 0,
     "raw rows instead of --data: a CSV file with a header naming the columns the model's data "
     "was imported from (nn-data import-csv), encoded as the importer did; the label column "
     "is optional (docs/tabular.md)"},
    {"split", 0, NN_ARG_STR, OFF(split), "auto", "NAME", 0, 0, "auto|test|val|train", 0,
     "split to predict; auto: test if the file has /test, else val, else train"},
    {"output", 0, NN_ARG_STR, OFF(output), NULL, "FILE", 0, 0, NULL, 0,
     "write the predictions; .csv or .h5/.hdf5 (chosen by the extension)"},
    {"batch", 0, NN_ARG_LONG, OFF(batch), "256", "N", 1, 1e7, NULL, 0, "rows per forward pass"},
    {"threads", 0, NN_ARG_LONG, OFF(threads), "0", "N", 0, 4096, NULL, 0,
     "OpenBLAS threads per rank; 0 keeps OPENBLAS_NUM_THREADS or OpenBLAS's default"},
    {"report", 0, NN_ARG_FLAG, OFF(report), NULL, NULL, 0, 0, NULL, 0,
     "classification: per-class precision, recall, F1 and support, accuracy, macro and "
     "weighted averages, the confusion matrix, ROC AUC for two classes (scikit-learn's "
     "classification_report layout); regression: MSE, MAE and R2"},
    {"explain", 0, NN_ARG_STR, OFF(explain), NULL, "METHOD", 0, 0, "ig|gradxinput|saliency", 0,
     "per-row attributions of --rows to the raw features, written to --output instead of "
     "predictions (docs/explain.md)"},
    {"importance", 0, NN_ARG_STR, OFF(importance), NULL, "METHOD", 0, 0, "permutation|ig", 0,
     "global feature importance over --rows: mean drop in accuracy (regression: rise in MSE) "
     "when a feature is shuffled, or mean |IG|; to --output and the top features printed"},
    {"rows", 0, NN_ARG_STR, OFF(rows), NULL, "LIST", 0, 0, NULL, 0,
     "--explain/--importance: file rows of the split, e.g. 0,5,10-19; none: every row"},
    {"class", 0, NN_ARG_STR, OFF(klass), "pred", "N", 0, 0, NULL, 0,
     "--explain/--importance ig: the class whose softmax probability is attributed (pred: "
     "each row's predicted class), or the regression output N (pred: 0)"},
    {"steps", 0, NN_ARG_LONG, OFF(steps), "64", "N", 1, 1e5, NULL, 0,
     "integrated gradients: points on the path from the baseline (--ig-method riemann)"},
    {"ig-method", 0, NN_ARG_STR, OFF(ig_method), "auto", "NAME", 0, 0, "auto|exact|riemann", 0,
     "integrated gradients: exact (the path's linear pieces of a relu or linear model; "
     "--steps unused), riemann (--steps midpoints), or auto (exact where it applies)"},
    {"baseline", 0, NN_ARG_STR, OFF(baseline), "mean", "FILE", 0, 0, NULL, 0,
     "integrated gradients' starting point: mean (the training mean in /preprocess), zero, or "
     "a file of D numbers in the raw features' units"},
    {"repeats", 0, NN_ARG_LONG, OFF(repeats), "5", "R", 1, 1000, NULL, 0,
     "--importance permutation: shuffles per feature"},
    {"seed", 0, NN_ARG_LONG, OFF(seed), "0", "N", 0, 9.0e15, NULL, 0,
     "--importance permutation: the shuffles' seed"},
    {"export", 0, NN_ARG_STR, OFF(export), NULL, "FILE.nnq", 0, 0, NULL, 0,
     "write --model as an int8 model (per-output-channel scales, CSC for pruned layers) that "
     "--model takes in place of a checkpoint, instead of predicting (docs/export.md)"},
    {"export-storage", 0, NN_ARG_STR, OFF(export_storage), "auto", "KIND", 0, 0,
     "auto|int8|csc", 0,
     "--export: each layer's codes dense (int8) or as sparse columns (csc); auto: the smaller"},
    {"attack", 0, NN_ARG_STR, OFF(attack), NULL, "NAME", 0, 0, "fgsm|pgd", 0,
     "adversarial examples of the split's rows within the L-infinity ball --eps (raw input "
     "units, clipped to the training data's range): clean and adversarial loss and accuracy "
     "instead of predictions (docs/robustness.md)"},
    {"eps", 0, NN_ARG_DOUBLE, OFF(eps), "0", "E", 0, 1e30, NULL, 0,
     "--attack: the ball's radius in the data's own units (required)"},
    {"attack-steps", 0, NN_ARG_LONG, OFF(attack_steps), "10", "N", 1, 100000, NULL, 0,
     "--attack pgd: steps after the FGSM point"},
    {"attack-step-size", 0, NN_ARG_DOUBLE, OFF(attack_step_size), "0", "A", 0, 1e30, NULL, 0,
     "--attack pgd: the step in raw units (0: 2.5 * E / N)"},
    {"attack-output", 0, NN_ARG_STR, OFF(attack_output), NULL, "FILE.h5", 0, 0, NULL, 0,
     "--attack: write the adversarial inputs and their y as a data file of the same split"},
    {"watts-per-core", 0, NN_ARG_DOUBLE, OFF(watts_per_core), "10", "W", 0, 1e4, NULL, 0,
     "energy where no RAPL counters are readable (/sys/class/powercap): CPU seconds x W, "
     "labelled an estimate (docs/energy.md)"},
    {"grid-intensity", 0, NN_ARG_DOUBLE, OFF(grid_intensity), "0", "G", 0, 1e5, NULL, 0,
     "the grid's carbon intensity in gCO2e/kWh: adds the predictions' emissions (0: none)"},
    {"quiet", 0, NN_ARG_FLAG, OFF(quiet), NULL, NULL, 0, 0, NULL, 0, "print errors only"},
    {"help", 0, NN_ARG_FLAG, OFF(help), NULL, NULL, 0, 0, NULL, 0, "show this help and exit"},
    {"version", 0, NN_ARG_FLAG, OFF(version), NULL, NULL, 0, 0, NULL, 0,
     "print the version and exit"},
};
#define N_OPTIONS (sizeof options / sizeof options[0])
_Static_assert(N_OPTIONS <= sizeof(((nn_predict_config *)0)->given), "given[] too small");
static const nn_argspec spec = {options, N_OPTIONS, "nn-predict", NULL};

/* The output format follows the file name's extension. */
static nn_out_kind out_kind(const char *path)
{
    const char *dot = strrchr(path, '.'), *slash = strrchr(path, '/');
    if (!dot || (slash && dot < slash))
        return NN_OUT_NONE;
    if (strcmp(dot, ".csv") == 0)
        return NN_OUT_CSV;
    if (strcmp(dot, ".h5") == 0 || strcmp(dot, ".hdf5") == 0)
        return NN_OUT_H5;
    return NN_OUT_NONE;
}

int nn_predict_config_parse(nn_predict_config *cfg, int argc, char **argv, char *err,
                            size_t errlen)
{
    memset(cfg, 0, sizeof *cfg);
    if (nn_args_parse(&spec, cfg, cfg->given, argc, argv, 1, err, errlen) != 0)
        return -1;
    if (cfg->csv && cfg->data) {
        snprintf(err, errlen, "--csv %s and --data %s: expected one input, raw rows or a data "
                 "file", cfg->csv, cfg->data);
        return -1;
    }
    if (cfg->csv && (cfg->export || cfg->attack || cfg->explain || cfg->importance)) {
        snprintf(err, errlen, "--csv %s goes with predictions; --%s reads a data file (encode "
                 "the rows with nn-data import-csv, then --data FILE.h5)", cfg->csv,
                 cfg->export ? "export" : cfg->attack ? "attack" : cfg->explain ? "explain"
                                                                           : "importance");
        return -1;
    }
    if (cfg->csv) /* the raw file stands for the data until rawcsv.c encodes it */
        cfg->data = cfg->csv;
    if (cfg->help || cfg->version)
        return 0;
    if (cfg->export && (cfg->output || cfg->report)) {
        snprintf(err, errlen, "--export %s writes the model; --%s goes with predictions",
                 cfg->export, cfg->output ? "output" : "report");
        return -1;
    }
    if (!cfg->data && !cfg->export) {
        snprintf(err, errlen, "nn-predict needs --data FILE.h5 or --csv FILE.csv (see "
                 "nn-predict --help); only --export goes without them");
        return -1;
    }
    if (cfg->attack && (cfg->output || cfg->report || !(cfg->eps > 0.0))) {
        snprintf(err, errlen, "--attack %s %s", cfg->attack,
                 !(cfg->eps > 0.0) ? "needs --eps E > 0, the ball's radius in the data's units"
                 : cfg->output ? "writes no predictions: --attack-output FILE.h5 writes the "
                                 "adversarial inputs (then nn-predict --data FILE.h5)"
                               : "prints its own figures: --report goes with predictions");
        return -1;
    }
    if (!cfg->attack && (cfg->attack_output || nn_args_given(&spec, cfg->given, "eps"))) {
        snprintf(err, errlen, "--%s goes with --attack fgsm|pgd",
                 cfg->attack_output ? "attack-output" : "eps");
        return -1;
    }
    if (cfg->explain && cfg->importance) {
        snprintf(err, errlen, "--explain %s and --importance %s: expected one of them (one "
                 "run makes one output file)", cfg->explain, cfg->importance);
        return -1;
    }
    if (cfg->explain && !cfg->output) {
        snprintf(err, errlen, "--explain %s: expected --output FILE.csv or FILE.h5 for the "
                 "attributions", cfg->explain);
        return -1;
    }
    if ((cfg->explain || cfg->importance) && cfg->report) {
        snprintf(err, errlen, "--report goes with predictions, not with --%s",
                 cfg->explain ? "explain" : "importance");
        return -1;
    }
    if (cfg->output) {
        cfg->out_kind = out_kind(cfg->output);
        if (cfg->out_kind == NN_OUT_NONE) {
            snprintf(err, errlen, "--output %s: expected a file name ending in .csv, .h5 or "
                     ".hdf5 (the extension chooses the format)",
                     cfg->output);
            return -1;
        }
    }
    return 0;
}

int nn_predict_config_given(const nn_predict_config *cfg, const char *name)
{
    return nn_args_given(&spec, cfg->given, name);
}

const nn_argspec *nn_predict_config_spec(void) { return &spec; }

void nn_predict_config_usage(FILE *out)
{
    fprintf(out,
            "usage: [mpirun -np N] nn-predict --model CHECKPOINT --data FILE [flags]\n"
            "Runs a trained model over one split of a data file: metrics when the split has\n"
            "labels or targets, and the predictions as CSV or HDF5 with --output.\n\n");
    nn_args_usage(&spec, out);
}
