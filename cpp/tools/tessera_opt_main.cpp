// The tessera-opt executable (the tool itself is cpp/tools/opt_tool.cpp).
#include "tools/opt_tool.hpp"

int main(int argc, char** argv) { return tessera::tessera_opt_main(argc, argv); }
