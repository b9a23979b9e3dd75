# The node as a process (`folio node run`): NodeProcess, its RPC server, the network-map-backed
# peer directory, the CashDoubleSpend flow, and whole-process tests. Included by
# src/node/CMakeLists.txt (after node.cmake).
#
# The notary client's replicated-notary path (flows/sharded_notary.cc) belongs to folio_node itself:
# finality.cc calls it, and it needs only the notary model.
get_target_property(FOLIO_NODE_SOURCES folio_node SOURCES)
if(NOT "${CMAKE_CURRENT_LIST_DIR}/flows/sharded_notary.cc" IN_LIST FOLIO_NODE_SOURCES)
  target_sources(folio_node PRIVATE ${CMAKE_CURRENT_LIST_DIR}/flows/sharded_notary.cc)
endif()

if(TARGET folio_replica AND TARGET folio_node)
  pkg_check_modules(NODE_PROCESS_HTTPLIB REQUIRED IMPORTED_TARGET cpp-httplib)
  find_package(nlohmann_json CONFIG REQUIRED)
  add_library(folio_node_process
              ${CMAKE_CURRENT_LIST_DIR}/node_process.cc
              ${CMAKE_CURRENT_LIST_DIR}/rpc_server.cc
              ${CMAKE_CURRENT_LIST_DIR}/network_map_directory.cc
              ${CMAKE_CURRENT_LIST_DIR}/double_spend_flow.cc)
  target_link_libraries(folio_node_process
                        PUBLIC folio_node folio_replica folio_identity folio_net_amqp
                        PRIVATE PkgConfig::NODE_PROCESS_HTTPLIB nlohmann_json::nlohmann_json
                                PkgConfig::SODIUM Threads::Threads)

  if(EXISTS ${CMAKE_CURRENT_LIST_DIR}/node_process_test.cc)
    folio_test(node_process_test
               SOURCES ${CMAKE_CURRENT_LIST_DIR}/node_process_test.cc
               LIBS folio_node_process PkgConfig::NODE_PROCESS_HTTPLIB nlohmann_json::nlohmann_json)
    target_compile_definitions(node_process_test PRIVATE FOLIO_BINARY="$<TARGET_FILE:folio>")
    add_dependencies(node_process_test folio)
  endif()
endif()
