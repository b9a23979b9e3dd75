# The in-memory transport (memory_transport.h): tests, MockNetwork and the simulator.
add_library(folio_net_memory ${CMAKE_CURRENT_SOURCE_DIR}/memory_transport.cc)
target_link_libraries(folio_net_memory PUBLIC folio_crypto)
folio_test(memory_transport_test SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/memory_transport_test.cc
           LIBS folio_net_memory)
