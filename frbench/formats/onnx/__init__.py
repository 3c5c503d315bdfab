"""ONNX Runtime (`.onnx`): the PyTorch exporter's graph, the runtime of `onnxruntime-android`.

`export` writes the graph as a phone's file (`clean`; its weights-only update is ONNX's external
data), `reader` reads it back, `runtime` runs it on the host with `onnxruntime` (CPU execution
provider, session options recorded), and the app's `onnx` flavor runs it on Android
(`OnnxRuntimeRunner`).
"""

from .. import Format, register_format
from .export import OnnxExporter
from .runtime import OnnxRuntime


@register_format
class OnnxFormat(OnnxExporter, OnnxRuntime, Format):
    name = "onnx"
    runtime = "onnxruntime"
    android_runner = "OnnxRuntimeRunner"
