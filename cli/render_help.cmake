# render_help.cmake — run at build time: the built `plinth` prints its man
# page (--help-man) and bash completion (--completion-bash) from the same
# definitions as --help; the page is also gzipped (-9n: no name or time).
# cmake -DPLINTH=<exe> -DDATE=<YYYY-MM-DD> -DGZIP=<gzip> -DMAN=<out.1> -DCOMPLETION=<out> -P render_help.cmake
set(ENV{PLINTH_MAN_DATE} "${DATE}")
# A sanitizer build runs this too: a leak report must not fail the build.
set(ENV{ASAN_OPTIONS} "detect_leaks=0")
execute_process(COMMAND ${PLINTH} --help-man OUTPUT_FILE ${MAN} RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${PLINTH} --help-man failed: ${rc}")
endif()
execute_process(COMMAND ${GZIP} -9nc ${MAN} OUTPUT_FILE ${MAN}.gz RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "gzip ${MAN} failed: ${rc}")
endif()
execute_process(COMMAND ${PLINTH} --completion-bash OUTPUT_FILE ${COMPLETION} RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${PLINTH} --completion-bash failed: ${rc}")
endif()
