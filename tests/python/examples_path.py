"""Imports for the tests of examples/models/<name>: each example's folder goes on sys.path (its
own modules import each other by name), and its train.py, a name every example has, is loaded
under a name of its own."""
import importlib.util
import os
import sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "examples", "models")


def example_dir(name):
    """examples/models/<name>, put on sys.path."""
    here = os.path.join(ROOT, name)
    if here not in sys.path:
        sys.path.insert(0, here)
    return here


def example_train(name):
    """Puts examples/models/<name> on sys.path and returns its train.py as a module."""
    here = example_dir(name)
    spec = importlib.util.spec_from_file_location(f"{name}_train", os.path.join(here, "train.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
