# find_package_test.cmake — tests the installed package, as a vendor and an
# embedding application use it:
#   1. install the Plinth build into a fresh prefix;
#   2. configure, build and install examples/vendor-backend,
#      examples/optimizer-lion and the sdk/template projects against that
#      prefix alone (find_package);
#      check each build tree's manifest and each installed manifest;
#      run the vendor backend's own tests; check exported symbols;
#   3. load them with the installed plinth (plugins list / inspect), from
#      the build trees' manifests and from <prefix>/share/plinth/plugins.d;
#   4. build an embedding application (Plinth::core, plinth.pc) and run it,
#      and build examples/embed (plinth::core) and train with it;
#   5. configure one template against the Plinth build tree (build export).
# Arguments (-D): SOURCE_DIR, BUILD_DIR, WORK, GENERATOR, CXX, C, NM.
cmake_minimum_required(VERSION 3.25)

function(run what)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE _rc OUTPUT_VARIABLE _out ERROR_VARIABLE _out)
  if(NOT _rc EQUAL 0)
    message(FATAL_ERROR "${what} failed (${_rc}):\n${ARGN}\n${_out}")
  endif()
  set(OUT "${_out}" PARENT_SCOPE)
endfunction()

function(expect text pattern what)
  if(NOT text MATCHES "${pattern}")
    message(FATAL_ERROR "${what}: expected to match '${pattern}', got:\n${text}")
  endif()
endfunction()

set(PREFIX ${WORK}/prefix)
file(REMOVE_RECURSE ${WORK})
file(MAKE_DIRECTORY ${WORK})

