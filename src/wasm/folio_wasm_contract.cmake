# folio_wasm_contract(NAME SOURCES a.c b.cc ... [MAX_MEMORY bytes]): builds a WebAssembly contract
# from C or C++ (no exceptions, no RTTI, no standard library) with clang --target=wasm32 against
# include/folio/contract.h. The module lands in
# ${CMAKE_CURRENT_BINARY_DIR}/NAME.wasm, built by the target NAME_wasm, whose WASM_FILE property
# holds that path. MAX_MEMORY (default 1 MiB) becomes the memory's declared maximum, which the
# sandbox requires (at most 16 MiB). The stack is 16 KiB (clang's default is 64 KiB): every run
# starts a fresh instance whose initial memory must be zeroed, so small contracts start small.
find_program(FOLIO_WASM_CLANG NAMES clang-14 clang REQUIRED)
set(FOLIO_WASM_RUNTIME ${CMAKE_CURRENT_LIST_DIR}/sdk/runtime.c)

function(folio_wasm_contract name)
  cmake_parse_arguments(C "" "MAX_MEMORY" "SOURCES" ${ARGN})
  if(NOT C_MAX_MEMORY)
    set(C_MAX_MEMORY 1048576)
  endif()
  set(out ${CMAKE_CURRENT_BINARY_DIR}/${name}.wasm)
  set(sources)
  foreach(source ${C_SOURCES})
    get_filename_component(path ${source} ABSOLUTE)
    list(APPEND sources ${path})
  endforeach()
  add_custom_command(
    OUTPUT ${out}
    COMMAND ${FOLIO_WASM_CLANG} --target=wasm32 -O2 -nostdlib -ffreestanding -fvisibility=hidden
            -fno-exceptions -fno-rtti
            -Wall -Wextra -Werror -I${PROJECT_SOURCE_DIR}/include
            -Wl,--no-entry -Wl,--export-dynamic -Wl,--strip-all -Wl,-z,stack-size=16384
            -Wl,--max-memory=${C_MAX_MEMORY}
            -o ${out} ${sources} ${FOLIO_WASM_RUNTIME}
    DEPENDS ${sources} ${FOLIO_WASM_RUNTIME} ${PROJECT_SOURCE_DIR}/include/folio/contract.h
    COMMENT "Building WebAssembly contract ${name}"
    VERBATIM)
  add_custom_target(${name}_wasm ALL DEPENDS ${out})
  set_property(TARGET ${name}_wasm PROPERTY WASM_FILE ${out})
endfunction()
