# Read by cpack once per generator (CPACK_PROJECT_CONFIG_FILE), before the
# install step: tells install(CODE) rules which package format is being
# built, so a package's documentation folder matches its name in that format.
set(ENV{PLINTH_CPACK_GENERATOR} "${CPACK_GENERATOR}")
