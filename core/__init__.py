"""Restora's engine: image I/O, tensors, devices, engines, training. Never imports Qt."""

__version__ = "0.1.0"
