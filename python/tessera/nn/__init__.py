"""Modules as pytrees (``Module``), seeded initialisers (``nn.init``) and standard layers.
See docs/training.md."""
from . import init
from .attention import MoE, Attention, KVCache, TransformerBlock
from .layers import (MLP, AvgPool2d, Conv1d, Conv2d, Dropout, Embedding, Identity, LayerNorm, Linear, MaxPool2d,
                     RMSNorm, SwiGLU)
from .module import Module, Sequential

__all__ = ["Module", "Sequential", "init", "Linear", "Embedding", "LayerNorm", "RMSNorm", "Dropout", "MLP", "SwiGLU",
           "Conv1d", "Conv2d", "MaxPool2d", "AvgPool2d", "Identity", "Attention", "KVCache", "TransformerBlock", "MoE"]
