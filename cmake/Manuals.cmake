# Man pages and bash completions, written at build time by the programs themselves from the
# option tables that drive --help (--help-man, --help-bash: src/base/manual.c), so that no
# form of the flags is kept by hand. build/man/man1/*.1 and build/completions/<program>;
# installed to share/man/man1 and share/bash-completion/completions (where bash-completion
# loads a program's completion the first time its name is completed).
include(GNUInstallDirs)
set(NN_MAN_DIR ${CMAKE_BINARY_DIR}/man/man1)
set(NN_COMPLETION_DIR ${CMAKE_BINARY_DIR}/completions)
file(MAKE_DIRECTORY ${NN_MAN_DIR} ${NN_COMPLETION_DIR})
set(NN_MANUAL_FILES)

# nn_manual_file(TARGET OUT ARGS...): OUT is what TARGET prints with ARGS.
function(nn_manual_file target out)
  add_custom_command(OUTPUT ${out}
    COMMAND ${CMAKE_COMMAND} -DPROG=$<TARGET_FILE:${target}> "-DARGS=${ARGN}" -DOUT=${out}
            -P ${PROJECT_SOURCE_DIR}/cmake/RunTo.cmake
    DEPENDS ${target} ${PROJECT_SOURCE_DIR}/cmake/RunTo.cmake
    COMMENT "Writing ${out}" VERBATIM)
  set(NN_MANUAL_FILES ${NN_MANUAL_FILES} ${out} PARENT_SCOPE)
endfunction()

foreach(prog nn-train nn-predict nn-serve nn-data)
  nn_manual_file(${prog} ${NN_MAN_DIR}/${prog}.1 --help-man)
  nn_manual_file(${prog} ${NN_COMPLETION_DIR}/${prog} --help-bash)
endforeach()
foreach(cmd import-idx import-csv info)
  nn_manual_file(nn-data ${NN_MAN_DIR}/nn-data-${cmd}.1 ${cmd} --help-man)
endforeach()
add_custom_target(manuals ALL DEPENDS ${NN_MANUAL_FILES})

install(DIRECTORY ${NN_MAN_DIR}/ DESTINATION ${CMAKE_INSTALL_MANDIR}/man1 FILES_MATCHING PATTERN "*.1")
install(DIRECTORY ${NN_COMPLETION_DIR}/ DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions)
