"""confcall.dsp: the media engine's numba kernels (filled in below)."""
from . import dtmf, g711

__all__ = ["dtmf", "g711"]
