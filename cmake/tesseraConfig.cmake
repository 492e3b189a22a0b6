# find_package(tessera CONFIG) for the installed wheel:
#   cmake -DCMAKE_PREFIX_PATH="$(python -m tessera --cmake-prefix-path)" ...
# gives tessera::runtime: libtessera_runtime.so and its headers (the C ABI tessera/tessera.h,
# tessera/dlpack.h, and the header-only C++ layer tessera/runtime.hpp), enough to load and run
# programs written by tessera.export.
get_filename_component(_tessera_prefix "${CMAKE_CURRENT_LIST_DIR}/../../.." ABSOLUTE)
if(NOT TARGET tessera::runtime)
  add_library(tessera::runtime SHARED IMPORTED)
  set_target_properties(tessera::runtime PROPERTIES
    IMPORTED_LOCATION "${_tessera_prefix}/lib/libtessera_runtime.so"
    INTERFACE_INCLUDE_DIRECTORIES "${_tessera_prefix}/include")
endif()
set(tessera_RUNTIME_LIBRARY "${_tessera_prefix}/lib/libtessera_runtime.so")
unset(_tessera_prefix)
