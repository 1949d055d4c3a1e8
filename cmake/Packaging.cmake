# The Debian package (CPack's DEB generator): `cpack -G DEB` in a build directory, as scripts/package.sh
# does from a Release build. Depends: is computed by dpkg-shlibdeps from the executable, plus adduser for
# the maintainer scripts. Layout:
#   /usr/bin/certdeploy
#   /lib/systemd/system/certdeploy-server.service, certdeploy-agent.service
#   /etc/certdeploy/server.jsonc, agent.jsonc (conffiles: kept on upgrade)
#   /usr/share/doc/certdeploy/ README.md, OPERATING.md, examples/*.jsonc, copyright, changelog.gz
#   /usr/share/certdeploy/prometheus/ the alert rules and their tests
# /var/lib/certdeploy is made by the units (StateDirectory) and the certdeploy user by postinst.
set(deb ${PROJECT_SOURCE_DIR}/deploy/debian)
install(TARGETS certdeploy RUNTIME DESTINATION bin)
install(FILES ${PROJECT_SOURCE_DIR}/deploy/systemd/certdeploy-server.service
              ${PROJECT_SOURCE_DIR}/deploy/systemd/certdeploy-agent.service
        DESTINATION /lib/systemd/system)
install(FILES ${deb}/server.jsonc ${deb}/agent.jsonc DESTINATION /etc/certdeploy)
install(FILES ${PROJECT_SOURCE_DIR}/config/examples/server.jsonc ${PROJECT_SOURCE_DIR}/config/examples/agent.jsonc
        DESTINATION share/doc/certdeploy/examples)
install(FILES ${PROJECT_SOURCE_DIR}/README.md ${PROJECT_SOURCE_DIR}/docs/OPERATING.md ${deb}/copyright
        DESTINATION share/doc/certdeploy)
install(FILES ${PROJECT_SOURCE_DIR}/deploy/prometheus/certdeploy-rules.yaml
              ${PROJECT_SOURCE_DIR}/deploy/prometheus/certdeploy-rules.test.yaml
        DESTINATION share/certdeploy/prometheus)

# Debian wants the changelog compressed, reproducibly (gzip -n: no name, no time stamp).
add_custom_command(OUTPUT ${CMAKE_BINARY_DIR}/changelog.gz
                   COMMAND sh -c "gzip -9n -c '${deb}/changelog' > '${CMAKE_BINARY_DIR}/changelog.gz'"
                   DEPENDS ${deb}/changelog VERBATIM)
add_custom_target(certdeploy_changelog ALL DEPENDS ${CMAKE_BINARY_DIR}/changelog.gz)
install(FILES ${CMAKE_BINARY_DIR}/changelog.gz DESTINATION share/doc/certdeploy)

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME certdeploy)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "deploys TLS certificates to fleets of servers over HTTP")
set(CPACK_PACKAGE_DESCRIPTION
    "certdeploy's controller takes a certificate file (PKCS #12, X.509 or
PKCS #7) with its password and the servers to install it on, checks it, and
has the agent on each server install it, bind it to services and report its
status; it serves a REST API, a web console and Prometheus metrics. The agent
runs on every server. One executable holds both, and the command-line client.")
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "certdeploy developers <certdeploy@example.org>")
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# libpq5: loaded at run time by controllers on PostgreSQL (store/libpq.hpp), so shlibdeps cannot see it.
set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser, libpq5")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA ${deb}/conffiles ${deb}/postinst ${deb}/prerm ${deb}/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
include(CPack)
