# A .deb (and .rpm) of this plugin for a system Plinth, with its own CPack
# settings: configure with -DCMAKE_INSTALL_PREFIX=/usr, build, `cpack -G DEB`.
# plinth_add_plugin() already installs the library into
# <libdir>/plinth/plugins and its manifest into share/plinth/plugins.d; this
# adds the package metadata and /usr/share/doc/<package>/ only.
set(VENDOR_PACKAGE plinth-backend-vendor-example)
set(_doc ${CMAKE_INSTALL_DATADIR}/doc/${VENDOR_PACKAGE})
set(_gen ${CMAKE_CURRENT_BINARY_DIR}/package-docs)
configure_file(${CMAKE_CURRENT_LIST_DIR}/changelog.in ${_gen}/changelog @ONLY)
find_program(VENDOR_GZIP gzip REQUIRED)
execute_process(COMMAND ${VENDOR_GZIP} -9nc ${_gen}/changelog OUTPUT_FILE ${_gen}/changelog.gz COMMAND_ERROR_IS_FATAL ANY)
install(FILES ${CMAKE_CURRENT_LIST_DIR}/copyright ${_gen}/changelog.gz DESTINATION ${_doc} COMPONENT plinth)

set(CPACK_PACKAGE_NAME ${VENDOR_PACKAGE})
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_VENDOR "Example Vendor")
set(CPACK_PACKAGE_CONTACT "Example Vendor <plinth-support@vendor.invalid>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "example vendor backend plugin for Plinth")
set(CPACK_PACKAGE_DESCRIPTION "An out-of-tree Plinth backend: f32 MATMUL on a worker thread, every other
op on Plinth's CPU backend. Installs its library into Plinth's plugin folder
and its manifest fragment into /usr/share/plinth/plugins.d, so
`plinth plugins list` shows it once the package is installed.")
set(CPACK_PACKAGING_INSTALL_PREFIX ${CMAKE_INSTALL_PREFIX})
set(CPACK_STRIP_FILES ON)
set(CPACK_PACKAGE_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR}/packages)
# The plugin ABI major (1) arrived with Plinth 0.1.
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION science)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "plinth (>= 0.1)")
set(CPACK_RPM_FILE_NAME RPM-DEFAULT)
set(CPACK_RPM_PACKAGE_RELEASE 1)
set(CPACK_RPM_PACKAGE_REQUIRES "plinth >= 0.1")
set(CPACK_RPM_PACKAGE_LICENSE "Plinth-unreleased")
set(CPACK_RPM_EXCLUDE_FROM_AUTO_FILELIST_ADDITION ${CMAKE_INSTALL_FULL_LIBDIR} ${CMAKE_INSTALL_FULL_LIBDIR}/plinth
    ${CMAKE_INSTALL_FULL_LIBDIR}/plinth/plugins ${CMAKE_INSTALL_FULL_DATADIR}/plinth ${CMAKE_INSTALL_FULL_DATADIR}/plinth/plugins.d)
set(CPACK_GENERATOR DEB)
include(CPack)
