# Runs PROG with ARGS (a list) and writes its standard output to OUT, through OUT.tmp so that a
# failed run leaves no half-written file; stops the build when PROG fails.
#   cmake -DPROG=<program> -DARGS=<a;b> -DOUT=<file> -P RunTo.cmake
execute_process(COMMAND "${PROG}" ${ARGS} OUTPUT_FILE "${OUT}.tmp" RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  file(REMOVE "${OUT}.tmp")
  message(FATAL_ERROR "${PROG} ${ARGS} failed (${rc}); ${OUT} not written")
endif()
file(RENAME "${OUT}.tmp" "${OUT}")
