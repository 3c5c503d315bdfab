"""PyTorch Lite (`.ptl`): TorchScript for the lite interpreter, the runtime of `pytorch_android_lite`.

`export` writes the file a phone downloads (and its weights-only update: `frbench.weights_file`),
`reader` reads it back without TorchScript's source, `runtime` runs it on the host with the lite
interpreter, and the app's `ptl` flavor runs it on Android (`LiteRunner`).
"""

from .. import Format, register_format
from .export import LiteExporter
from .runtime import LiteRuntime


@register_format
class LiteFormat(LiteExporter, LiteRuntime, Format):
    name = "ptl"
    runtime = "pytorch-lite"
    android_runner = "LiteRunner"
