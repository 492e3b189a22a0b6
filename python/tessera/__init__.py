"""Tessera: a programming model and compiler for deep learning and scientific computing.

Write ordinary Python over ``tessera`` tensors; Tessera records the computation as Graph IR,
lowers it through Schedule IR and Tile IR to LLVM, and runs the generated machine code on the
CPU or an NVIDIA GPU. Tensors cross to NumPy, PyTorch, JAX and CuPy through DLPack.
"""
from . import _C
from .errors import (TesseraError, ShapeError, DTypeError, DeviceError, ParseError, VerifyError,
                     CompileError, TesseraRuntimeError, TesseraValueError, TracingError,
                     TesseraIndexError, InternalError, RecompileWarning)
from .dtypes import (DType, dtype, float64, float32, float16, bfloat16, int64, int32, int8, uint8,
                     bool_, f64, f32, f16, bf16, i64, i32, i8, u8)
from .device import (Device, device, device_count, is_available, device_properties, synchronize,
                     set_num_threads, get_num_threads, empty_cache, memory_stats, reset_peak_memory_stats)
from .tensor import (Tensor, WeakScalar, tensor, from_dlpack, empty, zeros, ones, full, arange, rand, randn,
                     manual_seed)
from . import ops
from .ops import *  # noqa: F401,F403 - every registry op at top level too: tessera.exp, tessera.sum, ...
from .jit import jit, function, JitFunction
from .lazy import defer, realize
from .compile import compile_for_target
from .cache import cache_info, clear_cache
from .autodiff import grad, value_and_grad, vjp, jvp, hessian, stop_gradient, checkpoint
from .custom import custom_vjp
from ._attention import scaled_dot_product_attention
from .shapes import TensorType
from .indexing import split
from .functions import (eye, linspace, logspace, meshgrid, zeros_like, ones_like, full_like, empty_like, randint,
                        bernoulli, pad, topk, einsum)
from .tree import register_pytree_node, tree_flatten, tree_unflatten, tree_map, tree_leaves, tree_structure
from . import debug
from .debug import debug_print
from .control import scan, while_loop, cond, fori_loop, recursive
from .vmap import vmap, moveaxis
from . import array_api
from . import linalg
from . import nn, optim, io, precision
from .profiler import profile, Profile
from .aot import export, load, ExportedProgram

op = ops  # alias of tessera.ops, kept for code written before the name was settled

__version__ = "0.1.0"
