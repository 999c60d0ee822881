# Spack recipe for nn-train (packaging/README.md). Copy this directory into a Spack package
# repository as packages/nn-train/ (or `spack repo add` a repository that holds it), then
# build a checkout without fetching:
#   spack develop --path /path/to/nn-train nn-train@0.1.0 && spack install     (in an environment)
#   spack dev-build nn-train@0.1.0                                            (in the checkout)
# The repository has no public address yet: once it has, add `git = ...` (or `url` and the
# release's sha256) so that plain `spack install nn-train` can fetch it.

from spack.package import *


class NnTrain(CMakePackage):
    """Data-parallel training of multilayer perceptrons over MPI (OpenBLAS, HDF5), with
    batch inference (nn-predict), data import (nn-data) and an HTTP inference server
    (nn-serve). Installs the programs, their manual pages, Slurm batch jobs and an Lmod
    modulefile of its own (Spack writes its own modules too)."""

    homepage = "https://github.com/"  # no public repository yet; see the comment above

    maintainers("nn-train")
    license("UNKNOWN")  # the repository states no license yet

    version("0.1.0")

    depends_on("c", type="build")
    depends_on("cmake@3.18:", type="build")
    depends_on("pkgconfig", type="build")

    depends_on("mpi")  # MPI-3 (shared-memory windows); tested with Open MPI 4.1
    depends_on("openblas")  # found by pkg-config as openblas; nn-train sets its threads
    depends_on("hdf5~mpi")  # the serial library: only rank 0 writes
    depends_on("zlib-api")  # gzipped IDX files
    depends_on("libmicrohttpd")  # nn-serve's HTTP
    # CMakeLists.txt requires cmocka even without tests (its unit tests link it)
    depends_on("cmocka", type="build")
    depends_on("cjson", type="test")  # an independent JSON reader in test_serve

    # jsmn, the header-only JSON tokenizer nn-serve uses, has no Spack package: the header
    # comes from its release and CMake is told where (JSMN_INCLUDE_DIR). The checksum is the
    # one xmake-repo's jsmn recipe gives for this archive; it could not be verified offline.
    resource(
        name="jsmn",
        url="https://github.com/zserge/jsmn/archive/refs/tags/v1.1.0.tar.gz",
        sha256="5f0913a10657fe7ec8d5794ccf00a01000e3e1f2f1e1f143c34a0f7b47edcb38",
        destination="",
        placement="jsmn",  # -> jsmn/jsmn.h in the source directory
    )

    def cmake_args(self):
        return [
            self.define("JSMN_INCLUDE_DIR", join_path(self.stage.source_path, "jsmn")),
            self.define("NN_WERROR", False),
            self.define("BUILD_TESTING", self.run_tests),
        ]

    def setup_run_environment(self, env):
        # One OpenBLAS thread per MPI rank. Spack's modules set it unconditionally; the Lmod
        # modulefile of share/modulefiles keeps a value set before the load.
        env.set("OPENBLAS_NUM_THREADS", "1")
        env.set("NN_TRAIN_ROOT", self.prefix)
