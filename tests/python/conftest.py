import os

# SciPy and scikit-learn read this once, at import, to take their array API code paths
# (test_array_api runs them on tessera tensors); it changes nothing for NumPy inputs.
os.environ.setdefault("SCIPY_ARRAY_API", "1")
