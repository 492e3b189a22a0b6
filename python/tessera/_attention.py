"""``scaled_dot_product_attention`` with torch's signature, over the registry op ``attention``.

``tessera.attention(q, k, v, scale=None, causal=False)`` is the op itself. On NVIDIA GPUs with
bf16/f16 inputs and head dim 64 or 128 it runs a flash-attention kernel (memory O(S));
elsewhere it computes softmax(q @ k^T * scale) @ v with ordinary ops (docs/attention.md)."""
from __future__ import annotations

from . import ops
from .errors import TesseraValueError


def scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p=0.0, is_causal=False, scale=None):
    """softmax(query @ key^T * scale) @ value over the last two dims, as
    ``torch.nn.functional.scaled_dot_product_attention``: query [..., L, E], key [..., S, E],
    value [..., S, Ev] -> [..., L, Ev]; scale None means 1/sqrt(E); ``is_causal`` lets query i
    see keys j <= i only (top-left aligned). Arbitrary masks and dropout are not supported: write
    the ops out (e.g. with ``tessera.tril``) for those."""
    if attn_mask is not None:
        raise TesseraValueError("scaled_dot_product_attention: attn_mask is not supported; use is_causal=True, "
                                "or write softmax(q @ k^T * scale) @ v with your mask applied (tessera.where/tril)")
    if dropout_p:
        raise TesseraValueError("scaled_dot_product_attention: dropout_p must be 0 (dropout is not supported)")
    return ops.attention(query, key, value, scale=scale, causal=bool(is_causal))
