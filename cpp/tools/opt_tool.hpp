// tessera-opt: IR text in, passes, IR text out. Shared by the executable and tessera._C.opt_main.
#pragma once

namespace tessera {

// `tessera-opt [file|-] [-p|--passes=PIPELINE] [--no-locations] [--no-verify] [--list-passes]
// [-o out] [--version] [--help]`. Writes the module to stdout (or -o), errors to stderr as
// "tessera-opt: error: ..."; returns 0, or 1 on any error. Never throws.
int tessera_opt_main(int argc, char** argv);

}  // namespace tessera
