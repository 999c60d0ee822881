/* manual.c: nn-train's manual page; the prose is here, the OPTIONS come from the option table
 * (include/train/nn_options.def) like --help. */
#include <stdio.h>

#include "manual.h"
#include "nn_config.h"
#include "nn_manual.h"

static const nn_manual page = {
    .page = "nn-train",
    .purpose = "data-parallel training of a multilayer perceptron over MPI",
    .synopsis = "  mpirun -np N nn-train --data FILE.h5 --layers LIST [options]\n"
                "  nn-train [options]\n"
                "  nn-train --verify CHECKPOINT.h5",
    .description =
        "nn-train trains a multilayer perceptron on an HDF5 data set. Each MPI rank holds a "
        "replica of the model and a shard of the data; gradients are summed over ranks "
        "(shared memory within a host, MPI_Allreduce between hosts) before each optimizer "
        "step, so the replicas stay identical. Rank 0 writes HDF5 checkpoints.\n"
        "\n"
        "Run it under mpirun or inside a Slurm job (mpirun within the allocation, or srun "
        "--mpi=pmix), or as a plain process. Without --data it trains a built-in example "
        "(y = 2x, 1-64-64-1, 100 epochs).\n"
        "\n"
        "The loss is softmax cross-entropy for integer labels and mean squared error for "
        "float targets (--loss auto). Each epoch prints one line: train loss, validation "
        "loss and accuracy or MSE, samples/s and the time split into compute, gradient sum "
        "and I/O. SIGTERM, SIGINT or SIGUSR1 make every rank stop at the next step, write a "
        "checkpoint and exit 75; --resume auto then continues bit for bit.\n"
        "\n"
        "Bad input (a flag, a value, a file that does not fit) gives one line naming it and "
        "what was expected, and every rank exits with the same status.",
    .exit_status = "0\tsuccess (also after --help, --version, and a --verify that passed)\n"
                   "1\ta runtime failure: bad data, a damaged checkpoint, divergence, an output "
                   "that could not be written\n"
                   "2\ta usage error: a bad flag or value, --layers that do not fit the data, "
                   "flags that contradict the resumed checkpoint, an output that is an input\n"
                   "3\t--comm-timeout expired: a rank died or froze\n"
                   "75\ta signal stopped the run after writing a checkpoint: resume it",
    .environment =
        "OPENBLAS_NUM_THREADS\tBLAS threads per rank; set it to 1 when a host runs a rank per "
        "core (the Slurm scripts do)\n"
        "OPENBLAS_CORETYPE\tthe OpenBLAS kernels; when unset and OpenBLAS chose kernels "
        "narrower than the CPU's, nn-train sets it and starts itself again (the banner says "
        "which kernels run)\n"
        "SLURM_JOB_ID\tinside a Slurm job, --comm-timeout defaults to 900 seconds\n"
        "SLURM_STEP_NUM_TASKS, SLURM_PROCID\ta Slurm step of several tasks that MPI sees as "
        "one rank each (srun without --mpi=pmix) is refused with exit status 2\n"
        "OMPI_*\tOpen MPI's own settings (as root: OMPI_ALLOW_RUN_AS_ROOT=1 and "
        "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1)",
    .files = "FILE.h5\tthe data set: /train/x, /train/y, optional /test and /meta "
             "(docs/data-format.md)\n"
             "DIR/ckpt-eEEEEEE-sSSSSSSSS.h5\ta checkpoint in --checkpoint-dir: the weights, "
             "the optimizer state, the settings and a checksum (docs/checkpoint.md)\n"
             "DIR/latest\tthe name of the newest complete checkpoint\n"
             "DIR/best.h5\tthe best model by validation loss, with --early-stopping",
    .examples = "The built-in example, as a plain process:\n"
                "  nn-train\n"
                "\n"
                "Fashion-MNIST on 2 ranks, with checkpoints:\n"
                "  mpirun -np 2 nn-train --data fmnist.h5 --layers 784,256,128,10 --epochs 20 "
                "--checkpoint-dir ckpt\n"
                "\n"
                "Continue after a pre-emption, with any rank count:\n"
                "  mpirun -np 4 nn-train --data fmnist.h5 --layers 784,256,128,10 --epochs 20 "
                "--checkpoint-dir ckpt --resume auto",
    .see_also = "nn-predict(1), nn-serve(1), nn-data(1), mpirun(1); the documents in "
                "share/doc/nn-train: README.md, checkpoint.md, data-format.md, "
                "performance.md",
};

int nn_train_manual(int argc, char **argv)
{
    return nn_manual_main(&page, nn_config_spec(), argc, argv);
}
