# `folio demo` and the real-process tests (issue 6, must-haves 4 and 5): the node RPC client, a
# local network of real processes (network map, notary replicas, party nodes), and their tests.
# Included by src/node/CMakeLists.txt; the `folio demo` command itself is in src/cli.
if(TARGET folio_replica)
  pkg_check_modules(FOLIO_DEMO_HTTPLIB REQUIRED IMPORTED_TARGET cpp-httplib)
  find_package(nlohmann_json CONFIG REQUIRED)
  add_library(folio_process_network ${CMAKE_CURRENT_LIST_DIR}/rpc_client.cc)
  if(EXISTS ${CMAKE_CURRENT_LIST_DIR}/process_network.cc)
    target_sources(folio_process_network PRIVATE ${CMAKE_CURRENT_LIST_DIR}/process_network.cc)
  endif()
  target_link_libraries(folio_process_network
    PUBLIC folio_replica folio_base
    PRIVATE PkgConfig::FOLIO_DEMO_HTTPLIB nlohmann_json::nlohmann_json Threads::Threads)

  # The RPC client against a scripted HTTP server (no node needed).
  folio_test(rpc_client_test
    SOURCES ${CMAKE_CURRENT_LIST_DIR}/rpc_client_test.cc
    LIBS folio_process_network PkgConfig::FOLIO_DEMO_HTTPLIB nlohmann_json::nlohmann_json)

  # Real processes on 127.0.0.1: a payment across the network, kill -9 of the payer or the payee
  # in the middle of a payment. Needs `folio node run` (folio_node_process).
  if(TARGET folio_node_process AND EXISTS ${CMAKE_CURRENT_LIST_DIR}/process_network_test.cc)
    folio_test(process_network_test
      SOURCES ${CMAKE_CURRENT_LIST_DIR}/process_network_test.cc
      LIBS folio_process_network)
    target_compile_definitions(process_network_test PRIVATE FOLIO_BINARY="$<TARGET_FILE:folio>")
    add_dependencies(process_network_test folio)
  endif()

  # `folio demo --payments 30 --json` end to end (tests/demo_test.cc): slow, so a ctest TIMEOUT
  # of its own instead of test discovery.
  if(TARGET folio_node_process AND EXISTS ${CMAKE_SOURCE_DIR}/tests/demo_test.cc)
    add_executable(demo_test ${CMAKE_SOURCE_DIR}/tests/demo_test.cc)
    target_link_libraries(demo_test PRIVATE nlohmann_json::nlohmann_json GTest::gtest
                                            GTest::gtest_main)
    target_compile_definitions(demo_test PRIVATE FOLIO_BINARY="$<TARGET_FILE:folio>")
    add_dependencies(demo_test folio)
    add_test(NAME demo_cli_test COMMAND demo_test)
    set_tests_properties(demo_cli_test PROPERTIES TIMEOUT 900)
  endif()
endif()
