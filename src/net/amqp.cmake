# The AMQP 1.0 transport (amqp_transport.h) over mutual TLS with Apache Qpid Proton C++.
#
# Debian's libqpid-proton-cpp .pc file is broken (notes/dependencies.md), so the library is found
# by hand and wrapped in an IMPORTED target. Its headers are SYSTEM includes: they do not build
# cleanly under -Wall -Wextra -Werror.
find_path(PROTON_CPP_INCLUDE_DIR proton/container.hpp REQUIRED)
find_library(PROTON_CPP_LIBRARY qpid-proton-cpp REQUIRED)
find_library(PROTON_C_LIBRARY qpid-proton REQUIRED)
if(NOT TARGET folio_proton_cpp)
  add_library(folio_proton_cpp UNKNOWN IMPORTED)
  set_target_properties(folio_proton_cpp PROPERTIES
    IMPORTED_LOCATION ${PROTON_CPP_LIBRARY}
    INTERFACE_SYSTEM_INCLUDE_DIRECTORIES ${PROTON_CPP_INCLUDE_DIR}
    INTERFACE_LINK_LIBRARIES ${PROTON_C_LIBRARY})
endif()

find_package(Threads REQUIRED)

add_library(folio_net_amqp
  ${CMAKE_CURRENT_LIST_DIR}/amqp_receipt.cc
  ${CMAKE_CURRENT_LIST_DIR}/amqp_names.cc
  ${CMAKE_CURRENT_LIST_DIR}/amqp_wire.cc
  ${CMAKE_CURRENT_LIST_DIR}/amqp_store.cc
  ${CMAKE_CURRENT_LIST_DIR}/amqp_transport.cc
  ${CMAKE_CURRENT_LIST_DIR}/amqp_outbound.cc
  ${CMAKE_CURRENT_LIST_DIR}/amqp_inbound.cc)
target_link_libraries(folio_net_amqp
  PUBLIC folio_crypto folio_storage
  PRIVATE folio_proton_cpp Threads::Threads)

folio_test(amqp_receipt_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/amqp_receipt_test.cc ${CMAKE_CURRENT_LIST_DIR}/amqp_names_test.cc
  LIBS folio_net_amqp)
# Test-only PKI (root -> node CA -> TLS, PEM files); see testing_certs.h for why it is not identity's.
add_library(folio_net_testing_certs ${CMAKE_CURRENT_LIST_DIR}/testing_certs.cc)
target_link_libraries(folio_net_testing_certs PUBLIC folio_base PRIVATE OpenSSL::Crypto)

folio_test(amqp_transport_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/amqp_transport_test.cc ${CMAKE_CURRENT_LIST_DIR}/amqp_wire_test.cc
          ${CMAKE_CURRENT_LIST_DIR}/amqp_transport_bench.cc
  LIBS folio_net_amqp folio_net_testing_certs folio_proton_cpp OpenSSL::SSL OpenSSL::Crypto)

folio_test(amqp_store_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/amqp_store_test.cc
  LIBS folio_net_amqp folio_storage_testing)
if(COMMAND folio_test_shared_pg)
  folio_test_shared_pg(amqp_store_test)
endif()
