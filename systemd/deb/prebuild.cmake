# prebuild.cmake: run by cpack (CPACK_PRE_BUILD_SCRIPTS) once the files of
# the package are staged in CPACK_TEMPORARY_DIRECTORY, before the .deb is
# made. CMakeLists.txt's packaging block passes the CPACK_HW_* variables.
#
#  1. The version must have an entry in systemd/deb/changelog (it becomes
#     /usr/share/doc/hapwatch/changelog.gz, which Debian requires).

# ---- 1. changelog --------------------------------------------------------
file(STRINGS "${CPACK_HW_CHANGELOG}" head LIMIT_COUNT 1)
if(NOT head MATCHES "^hapwatch \\(([^)]+)\\) ")
	message(FATAL_ERROR "${CPACK_HW_CHANGELOG}: first line is not "
		"\"hapwatch (VERSION) DIST; urgency=...\": ${head}")
endif()
if(NOT CMAKE_MATCH_1 STREQUAL CPACK_PACKAGE_VERSION)
	message(FATAL_ERROR "${CPACK_HW_CHANGELOG}: the latest entry is for "
		"${CMAKE_MATCH_1}, the package is ${CPACK_PACKAGE_VERSION}: add an "
		"entry for ${CPACK_PACKAGE_VERSION} at the top (see README.md, "
		"\"Packaging\")")
endif()
