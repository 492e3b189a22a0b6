// tessera-opt: reads IR text, parses, verifies, runs a pass pipeline, prints the module, or
// with --emit the code the target's backend generates from the (Tile IR) result.
#include "tools/opt_tool.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <sstream>
#include <string>

#include "backends/backend.hpp"
#include "ir/ir.hpp"
#include "ir/pass_manager.hpp"
#include "ir/target.hpp"

#ifndef TESSERA_VERSION
#define TESSERA_VERSION "unknown"
#endif

namespace tessera {
namespace {

const char* kUsage = R"(usage: tessera-opt [file|-] [options]

Reads Tessera IR text (from the file, or from stdin when it is '-' or absent), verifies it,
runs the pass pipeline and prints the resulting module.

options:
  -p, --passes=PIPELINE  passes to run, comma-separated (e.g. "cse,dce"); may be repeated
  -o, --output=FILE      write the module to FILE instead of stdout
  --no-locations         leave out loc(...) annotations
  --no-verify            verify neither the input nor after each pass (the verify pass still does)
  --target=TARGET        compile for TARGET (cpu, nvptx:sm_90a, amdgpu:gfx942, spirv:vulkan): its
                         attributes replace the module's before the passes run
  --emit=WHAT            print, instead of the module, what the backend makes of the resulting
                         Tile IR: llvm (optimised LLVM IR) or asm (PTX, AMDGPU or x86 assembly,
                         SPIR-V as text)
  --list-passes          list the registered passes and exit
  --version              print the version and exit
  -h, --help             show this help and exit

environment:
  TESSERA_DUMP_IR=DIR    write the IR to DIR/NN-input.tir and DIR/NN-<pass>.tir after each pass
  TESSERA_VERIFY_EACH=1  verify the IR after every pass
)";

struct Options {
  std::string input = "-";
  bool have_input = false;
  std::string pipeline;
  std::string output;
  std::string target;
  std::string emit = "ir";
  bool locations = true;
  bool verify = true;
  bool list = false;
  bool help = false;
  bool version = false;
};

[[noreturn]] void usage_error(const std::string& msg) { fail(ErrorCode::Value, msg + " (see --help)"); }

// Matches `-x VALUE`, `-xVALUE`, `--long=VALUE` and `--long VALUE`.
bool take_value(int argc, char** argv, int& i, const char* shrt, const char* lng, std::string& out) {
  std::string a = argv[i];
  std::string l = std::string("--") + lng;
  std::string s = std::string("-") + shrt;
  if (a == l || a == s) {
    if (i + 1 >= argc) usage_error("option " + a + " needs a value");
    out = argv[++i];
    return true;
  }
  if (a.rfind(l + "=", 0) == 0) {
    out = a.substr(l.size() + 1);
    return true;
  }
  if (a.size() > 2 && a.rfind(s, 0) == 0 && a[1] != '-') {
    out = a.substr(2);
    if (!out.empty() && out[0] == '=') out = out.substr(1);
    return true;
  }
  return false;
}

Options parse_args(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    if (!argv[i]) continue;
    std::string a = argv[i], v;
    if (take_value(argc, argv, i, "p", "passes", v)) {
      o.pipeline += (o.pipeline.empty() || v.empty() ? "" : ",") + v;
    } else if (take_value(argc, argv, i, "o", "output", v)) {
      o.output = v;
    } else if (a.rfind("--target", 0) == 0 && take_value(argc, argv, i, "", "target", v)) {
      o.target = v;
    } else if (a.rfind("--emit", 0) == 0 && take_value(argc, argv, i, "", "emit", v)) {
      if (v != "ir" && v != "llvm" && v != "asm") usage_error("--emit takes ir, llvm or asm, not '" + v + "'");
      o.emit = v;
    } else if (a == "--no-locations") {
      o.locations = false;
    } else if (a == "--no-verify") {
      o.verify = false;
    } else if (a == "--list-passes") {
      o.list = true;
    } else if (a == "--version") {
      o.version = true;
    } else if (a == "-h" || a == "--help") {
      o.help = true;
    } else if (a != "-" && a.size() > 1 && a[0] == '-') {
      usage_error("unknown option '" + a + "'");
    } else {
      if (o.have_input) usage_error("more than one input file ('" + o.input + "' and '" + a + "')");
      o.input = a;
      o.have_input = true;
    }
  }
  return o;
}

std::string read_input(const std::string& path) {
  if (path == "-") {
    std::ostringstream ss;
    ss << std::cin.rdbuf();
    return ss.str();
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(ErrorCode::Value, "cannot open input file '" + path + "': " + std::strerror(errno));
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void write_output(const std::string& path, const std::string& text) {
  if (path.empty() || path == "-") {
    std::cout << text;
    return;
  }
  std::ofstream out(path, std::ios::binary);
  out << text;
  out.close();
  if (!out) fail(ErrorCode::Value, "cannot write output file '" + path + "'");
}

void list_passes() {
  size_t width = 0;
  for (const auto* p : ir::list_passes()) width = std::max(width, p->name.size());
  for (const auto* p : ir::list_passes())
    std::cout << p->name << std::string(width + 2 - p->name.size(), ' ') << p->description << "\n";
}

int run(int argc, char** argv) {
  Options o = parse_args(argc, argv);
  if (o.help) {
    std::cout << kUsage;
    return 0;
  }
  if (o.version) {
    std::cout << "tessera-opt " << TESSERA_VERSION << "\n";
    return 0;
  }
  if (o.list) {
    list_passes();
    return 0;
  }
  ir::parse_pipeline(o.pipeline);  // reject an unknown pass before reading any input
  std::string source = o.input == "-" ? "<stdin>" : o.input;
  std::unique_ptr<ir::Module> m = ir::parse(read_input(o.input), source);
  if (!o.target.empty()) ir::Target::parse(o.target).annotate(*m);
  if (o.verify) ir::verify(*m);
  ir::run_pipeline(*m, o.pipeline, o.verify ? std::nullopt : std::optional<bool>(false));
  if (o.emit == "ir") {
    write_output(o.output, ir::print(*m, o.locations));
    return 0;
  }
  if (std::none_of(m->funcs.begin(), m->funcs.end(), [](const auto& f) { return f->attrs.count("kernel") > 0; }))
    usage_error("--emit=" + o.emit +
                " needs Tile IR kernel functions: lower the module first (e.g. -p form-kernels,lower-to-tile)");
  backends::CompiledKernels k = backends::compile_kernels(*m, ir::Target::of(*m), /*assembly=*/true);
  write_output(o.output, o.emit == "llvm" ? k.llvm_ir : k.assembly);
  return 0;
}

}  // namespace

int tessera_opt_main(int argc, char** argv) {
  int rc = 1;
  try {
    rc = run(argc, argv);
  } catch (const std::exception& e) {
    std::cout.flush();
    std::cerr << "tessera-opt: error: " << e.what() << "\n";
  } catch (...) {
    std::cout.flush();
    std::cerr << "tessera-opt: error: unknown exception\n";
  }
  std::cout.flush();
  std::cerr.flush();
  std::fflush(stdout);
  std::fflush(stderr);
  return rc;
}

}  // namespace tessera
