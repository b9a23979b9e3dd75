# Shard replicas as processes, the sharded notary client and the network bootstrapper
# (docs/network.md). Included by src/notary/CMakeLists.txt.
find_package(nlohmann_json CONFIG REQUIRED)
if(TARGET folio_net_amqp AND TARGET folio_identity AND TARGET folio_sbac)
  add_library(folio_replica
    ${CMAKE_CURRENT_LIST_DIR}/bootstrap.cc
    ${CMAKE_CURRENT_LIST_DIR}/replica_wire.cc
    ${CMAKE_CURRENT_LIST_DIR}/replica_store.cc
    ${CMAKE_CURRENT_LIST_DIR}/replica_process.cc
    ${CMAKE_CURRENT_LIST_DIR}/sharded_client.cc
    ${CMAKE_CURRENT_LIST_DIR}/replica_launcher.cc
    ${CMAKE_CURRENT_LIST_DIR}/replica_bench.cc)
  target_link_libraries(folio_replica
    PUBLIC folio_sbac folio_consensus folio_net_amqp folio_identity folio_storage
           folio_notary_model folio_contracts
    PRIVATE nlohmann_json::nlohmann_json PkgConfig::SODIUM Threads::Threads)
endif()

# Whole-process tests: real `folio replica run` processes on 127.0.0.1.
if(TARGET folio_replica)
  folio_test(replica_network_test
    SOURCES ${CMAKE_CURRENT_LIST_DIR}/replica_network_test.cc
    LIBS folio_replica)
  target_compile_definitions(replica_network_test PRIVATE FOLIO_BINARY="$<TARGET_FILE:folio>")
  add_dependencies(replica_network_test folio)
endif()
if(TARGET folio_replica)
  folio_test(sharded_client_test
    SOURCES ${CMAKE_CURRENT_LIST_DIR}/sharded_client_test.cc
    LIBS folio_replica)
endif()
if(TARGET folio_replica)
  folio_test(replica_bootstrap_test
    SOURCES ${CMAKE_CURRENT_LIST_DIR}/replica_bootstrap_test.cc
    LIBS folio_replica)
endif()
