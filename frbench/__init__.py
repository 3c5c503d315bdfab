"""frbench: a reproducible benchmark harness for compressing UNets for phones."""

__version__ = "0.1.0"
