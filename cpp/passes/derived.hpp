// Functions that transforms add to a module (autodiff of control flow, vmap): named by a hash
// of their text, so equal derivations give equal names (caches hit, Python links them by name)
// and a module holds each once.
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "ir/builder.hpp"

namespace tessera::passes {

using BuildBody = std::function<std::vector<ir::Value*>(ir::Builder&, const std::vector<ir::Value*>& args)>;

// `f` named `base`_<hash>, added to m unless m holds it already; returns the name.
std::string adopt(ir::Module& m, std::unique_ptr<ir::Function> f, const std::string& base);
// A new function `base`_<hash>(params) -> (what `build` returns) in m; returns its name.
std::string add_function(ir::Module& m, const std::string& base, const std::vector<ir::Type>& params,
                         const BuildBody& build);
// Function `fn` of m inlined at the end of b's block on `args`; returns its results.
std::vector<ir::Value*> call(ir::Builder& b, const ir::Module& m, const std::string& fn,
                             const std::vector<ir::Value*>& args);

}  // namespace tessera::passes
