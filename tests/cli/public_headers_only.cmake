# public_headers_only.cmake — the CLI (cli/), the benchmarks (bench/) and
# plinth-plugin-check (tools/plugin-check/) are built against libplinth's
# public headers only: no compile command of theirs in the build's
# compile_commands.json has core/src on its include path. It does not check
# what the sources include, only what they could.
# Arguments (-D): SOURCE_DIR, BUILD_DIR.
cmake_minimum_required(VERSION 3.25)
file(READ ${BUILD_DIR}/compile_commands.json _db)
string(JSON _n LENGTH "${_db}")
math(EXPR _last "${_n} - 1")
set(_checked 0)
foreach(_i RANGE ${_last})
  string(JSON _file GET "${_db}" ${_i} file)
  if(NOT _file MATCHES "^${SOURCE_DIR}/(cli|bench|tools/plugin-check)/")
    continue()
  endif()
  string(JSON _cmd ERROR_VARIABLE _err GET "${_db}" ${_i} command)
  if(_err)
    string(JSON _cmd GET "${_db}" ${_i} arguments)
  endif()
  if(_cmd MATCHES "-I *${SOURCE_DIR}/core/src([ \";]|$)" OR _cmd MATCHES "-isystem *${SOURCE_DIR}/core/src([ \";]|$)")
    message(FATAL_ERROR "${_file} is compiled with core/src on its include path:\n${_cmd}")
  endif()
  math(EXPR _checked "${_checked} + 1")
endforeach()
if(_checked LESS 10)
  message(FATAL_ERROR "only ${_checked} compile commands of cli/, bench/, tools/plugin-check/ found")
endif()
message(STATUS "${_checked} compile commands of cli/, bench/ and tools/plugin-check/: public headers only")