# --- 1. install
run("install" ${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${PREFIX})
foreach(_f include/plinth/plugin.h include/plinth/backend.h include/plinth/plugin.hpp include/plinth/registry.hpp
           include/plinth/status.hpp include/plinth/log.hpp include/plinth/pipeline.hpp include/plinth/train.hpp
           include/plinth/runs.hpp include/plinth/sample.hpp include/plinth/predict.hpp include/plinth/sweep.hpp
           include/plinth/retrain.hpp
           include/plinth/backend_instance.hpp include/plinth/plugins.hpp lib/cmake/Plinth/PlinthConfig.cmake
           lib/cmake/Plinth/PlinthConfigVersion.cmake lib/cmake/Plinth/PlinthTargets.cmake
           lib/cmake/Plinth/PlinthAddPlugin.cmake lib/pkgconfig/plinth.pc bin/plinth lib/libplinth.so
           lib/plinth/plugins/libplinth-backend-cpu.so share/plinth/plugins.d/plinth-backend-cpu.toml)
  if(NOT EXISTS ${PREFIX}/${_f})
    message(FATAL_ERROR "not installed: <prefix>/${_f}")
  endif()
endforeach()

set(_common -G ${GENERATOR} -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_COMPILER=${CXX} -DCMAKE_C_COMPILER=${C}
            -DCMAKE_PREFIX_PATH=${PREFIX} -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF)

# --- 2. vendor projects against the installed prefix only
set(_projects vendor-matmul=examples/vendor-backend template-backend=sdk/template/backend
              template-optimizer=sdk/template/optimizer template-data=sdk/template/data
              template-comm=sdk/template/comm example-lion=examples/optimizer-lion)
set(_libs)
foreach(_p ${_projects})
  string(REPLACE "=" ";" _p ${_p})
  list(GET _p 0 _name)
  list(GET _p 1 _src)
  set(_b ${WORK}/build-${_name})
  run("configure ${_src}" ${CMAKE_COMMAND} -S ${SOURCE_DIR}/${_src} -B ${_b} ${_common})
  run("build ${_src}" ${CMAKE_COMMAND} --build ${_b} -j 2)
  # The build tree's manifest sits in the vendor's build tree and points at
  # the vendor's library.
  set(_m ${_b}/share/plinth/plugins.d/${_name}.toml)
  if(NOT EXISTS ${_m} OR NOT EXISTS ${_b}/lib/plinth/plugins/lib${_name}.so)
    message(FATAL_ERROR "${_src}: no manifest ${_m} or library in ${_b}/lib/plinth/plugins")
  endif()
  file(READ ${_m} _text)
  expect("${_text}" "path = \"../../../lib/plinth/plugins/lib${_name}.so\"" "${_m}")
  # Installed into the Plinth prefix, as a distribution package would.
  # The copy beside the library names it by file name alone.
  file(READ ${_b}/lib/plinth/plugins/${_name}.toml _text)
  expect("${_text}" "path = \"lib${_name}.so\"" "${_b}/lib/plinth/plugins/${_name}.toml")
  run("install ${_src}" ${CMAKE_COMMAND} --install ${_b} --prefix ${PREFIX})
  file(READ ${PREFIX}/share/plinth/plugins.d/${_name}.toml _text)
  expect("${_text}" "path = \"../../../lib/plinth/plugins/lib${_name}.so\"" "installed ${_name}.toml")
  file(READ ${PREFIX}/lib/plinth/plugins/${_name}.toml _text)
  expect("${_text}" "path = \"lib${_name}.so\"" "installed lib/plinth/plugins/${_name}.toml")
  # The user-folder route (sdk/README.md section 6): the library and the
  # manifest beside it, copied together into one folder.
  file(COPY ${_b}/lib/plinth/plugins/lib${_name}.so ${_b}/lib/plinth/plugins/${_name}.toml
       DESTINATION ${WORK}/copied)
  list(APPEND _libs ${_b}/lib/plinth/plugins/lib${_name}.so)
endforeach()
run("vendor-backend tests" ${CMAKE_CTEST_COMMAND} --test-dir ${WORK}/build-vendor-matmul --output-on-failure)
run("exported symbols" ${CMAKE_COMMAND} -DNM=${NM} "-DPLUGINS=${_libs}"
    -P ${SOURCE_DIR}/tests/sdk/check_exports.cmake)

# --- 3. load them with the installed plinth
set(PLINTH ${PREFIX}/bin/plinth)
set(ENV{PLINTH_PLUGIN_PATH} "")
set(_paths)
foreach(_p ${_projects})
  string(REGEX REPLACE "=.*" "" _name ${_p})
  list(APPEND _paths --plugin-path ${WORK}/build-${_name}/share/plinth/plugins.d)
endforeach()
# From the vendors' build trees, with the install's own manifests off.
run("plugins list (build trees)" ${PLINTH} --no-system-plugins --no-install-plugins ${_paths} plugins list)
foreach(_p ${_projects})
  string(REGEX REPLACE "=.*" "" _name ${_p})
  expect("${OUT}" "${_name}[^\n]*loaded" "plinth plugins list")
endforeach()
# Copied pairs load from wherever they were copied to (here through
# $XDG_CONFIG_HOME/plinth/plugins.d, the user's folder); a share/ manifest
# copied without its library is refused naming the folder its relative path
# was resolved against and the pair to copy instead.
file(MAKE_DIRECTORY ${WORK}/xdg/plinth)
file(RENAME ${WORK}/copied ${WORK}/xdg/plinth/plugins.d)
set(ENV{XDG_CONFIG_HOME} ${WORK}/xdg)
run("plugins list (user folder)" ${PLINTH} --no-install-plugins plugins list)
foreach(_p ${_projects})
  string(REGEX REPLACE "=.*" "" _name ${_p})
  expect("${OUT}" "${_name}[^\n]*loaded" "plinth plugins list (copied into the user folder)")
endforeach()
file(MAKE_DIRECTORY ${WORK}/lonely)
file(COPY ${WORK}/build-example-lion/share/plinth/plugins.d/example-lion.toml DESTINATION ${WORK}/lonely)
execute_process(COMMAND ${PLINTH} --no-system-plugins --no-install-plugins --plugin-path ${WORK}/lonely
                        plugins doctor RESULT_VARIABLE _rc OUTPUT_VARIABLE _out ERROR_VARIABLE _out)
expect("${_out}" "library not found" "a share/ manifest copied alone")
expect("${_out}" "relative to the manifest's folder \\(${WORK}/lonely\\)" "a share/ manifest copied alone")
expect("${_out}" "libexample-lion.so and example-lion.toml" "a share/ manifest copied alone")
unset(ENV{XDG_CONFIG_HOME})
run("plugins inspect" ${PLINTH} --no-system-plugins --no-install-plugins ${_paths} plugins inspect vendor-matmul)
expect("${OUT}" "vendor-matmul worker thread" "plinth plugins inspect vendor-matmul (device)")
expect("${OUT}" "Example Vendor" "plinth plugins inspect vendor-matmul (vendor)")
run("plugins inspect" ${PLINTH} --no-system-plugins --no-install-plugins ${_paths} plugins inspect template-data)
expect("${OUT}" "samples" "plinth plugins inspect template-data (config keys)")
# The installed conformance kit passes on every out-of-tree plugin, one of
# each kind: the backends' supports() matches the CPU backend (the reference
# comes from the prefix's own manifests), the template optimizer's malformed
# steps are refused, the template data source keeps data.h's rules, the
# template communicator's collectives are right for its one rank.
foreach(_name vendor-matmul template-backend template-optimizer template-data template-comm example-lion)
  run("plinth-plugin-check ${_name}" ${PREFIX}/bin/plinth-plugin-check
      --manifest ${WORK}/build-${_name}/share/plinth/plugins.d)
  expect("${OUT}" " 0 fail" "plinth-plugin-check ${_name}")
endforeach()
# The composed Lion against the kit's own Lion rule (fused ops offered or
# not, it composes: both rows are checked against the reference).
run("plinth-plugin-check example-lion --optimizer-rule lion" ${PREFIX}/bin/plinth-plugin-check
    --manifest ${WORK}/build-example-lion/share/plinth/plugins.d --optimizer-rule lion)
expect("${OUT}" " 0 fail" "plinth-plugin-check example-lion --optimizer-rule lion")
expect("${OUT}" "betas=\\[0.95,0.98\\] weight_decay=0 \\(composed ops\\) +pass" "example-lion against the lion rule")
# Crashing and hanging plugins of every kind, built out of tree the same
# way: the installed kit names each case the plugin ended (by signal, or
# killed after --case-timeout), reaches its report and exits 1.
run("configure broken plugins" ${CMAKE_COMMAND} -S ${SOURCE_DIR}/tests/packaging/broken -B ${WORK}/build-broken
    ${_common})
run("build broken plugins" ${CMAKE_COMMAND} --build ${WORK}/build-broken -j 2)
set(_bm ${WORK}/build-broken/share/plinth/plugins.d)
file(WRITE ${WORK}/crash.toml "bug = \"crash\"\n")
file(WRITE ${WORK}/hang.toml "bug = \"hang\"\n")
function(expect_ended what how)  # ARGN: the tool's arguments
  execute_process(COMMAND ${PREFIX}/bin/plinth-plugin-check --case-timeout 1 ${ARGN} RESULT_VARIABLE _rc
                  OUTPUT_VARIABLE _out ERROR_VARIABLE _err)
  if(NOT _rc EQUAL 1)
    message(FATAL_ERROR "plinth-plugin-check on the ${what}: exit ${_rc}, expected 1:\n${_out}\n${_err}")
  endif()
  expect("${_out}" "${how}" "plinth-plugin-check on the ${what}")
  expect("${_out}" "[0-9]+ checks: [0-9]+ pass, [1-9][0-9]* fail" "plinth-plugin-check on the ${what} (its report)")
endfunction()
set(_died "fail *\n *the plugin died of SIGSEGV \\(signal 11\\) during this case")
set(_hung "fail *\n *hung: no case finished within 1 s")
expect_ended("crashing optimizer" "lr=0.01 \\(fused ops offered\\) +${_died}" --manifest ${_bm}/broken-sgd.toml
             --component crashing-sgd)
expect_ended("hanging optimizer" "lr=0.01 \\(fused ops offered\\) +${_hung}" --manifest ${_bm}/broken-sgd.toml
             --component hanging-sgd)
expect_ended("crashing backend" "ADD \\[3,17\\] +${_died}" --manifest ${_bm}/crash-add.toml)
expect_ended("hanging backend" "ADD \\[3,17\\] +${_hung}" --manifest ${_bm}/hang-add.toml)
expect_ended("crashing data source" "reads +${_died}" --manifest ${_bm}/plinth-test-broken-data.toml
             --data-config ${WORK}/crash.toml)
expect_ended("hanging data source" "reads +${_hung}" --manifest ${_bm}/plinth-test-broken-data.toml
             --data-config ${WORK}/hang.toml)
# The communicator's bug is chosen by PLINTH_TEST_COMM_BUG; its child is not
# replaced (a new process cannot re-join the world), so the rest is named.
set(_not_run "; the cases after it did not run")
set(ENV{PLINTH_TEST_COMM_BUG} crash)
expect_ended("crashing communicator" "all_gather cases +${_died}${_not_run}" --manifest ${_bm}/broken-comm.toml)
set(ENV{PLINTH_TEST_COMM_BUG} hang)
expect_ended("hanging communicator" "all_gather cases +${_hung}" --manifest ${_bm}/broken-comm.toml)
unset(ENV{PLINTH_TEST_COMM_BUG})

# From the prefix's share/plinth/plugins.d, next to the core's own plugins.
run("plugins doctor (installed)" ${PLINTH} --no-system-plugins plugins doctor)
run("plugins list (installed)" ${PLINTH} --no-system-plugins plugins list)
foreach(_name vendor-matmul template-backend template-optimizer template-data template-comm example-lion
              plinth-backend-cpu)
  expect("${OUT}" "${_name}[^\n]*loaded" "installed plinth plugins list")
endforeach()

# --- 4. an application embedding the core
set(ENV{PKG_CONFIG_PATH} ${PREFIX}/lib/pkgconfig)
run("configure embed" ${CMAKE_COMMAND} -S ${SOURCE_DIR}/tests/packaging/embed -B ${WORK}/build-embed ${_common})
run("build embed" ${CMAKE_COMMAND} --build ${WORK}/build-embed -j 2)
run("run embed" ${WORK}/build-embed/embed)
expect("${OUT}" "plinth-backend-cpu loaded" "embedding application")
run("run pc_c" ${WORK}/build-embed/pc_c)
expect("${OUT}" "ABI 1\\.2" "plinth.pc C program")
# examples/embed: trains the MNIST example's model (synthetic digits: the
# real ones need the network) with its own callbacks, finding the prefix's
# plugins next to the installed libplinth.
run("configure examples/embed" ${CMAKE_COMMAND} -S ${SOURCE_DIR}/examples/embed -B ${WORK}/build-example-embed
    ${_common})
run("build examples/embed" ${CMAKE_COMMAND} --build ${WORK}/build-example-embed -j 2)
run("train with examples/embed" ${WORK}/build-example-embed/plinth-embed
    ${SOURCE_DIR}/tests/examples/embed_synthetic.toml --steps 5 --out-dir ${WORK}/embed-runs)
expect("${OUT}" "trained 5 steps" "examples/embed")
if(NOT EXISTS ${WORK}/embed-runs/embed-synthetic/summary.json)
  message(FATAL_ERROR "examples/embed wrote no ${WORK}/embed-runs/embed-synthetic/summary.json")
endif()

# --- 5. find_package against the Plinth build tree (export(EXPORT ...))
run("configure against the build tree" ${CMAKE_COMMAND} -S ${SOURCE_DIR}/sdk/template/backend
    -B ${WORK}/build-tree-template -G ${GENERATOR} -DCMAKE_CXX_COMPILER=${CXX} -DCMAKE_PREFIX_PATH=${BUILD_DIR}
    -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF)
file(READ ${WORK}/build-tree-template/CMakeCache.txt _cache)
expect("${_cache}" "Plinth_DIR:PATH=${BUILD_DIR}/lib/cmake/Plinth" "Plinth_DIR of a build-tree consumer")
run("build against the build tree" ${CMAKE_COMMAND} --build ${WORK}/build-tree-template)
message(STATUS "packaging: install, 6 out-of-tree plugins, loading, embedding and build-tree export all work")
