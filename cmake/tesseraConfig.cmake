# find_package(tessera CONFIG) for the installed wheel:
#   cmake -DCMAKE_PREFIX_PATH="$(python -m tessera --cmake-prefix-path)" ...
# gives two targets (docs/cpp.md):
#   tessera::tessera  libtessera.so, the compiler and runtime: the C++ API tessera/tessera.hpp
#                     (build, differentiate, compile and run functions; export them)
#   tessera::runtime  libtessera_runtime.so alone (no LLVM): tessera/tessera.h and
#                     tessera/runtime.hpp, enough to load and run programs from tessera.export
# Link one of the two: both hold the runtime.
get_filename_component(_tessera_prefix "${CMAKE_CURRENT_LIST_DIR}/../../.." ABSOLUTE)
if(NOT TARGET tessera::runtime)
  add_library(tessera::runtime SHARED IMPORTED)
  set_target_properties(tessera::runtime PROPERTIES
    IMPORTED_LOCATION "${_tessera_prefix}/lib/libtessera_runtime.so"
    INTERFACE_INCLUDE_DIRECTORIES "${_tessera_prefix}/include"
    INTERFACE_COMPILE_FEATURES cxx_std_17)  # the C++ headers; the C ABI is C99
endif()
if(NOT TARGET tessera::tessera)
  add_library(tessera::tessera SHARED IMPORTED)
  set_target_properties(tessera::tessera PROPERTIES
    IMPORTED_LOCATION "${_tessera_prefix}/lib/libtessera.so"
    INTERFACE_INCLUDE_DIRECTORIES "${_tessera_prefix}/include"
    INTERFACE_COMPILE_FEATURES cxx_std_17)
endif()
set(tessera_LIBRARY "${_tessera_prefix}/lib/libtessera.so")
set(tessera_RUNTIME_LIBRARY "${_tessera_prefix}/lib/libtessera_runtime.so")
unset(_tessera_prefix)
