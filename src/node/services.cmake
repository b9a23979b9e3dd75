# Node services (issue 5, item 2): transaction, attachment and key stores and the identity service,
# all over storage::Database. Included by src/node/CMakeLists.txt.
pkg_check_modules(NODE_LIBZIP REQUIRED IMPORTED_TARGET libzip)

add_library(folio_node_services
            ${CMAKE_CURRENT_LIST_DIR}/tx_store.cc
            ${CMAKE_CURRENT_LIST_DIR}/attachment_store.cc
            ${CMAKE_CURRENT_LIST_DIR}/key_store.cc
            ${CMAKE_CURRENT_LIST_DIR}/identity_service.cc)
target_link_libraries(folio_node_services
                      PUBLIC folio_notary_model folio_storage folio_ledger
                      PRIVATE folio_wasm PkgConfig::NODE_LIBZIP PkgConfig::SODIUM)

folio_test(node_services_test
           SOURCES ${CMAKE_CURRENT_LIST_DIR}/tx_store_test.cc
                   ${CMAKE_CURRENT_LIST_DIR}/attachment_store_test.cc
                   ${CMAKE_CURRENT_LIST_DIR}/key_store_test.cc
                   ${CMAKE_CURRENT_LIST_DIR}/identity_service_test.cc
           LIBS folio_node_services folio_wasm folio_storage_testing PkgConfig::NODE_LIBZIP)
folio_test_shared_pg(node_services_test)
