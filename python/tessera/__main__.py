"""``tessera`` on the command line (also ``python -m tessera``):

    tessera cache info     where the disk cache is, entries and bytes per kind
    tessera cache prune    delete entries of other Tessera builds (they can never be hit)
    tessera cache clear    delete the cached files
    tessera launch -n N script.py [args]   run a distributed job of N processes (tessera.launch)
    tessera --cmake-prefix-path            the folder for CMAKE_PREFIX_PATH (find_package(tessera))
    tessera --runtime-library              the path of libtessera_runtime.so (docs/cpp.md)
"""
from __future__ import annotations

import argparse
import sys


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "launch":
        from . import launch
        return launch.main(argv[1:])
    if argv in (["--cmake-prefix-path"], ["--runtime-library"]):
        # Answered from the installed files: a build tree has no lib/ folder.
        from pathlib import Path
        root = Path(__file__).absolute().parent
        library = root / "lib" / "libtessera_runtime.so"
        if not library.exists():
            print(f"tessera: {library} is missing: this Tessera was not installed from a wheel "
                  "(pip install .), so it has no C library", file=sys.stderr)
            return 1
        print(root if argv[0] == "--cmake-prefix-path" else library)
        return 0
    parser = argparse.ArgumentParser(prog="tessera", description="Tessera command-line tools.")
    commands = parser.add_subparsers(dest="command", required=True)
    cache = commands.add_parser("cache", help="the disk cache of compiled code (docs/caching.md)")
    cache.add_argument("action", choices=["info", "prune", "clear"],
                       help="show the cache; delete entries of other builds; delete every cached file")
    commands.add_parser("launch", help="run a distributed job: tessera launch -n N script.py [args]")
    args = parser.parse_args(argv)

    from . import cache as cache_module
    if args.action == "info":
        print(cache_module.format_info(cache_module.cache_info()))
    else:
        directory = cache_module.cache_info()["directory"]
        removed = cache_module.clear_cache() if args.action == "clear" else cache_module.prune_cache()
        print(f"removed {removed} file{'s' if removed != 1 else ''} from {directory}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
