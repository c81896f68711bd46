# plinth_add_plugin(<name> KIND <backend|comm|optimizer|data>
#                   SOURCES <src>... [DESCRIPTION <text>] [VENDOR <text>]
#                   [PRIORITY <int>] [COMPONENTS <name>...] [LINK <targets>...]
#                   [NO_INSTALL])
#
# COMPONENTS: the component names the library provides, written into the
# manifest so the core opens the library only when one of them is used
# (without it, whenever a component of its kind is looked up).
#
# Builds <name> as a MODULE library with hidden visibility (the entry symbol
# is the only export), linked to the SDK only, and writes its manifest
# fragment next to the build tree's other manifests, plus a copy beside the
# library whose path is the library's file name (the pair survives being
# copied anywhere together). Installs the library and that copy into
# <libdir>/plinth/plugins and an install-relative manifest into
# <datadir>/plinth/plugins.d.
#
# Used in the Plinth tree and, installed next to PlinthConfig.cmake, by
# vendors after find_package(Plinth): then the library lands in
# <vendor build>/lib/plinth/plugins, its manifest in
# <vendor build>/share/plinth/plugins.d (load it with
# `plinth --plugin-path <vendor build>/share/plinth/plugins.d`), and
# `cmake --install` puts both under the vendor's install prefix.
include_guard(GLOBAL)
include(GNUInstallDirs)

if(NOT DEFINED PLINTH_PLUGIN_BUILD_DIR)
  set(PLINTH_PLUGIN_BUILD_DIR ${CMAKE_BINARY_DIR}/lib/plinth/plugins)
endif()
if(NOT DEFINED PLINTH_MANIFEST_BUILD_DIR)
  set(PLINTH_MANIFEST_BUILD_DIR ${CMAKE_BINARY_DIR}/share/plinth/plugins.d)
endif()
if(NOT DEFINED PLINTH_INSTALL_PLUGINDIR)
  set(PLINTH_INSTALL_PLUGINDIR ${CMAKE_INSTALL_LIBDIR}/plinth/plugins)
endif()
if(NOT DEFINED PLINTH_INSTALL_MANIFESTDIR)
  set(PLINTH_INSTALL_MANIFESTDIR ${CMAKE_INSTALL_DATADIR}/plinth/plugins.d)
endif()

function(plinth_add_plugin name)
  # PARSE_ARGV keeps a ';' inside a quoted DESCRIPTION as text.
  cmake_parse_arguments(PARSE_ARGV 1 P "NO_INSTALL" "KIND;DESCRIPTION;VENDOR;PRIORITY" "SOURCES;LINK;COMPONENTS")
  # TOML basic strings: escape backslashes and quotes.
  foreach(_v DESCRIPTION VENDOR)
    string(REPLACE "\\" "\\\\" P_${_v} "${P_${_v}}")
    string(REPLACE "\"" "\\\"" P_${_v} "${P_${_v}}")
  endforeach()
  if(NOT P_KIND MATCHES "^(backend|comm|optimizer|data)$")
    message(FATAL_ERROR "plinth_add_plugin(${name}): KIND must be backend, comm, optimizer or data")
  endif()
  if(NOT P_PRIORITY)
    set(P_PRIORITY 0)
  endif()
  add_library(${name} MODULE ${P_SOURCES})
  if(TARGET plinth::sdk)
    target_link_libraries(${name} PRIVATE plinth::sdk ${P_LINK})
  else()
    target_link_libraries(${name} PRIVATE Plinth::sdk ${P_LINK})
  endif()
  set_target_properties(${name} PROPERTIES
    PREFIX "lib"
    C_VISIBILITY_PRESET hidden
    CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON
    LIBRARY_OUTPUT_DIRECTORY ${PLINTH_PLUGIN_BUILD_DIR})
  # Hidden visibility does not hide what libstdc++'s headers mark default
  # (std:: template instances, their typeinfo, GNU-unique statics); the
  # version script keeps the dynamic symbol table to the two entry points.
  set(_map ${CMAKE_BINARY_DIR}/plinth-plugin-exports.map)
  file(CONFIGURE OUTPUT ${_map} CONTENT "{\n  global: plinth_plugin_get; plinth_plugin_score;\n  local: *;\n};\n")
  target_link_options(${name} PRIVATE -Wl,--no-undefined -Wl,--version-script=${_map})
  set_property(TARGET ${name} APPEND PROPERTY LINK_DEPENDS ${_map})

  set(_components "")
  if(P_COMPONENTS)
    list(JOIN P_COMPONENTS "\", \"" _components)
    set(_components "components = [\"${_components}\"]\n")
  endif()
  set(_file "lib${name}.so")
  file(RELATIVE_PATH _build_rel ${PLINTH_MANIFEST_BUILD_DIR} ${PLINTH_PLUGIN_BUILD_DIR}/${_file})
  file(RELATIVE_PATH _inst_rel /${PLINTH_INSTALL_MANIFESTDIR} /${PLINTH_INSTALL_PLUGINDIR}/${_file})
  # Three copies: the build tree's and the install's share/plinth/plugins.d
  # manifests (paths relative to those folders), and one beside the library
  # (path = "lib<name>.so") that travels with it: copy the two files into
  # any plugins.d folder and they load.
  foreach(_which build install beside)
    if(_which STREQUAL build)
      set(_path ${_build_rel})
      set(_out ${PLINTH_MANIFEST_BUILD_DIR}/${name}.toml)
    elseif(_which STREQUAL install)
      set(_path ${_inst_rel})
      set(_out ${CMAKE_CURRENT_BINARY_DIR}/install-manifest/${name}.toml)
    else()
      set(_path ${_file})
      set(_out ${PLINTH_PLUGIN_BUILD_DIR}/${name}.toml)
    endif()
    file(WRITE ${_out}
      "# Manifest fragment for ${name}, written by plinth_add_plugin().\n"
      "[[plugin]]\n"
      "name = \"${name}\"\n"
      "kind = \"${P_KIND}\"\n"
      "path = \"${_path}\"\n"
      "abi = \"1\"\n"
      "priority = ${P_PRIORITY}\n"
      "description = \"${P_DESCRIPTION}\"\n"
      "vendor = \"${P_VENDOR}\"\n"
      "${_components}")
  endforeach()
  if(NOT P_NO_INSTALL)
    install(TARGETS ${name} LIBRARY DESTINATION ${PLINTH_INSTALL_PLUGINDIR} COMPONENT plinth)
    install(FILES ${CMAKE_CURRENT_BINARY_DIR}/install-manifest/${name}.toml
            DESTINATION ${PLINTH_INSTALL_MANIFESTDIR} COMPONENT plinth)
    install(FILES ${PLINTH_PLUGIN_BUILD_DIR}/${name}.toml DESTINATION ${PLINTH_INSTALL_PLUGINDIR}
            COMPONENT plinth)
  endif()
endfunction()
