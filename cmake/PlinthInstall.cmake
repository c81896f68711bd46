# The installed SDK and its build-tree twin: the CMake package
# (PlinthConfig.cmake, PlinthConfigVersion.cmake, PlinthTargets.cmake with
# Plinth::sdk and Plinth::core, PlinthAddPlugin.cmake) and plinth.pc.
# Included once from the top-level CMakeLists.txt after the targets exist.
# Not here: what each target installs (sdk/, core/, cli/, the plugins).
include_guard(GLOBAL)
include(CMakePackageConfigHelpers)

# The ABI version, read from the header so it cannot drift.
file(STRINGS ${PROJECT_SOURCE_DIR}/sdk/include/plinth/plugin.h _abi REGEX "^#define PLINTH_ABI_(MAJOR|MINOR) ")
string(REGEX REPLACE ".*MAJOR ([0-9]+).*MINOR ([0-9]+).*" "\\1.\\2" PLINTH_ABI_VERSION "${_abi}")

set(PLINTH_INSTALL_CMAKEDIR ${CMAKE_INSTALL_LIBDIR}/cmake/Plinth CACHE STRING
    "Where PlinthConfig.cmake is installed, relative to the prefix")
set(PLINTH_CONFIG_PROGRAM ${CMAKE_INSTALL_BINDIR}/plinth)
set(PLINTH_CONFIG_TEMPLATES ${CMAKE_INSTALL_DATADIR}/plinth/sdk-template)  # packaging/CMakeLists.txt installs it

# --- installed package
install(EXPORT PlinthTargets NAMESPACE Plinth:: DESTINATION ${PLINTH_INSTALL_CMAKEDIR} COMPONENT dev)
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/PlinthConfig.cmake.in
  ${PROJECT_BINARY_DIR}/cmake-install/PlinthConfig.cmake
  INSTALL_DESTINATION ${PLINTH_INSTALL_CMAKEDIR}
  PATH_VARS PLINTH_CONFIG_PROGRAM PLINTH_CONFIG_TEMPLATES)
write_basic_package_version_file(${PROJECT_BINARY_DIR}/cmake-install/PlinthConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMajorVersion)
install(FILES ${PROJECT_BINARY_DIR}/cmake-install/PlinthConfig.cmake
              ${PROJECT_BINARY_DIR}/cmake-install/PlinthConfigVersion.cmake
              ${PROJECT_SOURCE_DIR}/cmake/PlinthAddPlugin.cmake
        DESTINATION ${PLINTH_INSTALL_CMAKEDIR} COMPONENT dev)

# --- build tree: the build is laid out like an install, so find_package
# works with CMAKE_PREFIX_PATH=<build> (or Plinth_DIR=<build>/lib/cmake/Plinth).
set(_build_cmakedir ${PROJECT_BINARY_DIR}/lib/cmake/Plinth)
export(EXPORT PlinthTargets NAMESPACE Plinth:: FILE ${_build_cmakedir}/PlinthTargets.cmake)
set(PLINTH_CONFIG_PROGRAM bin/plinth)
set(PLINTH_CONFIG_TEMPLATES ${PROJECT_SOURCE_DIR}/sdk/template)  # absolute: the sources themselves
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/PlinthConfig.cmake.in
  ${_build_cmakedir}/PlinthConfig.cmake
  INSTALL_DESTINATION lib/cmake/Plinth INSTALL_PREFIX ${PROJECT_BINARY_DIR}
  PATH_VARS PLINTH_CONFIG_PROGRAM PLINTH_CONFIG_TEMPLATES)
configure_file(${PROJECT_BINARY_DIR}/cmake-install/PlinthConfigVersion.cmake
               ${_build_cmakedir}/PlinthConfigVersion.cmake COPYONLY)
configure_file(${PROJECT_SOURCE_DIR}/cmake/PlinthAddPlugin.cmake ${_build_cmakedir}/PlinthAddPlugin.cmake
               COPYONLY)

# --- pkg-config, relocatable: prefix is found from the .pc file's own folder.
set(_pcdir ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
file(RELATIVE_PATH PLINTH_PC_TO_PREFIX /${_pcdir} /)
string(REGEX REPLACE "/$" "" PLINTH_PC_TO_PREFIX "${PLINTH_PC_TO_PREFIX}")
configure_file(${PROJECT_SOURCE_DIR}/cmake/plinth.pc.in ${PROJECT_BINARY_DIR}/cmake-install/plinth.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/cmake-install/plinth.pc DESTINATION ${_pcdir} COMPONENT dev)
