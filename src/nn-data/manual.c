/* manual.c: the prose of nn-data's manual pages, nn-data(1) and one per command
 * (nn-data-import-csv(1), ...); the OPTIONS come from the option tables in main.c. */
#include <stdio.h>
#include <string.h>

#include "nn_data_cmd.h"

static const char exit_status[] =
    "0\tsuccess\n"
    "1\ta data or I/O error: an unreadable or malformed input, an output that cannot be "
    "written; the output file is never left half-written\n"
    "2\ta usage error: an unknown command or flag, a missing required flag or FILE, a value "
    "outside its range, an output that is also an input";
static const char see_also[] = "nn-train(1), nn-predict(1), h5dump(1); "
                               "share/doc/nn-train/nn-data.md and data-format.md";
static const char output_file[] = "OUT.h5\tthe data file nn-train reads: /train/x, /train/y, "
                                  "optional /test, and /meta (docs/data-format.md); written as "
                                  "OUT.h5.tmp and renamed when complete";

static const nn_manual pages[] = {
    {.page = "nn-data",
     .purpose = "make and inspect nn-train data files",
     .synopsis = "  nn-data import-idx --images FILE --labels FILE -o OUT.h5 [options]\n"
                 "  nn-data import-csv FILE.csv --label COLUMN -o OUT.h5 [options]\n"
                 "  nn-data info FILE.h5 [options]",
     .description =
         "nn-data turns MNIST-style IDX files and CSV files into the HDF5 layout that "
         "nn-train --data reads, and summarises such files. It is one serial program with "
         "three commands, each with its own page:\n"
         "import-idx\tIDX images and labels (gzipped or not); pixels become x/255 "
         "(nn-data-import-idx(1))\n"
         "import-csv\ta CSV file (RFC 4180) with a label column (nn-data-import-csv(1))\n"
         "info\tshapes, types, label counts, non-finite values and feature ranges of a data "
         "file (nn-data-info(1))\n"
         "\n"
         "Memory does not grow with the input: files are read a chunk of rows at a time. "
         "Every error is one line, \"nn-data: error: ...\", naming the file (with line and "
         "column for CSV), flag or value and what was expected.",
     .exit_status = exit_status,
     .files = output_file,
     .examples = "  nn-data import-csv iris.csv --label species --test-fraction 0.2 -o iris.h5\n"
                 "  nn-data info iris.h5\n"
                 "  mpirun -np 2 nn-train --data iris.h5 --layers 4,16,3",
     .see_also = "nn-data-import-idx(1), nn-data-import-csv(1), nn-data-info(1), nn-train(1), "
                 "nn-predict(1); share/doc/nn-train/nn-data.md"},
    {.page = "nn-data-import-idx",
     .purpose = "MNIST-style IDX images and labels to an nn-train data file",
     .synopsis = "  nn-data import-idx --images FILE --labels FILE [--test-images FILE "
                 "--test-labels FILE] -o OUT.h5",
     .description = "Reads IDX unsigned-byte images [N, rows, cols] and labels [N] (gzipped "
                    "or not) and writes /train (and /test with --test-images and "
                    "--test-labels): x as float32 pixels scaled to [0, 1] (x/255), y as int32 "
                    "class labels, and /meta with the image shape.",
     .exit_status = exit_status,
     .files = output_file,
     .examples = "  nn-data import-idx --images train-images-idx3-ubyte.gz --labels "
                 "train-labels-idx1-ubyte.gz --test-images t10k-images-idx3-ubyte.gz "
                 "--test-labels t10k-labels-idx1-ubyte.gz -o fmnist.h5",
     .see_also = see_also},
    {.page = "nn-data-import-csv",
     .purpose = "a CSV file to an nn-train data file",
     .synopsis = "  nn-data import-csv FILE.csv --label COLUMN -o OUT.h5 [options]",
     .description =
         "Reads a CSV file (RFC 4180: quoted fields, CRLF or LF) record by record, in up to "
         "four passes: the first checks every row and learns the header, the task, the "
         "classes and each column's kind; a statistics pass over the training rows learns "
         "the imputed values and the categories; the last encodes and writes. Numeric "
         "columns become float32 features, categorical ones (--categorical, or mostly text) "
         "one feature per category; the label column becomes int32 classes (names kept in "
         "/meta/class_names) or float32 targets. A missing number (empty, or one of "
         "--na-values) is imputed (--impute) or drops its row; non-finite numbers drop the "
         "row, or stop the import (--bad-rows fail). The encoder is kept in /meta/encoder, "
         "and nn-train carries it into every checkpoint for nn-predict --csv. "
         "--test-fraction writes a seeded random subset to /test.",
     .exit_status = exit_status,
     .files = "FILE.csv\tthe input: a header row (or not, --header), one record per line\n"
              "OUT.h5\tthe data file (docs/data-format.md); written as OUT.h5.tmp and renamed "
              "when complete",
     .examples = "  nn-data import-csv iris.csv --label species --test-fraction 0.2 -o iris.h5\n"
                 "  nn-data import-csv churn.csv --label churn --drop-columns id --impute median "
                 "--test-fraction 0.25 -o churn.h5",
     .see_also = see_also},
    {.page = "nn-data-info",
     .purpose = "summarise an nn-train data file",
     .synopsis = "  nn-data info FILE.h5 [options]",
     .description = "Prints each split's shape and types, the label counts or target range, "
                    "the number of non-finite values and each feature's range, and what "
                    "/meta holds.",
     .exit_status = exit_status,
     .examples = "  nn-data info fmnist.h5 --features 4 --classes 10",
     .see_also = see_also},
};

const nn_manual *data_manual_page(const char *command)
{
    char name[64];
    snprintf(name, sizeof name, command ? "nn-data-%s" : "nn-data", command);
    for (size_t i = 0; i < N_OF(pages); i++)
        if (strcmp(pages[i].page, name) == 0)
            return &pages[i];
    return NULL;
}
