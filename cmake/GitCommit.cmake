# Writes OUT (nn_commit.c, nn_build_commit() of include/base/nn_version.h) with the commit of
# the source tree SRC, at every build, but touches the file only when the commit changed, so
# that an unchanged tree rebuilds nothing.
#   cmake -DSRC=<source dir> -DOUT=<file.c> -P GitCommit.cmake
set(commit unknown)
find_program(GIT git)
if(GIT AND EXISTS "${SRC}/.git")
  execute_process(COMMAND "${GIT}" -C "${SRC}" rev-parse --short=12 HEAD
                  OUTPUT_VARIABLE head OUTPUT_STRIP_TRAILING_WHITESPACE RESULT_VARIABLE rc
                  ERROR_QUIET)
  if(rc EQUAL 0 AND head)
    set(commit "${head}")
    execute_process(COMMAND "${GIT}" -C "${SRC}" diff-index --quiet HEAD --
                    RESULT_VARIABLE dirty ERROR_QUIET)
    if(NOT dirty EQUAL 0)
      set(commit "${commit}-dirty")
    endif()
  endif()
endif()
set(text "/* written by cmake/GitCommit.cmake at build time */\n#include \"nn_version.h\"\n\nconst char *nn_build_commit(void) { return \"${commit}\"; }\n")
if(EXISTS "${OUT}")
  file(READ "${OUT}" old)
endif()
if(NOT old STREQUAL text)
  file(WRITE "${OUT}" "${text}")
endif()
