# The node itself (issue 5): Node, core flows, MockNetwork, and the node benchmark. Included by
# src/node/CMakeLists.txt.
add_library(folio_node
            ${CMAKE_CURRENT_LIST_DIR}/node.cc
            ${CMAKE_CURRENT_LIST_DIR}/mock_network.cc
            ${CMAKE_CURRENT_LIST_DIR}/flows/asset.cc
            ${CMAKE_CURRENT_LIST_DIR}/flows/finality.cc
            ${CMAKE_CURRENT_LIST_DIR}/flows/cash_flows.cc
            ${CMAKE_CURRENT_LIST_DIR}/flows/trade.cc
            ${CMAKE_CURRENT_LIST_DIR}/flows/collect_signatures.cc
            ${CMAKE_CURRENT_LIST_DIR}/flows/notary_change.cc
            ${CMAKE_CURRENT_LIST_DIR}/flows/agreement.cc
            ${CMAKE_CURRENT_LIST_DIR}/flows/registry.cc)
target_link_libraries(folio_node
                      PUBLIC folio_node_services folio_vault folio_flow folio_notary
                             folio_net_memory folio_storage folio_contracts)
# The sharded-notary hook of NotaryClient (another task's file, while it lands).
if(EXISTS ${CMAKE_CURRENT_LIST_DIR}/flows/sharded_notary.cc)
  target_sources(folio_node PRIVATE ${CMAKE_CURRENT_LIST_DIR}/flows/sharded_notary.cc)
endif()
if(EXISTS ${CMAKE_CURRENT_LIST_DIR}/bench_node.cc)
  target_sources(folio_node PRIVATE ${CMAKE_CURRENT_LIST_DIR}/bench_node.cc)
endif()

if(EXISTS ${CMAKE_CURRENT_LIST_DIR}/node_test.cc)
  folio_test(node_test
             SOURCES ${CMAKE_CURRENT_LIST_DIR}/node_test.cc
                     ${CMAKE_CURRENT_LIST_DIR}/node_crash_test.cc
                     ${CMAKE_CURRENT_LIST_DIR}/core_flows_test.cc
                     ${CMAKE_CURRENT_LIST_DIR}/session_end_node_test.cc
             LIBS folio_node folio_storage_testing)
  folio_test_shared_pg(node_test)
endif()
