"""ExecuTorch (`.pte`): a program lowered to the XNNPACK delegate, the runtime of `executorch-android`.

`export` lowers the form (`update`: ExecuTorch's program-data separation for the weights-only
update), `reader` reads the program and the delegate's graph back, `runtime` runs it on the host
with ExecuTorch's C++ runtime, and the app's `pte` flavor runs it on Android (`ExecuTorchRunner`).
"""

from .. import Format, register_format
from .export import ExecuTorchExporter
from .runtime import ExecuTorchRuntime


@register_format
class ExecuTorchFormat(ExecuTorchExporter, ExecuTorchRuntime, Format):
    name = "pte"
    runtime = "executorch"
    android_runner = "ExecuTorchRunner"
