# prebuild.cmake: run by cpack (CPACK_PRE_BUILD_SCRIPTS) once the files of
# the package are staged in CPACK_TEMPORARY_DIRECTORY, before the .deb is
# made. CMakeLists.txt's packaging block passes the CPACK_HW_* variables.
#
#  1. The version must have an entry in systemd/deb/changelog (it becomes
#     /usr/share/doc/hapwatch/changelog.gz, which Debian requires).
#  2. Depends is computed here, not by CPack's CPACK_DEBIAN_PACKAGE_SHLIBDEPS,
#     which passes --ignore-missing-info to dpkg-shlibdeps (a library that
#     no package owns is then silently left out of Depends) and packages
#     with no computed dependency at all when dpkg-shlibdeps is missing.
#     Here dpkg-shlibdeps runs strictly on the staged binary: a missing
#     tool, a library without package information or any warning stops
#     the build. What hapwatch loads with dlopen() cannot be seen by it and
#     is added after: the package that owns the libcurl.so.4 hapwatch was
#     built against (libcurl4 on Debian 12, libcurl4t64 on 13), at the
#     version whose API hapwatch uses.
#  3. The binary is stripped as dh_strip does it (.comment and .note too).

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

# ---- 2. Depends ----------------------------------------------------------
set(bin "${CPACK_TEMPORARY_DIRECTORY}/usr/bin/hapwatch")
if(NOT EXISTS "${bin}")
	message(FATAL_ERROR "prebuild: ${bin} was not staged")
endif()
find_program(HW_SHLIBDEPS dpkg-shlibdeps)
find_program(HW_DPKG_QUERY dpkg-query)
if(NOT HW_SHLIBDEPS OR NOT HW_DPKG_QUERY)
	message(FATAL_ERROR "prebuild: dpkg-shlibdeps and dpkg-query compute "
		"the package's Depends: install Debian's dpkg-dev (./dev deps)")
endif()
# dpkg-shlibdeps wants a debian/control (any, even empty) in its working
# directory, and a DEBIAN/ above the binary to know the package's root.
set(work "${CPACK_TOPLEVEL_DIRECTORY}/shlibdeps")
file(REMOVE_RECURSE "${work}")
file(WRITE "${work}/debian/control" "")
file(MAKE_DIRECTORY "${CPACK_TEMPORARY_DIRECTORY}/DEBIAN")
execute_process(COMMAND ${CMAKE_COMMAND} -E env LC_ALL=C.UTF-8
	"${HW_SHLIBDEPS}" -O "-e${bin}"
	WORKING_DIRECTORY "${work}"
	RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err
	OUTPUT_STRIP_TRAILING_WHITESPACE)
file(REMOVE_RECURSE "${work}" "${CPACK_TEMPORARY_DIRECTORY}/DEBIAN")
if(NOT rc EQUAL 0 OR NOT err STREQUAL "" OR
    NOT out MATCHES "^shlibs:Depends=([^\n]+)$")
	message(FATAL_ERROR "prebuild: dpkg-shlibdeps ${bin} exited ${rc}:\n"
		"${err}${out}")
endif()
set(shlibs "${CMAKE_MATCH_1}")

# libcurl, opened with dlopen("libcurl.so.4") by checks/curlshim.c.
execute_process(COMMAND ${CMAKE_COMMAND} -E env LC_ALL=C.UTF-8
	"${HW_DPKG_QUERY}" -S "${CPACK_HW_CURL_LIB}"
	RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err
	OUTPUT_STRIP_TRAILING_WHITESPACE)
if(NOT rc EQUAL 0 OR NOT out MATCHES "^([a-z0-9][a-z0-9.+-]+)(:[a-z0-9-]+)?: ")
	message(FATAL_ERROR "prebuild: no package owns ${CPACK_HW_CURL_LIB}, "
		"which hapwatch loads at run time: install Debian's "
		"libcurl4-openssl-dev (./dev deps):\n${err}${out}")
endif()
set(curl "${CMAKE_MATCH_1} (>= ${CPACK_HW_CURL_MIN})")

set(CPACK_DEBIAN_PACKAGE_DEPENDS "${shlibs}, ${curl}, ${CPACK_HW_DEPENDS}")
message(STATUS "prebuild: Depends: ${CPACK_DEBIAN_PACKAGE_DEPENDS}")

# ---- 3. strip ------------------------------------------------------------
execute_process(COMMAND "${CPACK_HW_STRIP}" --remove-section=.comment
	--remove-section=.note "${bin}"
	RESULT_VARIABLE rc ERROR_VARIABLE err)
if(NOT rc EQUAL 0 OR NOT err STREQUAL "")
	message(FATAL_ERROR "prebuild: ${CPACK_HW_STRIP} ${bin}: ${rc} ${err}")
endif()
