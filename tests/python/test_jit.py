"""@tessera.jit and eager tracing: caching per signature, IR of every level, errors that name
the op and the user's line, and Python control flow on traced values."""
import inspect

import numpy as np
import pytest

import tessera as ts

RNG = np.random.default_rng()


def this_line(offset=0):
    frame = inspect.currentframe().f_back
    return f"{frame.f_code.co_filename}:{frame.f_lineno + offset}"


def test_jit_matches_eager_bit_for_bit():
    x, w, b = (ts.tensor(RNG.standard_normal(s).astype(np.float32)) for s in [(9, 17), (17, 5), (5,)])

    def layer(x, w, b):
        return ts.relu(x @ w + b).sum(axis=-1)

    eager = layer(x, w, b).numpy()
    jitted = ts.jit(layer)(x, w, b).numpy()
    assert np.array_equal(eager, jitted)
    ref = np.maximum(x.numpy().astype(np.float64) @ w.numpy() + b.numpy(), 0).sum(-1)
    np.testing.assert_allclose(jitted, ref, rtol=1e-5, atol=1e-5)


def test_traces_once_per_signature():
    calls = []

    @ts.jit
    def f(x, scale):
        calls.append(1)
        return x * scale + x

    a = ts.ones(3, 4)
    for _ in range(3):
        out = f(a, 2.0)
    assert len(calls) == 1
    np.testing.assert_array_equal(out.numpy(), np.full((3, 4), 3.0, np.float32))
    f(ts.ones(5), 2.0)  # new shape: traced again
    np.testing.assert_array_equal(f(a, 3.0).numpy(), np.full((3, 4), 4.0, np.float32))
    assert len(calls) == 2  # a float is a run-time value: no new trace
    f(a, 3)  # an int is static: traced again
    np.testing.assert_array_equal(f(a, 3).numpy(), np.full((3, 4), 4.0, np.float32))
    assert len(calls) == 3


def test_function_alias_and_structured_outputs():
    @ts.function
    def f(inputs):
        x, y = inputs["x"], inputs["y"]
        return {"sum": x + y, "parts": [x * y, ts.exp(x)]}

    x, y = ts.rand(4, seed=1), ts.rand(4, seed=2)
    out = f({"x": x, "y": y})
    np.testing.assert_allclose(out["sum"].numpy(), x.numpy() + y.numpy(), rtol=1e-6)
    np.testing.assert_allclose(out["parts"][1].numpy(), np.exp(x.numpy()), rtol=1e-6)


def test_returning_an_argument_and_a_captured_tensor():
    captured = ts.full((3,), 2.0)

    @ts.jit
    def f(x):
        return x, x * captured

    x = ts.arange(3, dtype=ts.float32)
    same, scaled = f(x)
    np.testing.assert_array_equal(same.numpy(), [0, 1, 2])
    np.testing.assert_array_equal(scaled.numpy(), [0, 2, 4])


def test_ir_levels():
    f = ts.jit(lambda x, y: ts.sum(ts.exp(x) * y, axis=-1))
    with pytest.raises(ts.TracingError):
        f.ir("graph")
    f(ts.rand(4, 8), ts.rand(4, 8))
    assert "exp(" in f.ir("graph") and "loc(" in f.ir("graph")
    assert f.ir("schedule").count("sched.kernel") == 1  # exp and mul are the sum's prologue
    tile = f.ir("tile")
    assert "tile.load" in tile and "tile.reduce" in tile and "rt.launch" in tile
    assert "define void" in f.ir("llvm")
    with pytest.raises(ts.TesseraError, match="unknown IR level"):
        f.ir("bogus")


def test_shape_error_names_op_shapes_and_user_line():
    a, b = ts.ones(4, 5), ts.ones(6, 3)
    line = this_line(2)
    with pytest.raises(ts.ShapeError) as e:
        a @ b
    msg = str(e.value)
    assert "matmul: inner dims differ" in msg and "f32[4,5]" in msg and "f32[6,3]" in msg
    assert e.value.location == line


def test_errors_inside_jit_point_at_the_users_line():
    @ts.jit
    def f(x, y):
        return x + y

    with pytest.raises(ts.ShapeError) as e:
        f(ts.ones(3), ts.ones(4))
    assert "add: shapes cannot be broadcast" in str(e.value)
    assert e.value.location.endswith(f"test_jit.py:{inspect.getsourcelines(f.__wrapped__)[1] + 2}")


def test_dtype_and_axis_errors():
    with pytest.raises(ts.DTypeError, match="add: not defined for bool tensors"):
        ts.ones(3, dtype=ts.bool_) + ts.ones(3, dtype=ts.bool_)
    with pytest.raises(ts.DTypeError, match="exp: needs a floating-point"):
        ts.exp(ts.ones(3, dtype=ts.int32))
    with pytest.raises(ts.TesseraValueError, match="axis 2 is out of range"):
        ts.sum(ts.ones(3, 4), axis=2)
    with pytest.raises(ts.TesseraError, match="operands must be"):
        ts.ones(3) + "a"


def test_python_control_flow_on_traced_values_is_a_clear_error():
    @ts.jit
    def f(x):
        if ts.sum(x, axis=0):  # needs the value while tracing
            return x
        return -x

    with pytest.raises(ts.TracingError) as e:
        f(ts.ones(3))
    assert "control flow" in str(e.value) and "static" in str(e.value)


def test_traced_tensor_escaping_the_trace_is_a_clear_error():
    leaked = []

    @ts.jit
    def f(x):
        leaked.append(x * 2)
        return x

    f(ts.ones(2))
    with pytest.raises(ts.TracingError):
        leaked[0].numpy()


def test_wrong_inputs_to_executable():
    text = "module @m {\nfunc @main(%x: f32[3]) -> (f32[3]) {\n  %0 = exp(%x) : f32[3]\n  return(%0)\n}\n}\n"
    exe = ts._C.compile(text, "cpu")
    with pytest.raises(ts.ShapeError, match="expects f32\\[3\\]"):
        exe.run([ts.ones(4)._realize()])
    with pytest.raises(ts.TesseraValueError, match="expected 1 inputs"):
        exe.run([])
    with pytest.raises(ts.ParseError):
        ts._C.compile("module @m { func", "cpu")


def test_pipeline_applies_stages_in_order():
    x = RNG.standard_normal((5, 3)).astype(np.float32)
    got = ts.ops.pipeline([ts.ops.matmul(ts.tensor(x), ts.tensor(x.T.copy())), ts.ops.relu, lambda t: t * 2.0]).numpy()
    np.testing.assert_allclose(got, np.maximum(x.astype(np.float64) @ x.T, 0) * 2, rtol=1e-5, atol=1e-5)
    with pytest.raises(ts.TesseraError, match="stage 1 must be a callable"):
        ts.ops.pipeline([ts.ones(2), 3])
