# cmake -DIN=<file> -DOUT=<file.cpp> -DNAME=<symbol> -P embed.cmake: writes a C++ file defining
# tessera::backends::<NAME> (the bytes of IN) and <NAME>_size.
file(READ ${IN} hex HEX)
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
file(WRITE ${OUT} "// Generated from ${IN} by cmake/embed.cmake.\n#include <cstddef>\n"
  "namespace tessera::backends {\nextern const unsigned char ${NAME}[] = {${bytes}};\n"
  "extern const size_t ${NAME}_size = sizeof(${NAME});\n}  // namespace tessera::backends\n")
