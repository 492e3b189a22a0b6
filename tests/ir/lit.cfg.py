# lit configuration for the IR text tests: `lit tests/ir` (see tests/ir/*.tir).
#
# Finds tessera-opt in $TESSERA_OPT, build/cpp/tessera-opt or the newest build/dev-*/tessera-opt,
# and FileCheck / split-file from LLVM 22 ($FILECHECK / $SPLIT_FILE override them).
import glob
import os
import shutil

import lit.formats

config.name = "tessera-ir"
config.test_format = lit.formats.ShTest(execute_external=False)
config.suffixes = [".tir"]
config.test_source_root = os.path.dirname(os.path.abspath(__file__))
config.excludes = ["Output"]

repo = os.path.dirname(os.path.dirname(config.test_source_root))


def find_opt():
    env = os.environ.get("TESSERA_OPT")
    if env:
        return env
    candidates = [os.path.join(repo, "build", "cpp", "tessera-opt")]
    candidates += sorted(glob.glob(os.path.join(repo, "build", "dev-*", "tessera-opt")),
                         key=os.path.getmtime, reverse=True)
    for c in candidates:
        if os.path.isfile(c) and os.access(c, os.X_OK):
            return c
    lit_config.fatal("tessera-opt not found: set TESSERA_OPT or build it into build/dev-*/")


def find_llvm_tool(name, env_var):
    path = os.environ.get(env_var) or shutil.which(name + "-22") or "/usr/lib/llvm-22/bin/" + name
    if not os.path.isfile(path):
        lit_config.fatal(f"{name} not found: install LLVM 22 or set {env_var}")
    return path


opt = find_opt()
lit_config.note(f"using tessera-opt: {opt}")
# Substitutions are regular expressions, applied in order before lit's own (%s, %t, ...).
config.substitutions.append(("%tessera-opt", opt))
config.substitutions.append((r"\bFileCheck\b", find_llvm_tool("FileCheck", "FILECHECK")))
config.substitutions.append((r"\bsplit-file\b", find_llvm_tool("split-file", "SPLIT_FILE")))

# Tests set what they need; nothing from the caller's environment leaks in.
for var in ("TESSERA_DUMP_IR", "TESSERA_VERIFY_EACH"):
    config.environment.pop(var, None)
