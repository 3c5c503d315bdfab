"""Runtimes that load and run an exported model on the host, one per file format.

Export uses them to check fidelity, and the benchmark worker to time and score
the model. A runtime answers: `name`, `version()`, `prepare()` (load the runtime itself,
before anything is timed or measured), `load(path, weights=None)` (with
the weights file of a weights-only update: the program at `path` runs with those weights),
`run(module, x)`.
"""

from ..registry import Registry

RUNTIMES = Registry("runtime (model format)")

from . import lite  # noqa: E402,F401  (registers "ptl")
from . import executorch  # noqa: E402,F401  (registers "pte")

__all__ = ["RUNTIMES"]
