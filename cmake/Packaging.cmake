# The install layout beyond the programs, and the Debian package (docs/install.md):
#   bin/                                    the programs (CMakeLists.txt)
#   share/man/man1, share/bash-completion/  manual pages, completions (cmake/Manuals.cmake)
#   share/nn-train/cluster/                 cluster/: Slurm jobs, the systemd unit, slurm-local.sh
#   share/nn-train/examples/                the Fashion-MNIST recipe and its plot script
#   share/modulefiles/nn-train/VERSION.lua  the Lmod modulefile (packaging/lmod/nn-train.lua.in)
#   share/doc/nn-train/                     README.md and docs/ (so that README's links work)
# The installed Slurm jobs, the systemd unit and the modulefile name the installed programs:
# the prefix is known only when installing (cmake --install --prefix P), so those files are
# written then, into the build directory, and installed from there.
include(GNUInstallDirs)
set(NN_DATADIR ${CMAKE_INSTALL_DATADIR}/nn-train)

install(FILES README.md DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(DIRECTORY docs/ DESTINATION ${CMAKE_INSTALL_DOCDIR}/docs
        FILES_MATCHING PATTERN "*.md" PATTERN "*.png")

install(PROGRAMS cluster/slurm-local.sh cluster/sweep-collect.sh DESTINATION ${NN_DATADIR}/cluster)
install(FILES cluster/README.md DESTINATION ${NN_DATADIR}/cluster)
install(PROGRAMS scripts/fashion-mnist.sh scripts/plot-metrics.sh DESTINATION ${NN_DATADIR}/examples)
install(FILES scripts/plot-metrics.gp DESTINATION ${NN_DATADIR}/examples)

# At install time: NN_BINDIR= in the Slurm jobs becomes the installed bin directory, the unit's
# /usr/local/bin/nn-serve the installed nn-serve, and the modulefile gets the prefix. They are
# written into a directory of their own under build/packaging (installs to two prefixes may
# run at once: the tests do) and installed from there by file(INSTALL), as install() would.
install(CODE "set(nn_src \"${PROJECT_SOURCE_DIR}\")
set(nn_stage \"${CMAKE_BINARY_DIR}/packaging\")
set(nn_bindir_rel \"${CMAKE_INSTALL_BINDIR}\")
set(nn_mandir_rel \"${CMAKE_INSTALL_MANDIR}\")
set(nn_datadir_rel \"${CMAKE_INSTALL_DATADIR}\")
set(NN_VERSION \"${PROJECT_VERSION}\")")
install(CODE [[
  set(NN_PREFIX "${CMAKE_INSTALL_PREFIX}")
  foreach(d bindir mandir datadir)
    if(IS_ABSOLUTE "${nn_${d}_rel}")
      set(nn_${d} "${nn_${d}_rel}")
    else()
      set(nn_${d} "${NN_PREFIX}/${nn_${d}_rel}")
    endif()
  endforeach()
  if(nn_bindir MATCHES "'")
    message(FATAL_ERROR "the bin directory ${nn_bindir} has a ' in its name")
  endif()
  string(RANDOM LENGTH 12 tag)
  set(stage "${nn_stage}/install-${tag}")
  file(MAKE_DIRECTORY "${stage}")
  foreach(f nn-train.sbatch sweep.sbatch nn-serve.sbatch)
    file(READ "${nn_src}/cluster/${f}" text)
    string(REPLACE "
NN_BINDIR=
" "
NN_BINDIR='${nn_bindir}'
" out "${text}")
    if(out STREQUAL text)
      message(FATAL_ERROR "cluster/${f} has no line 'NN_BINDIR=' to set")
    endif()
    file(WRITE "${stage}/${f}" "${out}")
  endforeach()
  file(READ "${nn_src}/cluster/nn-serve.service" text)
  string(REPLACE "/usr/local/bin/nn-serve" "${nn_bindir}/nn-serve" out "${text}")
  file(WRITE "${stage}/nn-serve.service" "${out}")
  set(NN_BINDIR "${nn_bindir}")
  set(NN_MANDIR "${nn_mandir}")
  configure_file("${nn_src}/packaging/lmod/nn-train.lua.in" "${stage}/${NN_VERSION}.lua" @ONLY)
  file(INSTALL DESTINATION "${nn_datadir}/nn-train/cluster" TYPE PROGRAM
       FILES "${stage}/nn-train.sbatch" "${stage}/sweep.sbatch" "${stage}/nn-serve.sbatch")
  file(INSTALL DESTINATION "${nn_datadir}/nn-train/cluster" TYPE FILE
       FILES "${stage}/nn-serve.service")
  file(INSTALL DESTINATION "${nn_datadir}/modulefiles/nn-train" TYPE FILE
       FILES "${stage}/${NN_VERSION}.lua")
  file(REMOVE_RECURSE "${stage}")
]])

# ---- the Debian package: cpack -G DEB in the build directory (tests/e2e_package.sh) ----
# Depends come from dpkg-shlibdeps (dpkg-dev), which maps every shared library the programs
# link to the Debian package that ships it (libopenmpi3, libopenblas0-*, libhdf5-103-1,
# zlib1g, libmicrohttpd12, libc6); openmpi-bin is added by name, since the jobs and the
# users start nn-train with its mpirun.
set(NN_PACKAGE_MAINTAINER "nn-train maintainers <nn-train@invalid>"
    CACHE STRING "the Maintainer field of the Debian package")
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME nn-train)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "${NN_PACKAGE_MAINTAINER}")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "data-parallel neural-network trainer over MPI, with batch and HTTP inference")
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION "${CPACK_PACKAGE_DESCRIPTION_SUMMARY}
 nn-train trains multilayer perceptrons data-parallel over MPI (Open MPI, OpenBLAS)
 from HDF5 data sets, with checkpoints that survive pre-emption. nn-predict scores
 data sets with a checkpoint, nn-data imports IDX and CSV files, and nn-serve
 serves a model over HTTP (Open Inference Protocol v2, TensorFlow Serving REST).
 Slurm batch jobs, a systemd unit and an Lmod modulefile are in /usr/share/nn-train
 and /usr/share/modulefiles.")
set(CPACK_DEBIAN_PACKAGE_SECTION science)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT) # nn-train_VERSION_ARCH.deb
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "openmpi-bin")
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "slurm-client, lmod, dataset-fashion-mnist, gnuplot-nox")
# Installed under /usr, staged with DESTDIR: the install then sees CMAKE_INSTALL_PREFIX=/usr
# (not the staging directory), which is what the Slurm jobs and the modulefile must name.
set(CPACK_SET_DESTDIR ON)
set(CPACK_INSTALL_PREFIX /usr)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_COMPRESSION_TYPE gzip)
include(CPack)
