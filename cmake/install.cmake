# `cmake --install`: the libraries, their public headers (the generated protocol headers
# come from the build tree) and a CMake package, so that another project does
#   find_package(kwire REQUIRED)
#   target_link_libraries(app PRIVATE kwire::client)
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(KWIRE_INSTALL_CMAKEDIR ${CMAKE_INSTALL_LIBDIR}/cmake/kwire)

# Exported as kwire::protocol, kwire::security, kwire::client, kwire::connector: the names the
# build uses.
set_target_properties(kwire_protocol PROPERTIES EXPORT_NAME protocol)
set_target_properties(kwire_security PROPERTIES EXPORT_NAME security)
set_target_properties(kwire_client PROPERTIES EXPORT_NAME client)
set_target_properties(kwire_connector PROPERTIES EXPORT_NAME connector)

install(TARGETS kwire_protocol kwire_security kwire_client kwire_connector
        EXPORT kwireTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})

foreach(layer protocol security client connector)
  install(DIRECTORY ${PROJECT_SOURCE_DIR}/${layer}/include/
          DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
          FILES_MATCHING PATTERN "*.hpp")
endforeach()
# Generated from protocol/schema; test_fill.hpp is for kwire's own tests and stays out.
set(generated_headers ${PROJECT_BINARY_DIR}/protocol/generated/include/kwire/protocol)
install(FILES ${generated_headers}/messages.hpp ${generated_headers}/broker_errors.hpp
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/kwire/protocol)

install(EXPORT kwireTargets
        NAMESPACE kwire::
        DESTINATION ${KWIRE_INSTALL_CMAKEDIR})
configure_package_config_file(${CMAKE_CURRENT_LIST_DIR}/kwireConfig.cmake.in
                              ${CMAKE_CURRENT_BINARY_DIR}/kwireConfig.cmake
                              INSTALL_DESTINATION ${KWIRE_INSTALL_CMAKEDIR})
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/kwireConfigVersion.cmake
                                 COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/kwireConfig.cmake
              ${CMAKE_CURRENT_BINARY_DIR}/kwireConfigVersion.cmake
        DESTINATION ${KWIRE_INSTALL_CMAKEDIR})
