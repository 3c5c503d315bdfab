"""Which globals (functions and classes) a torch file's pickles ask for, read without unpickling.

When `torch.load(weights_only=True)` refuses a file, its message depends on the torch version and
on the opcode the file uses (torch 2.13: "Unsupported global: GLOBAL builtins.exec ...", "Trying to
load unsupported GLOBAL posix.system whose module posix is blocked", and "Unsupported operand 147"
for a protocol-4 pickle's STACK_GLOBAL, which names nothing). Reading the opcodes with `pickletools`
names the global whatever the wording, so the error can say what the file asks to run.
"""

from __future__ import annotations

import _compat_pickle
import io
import pickletools
import zipfile
from pathlib import Path

_STRINGS = {"SHORT_BINUNICODE", "BINUNICODE", "BINUNICODE8", "UNICODE", "SHORT_BINSTRING", "BINSTRING", "STRING"}
_GETS = {"BINGET", "LONG_BINGET", "GET"}
_PUTS = {"BINPUT", "LONG_BINPUT", "PUT"}


def _pickles(path: Path) -> list[bytes]:
    """The pickle streams of a torch file: the `.pkl` records of a zip archive (torch.save's format),
    else the file itself (the legacy format, or a plain pickle)."""
    try:
        with zipfile.ZipFile(path) as archive:
            return [archive.read(name) for name in archive.namelist() if name.endswith(".pkl")]
    except (zipfile.BadZipFile, OSError, EOFError, ValueError):
        return [path.read_bytes()]


def _globals_in(data: bytes) -> list[str]:
    """"module.name" of every GLOBAL and STACK_GLOBAL opcode, in order, across consecutive pickles,
    up to the first opcode that does not parse. STACK_GLOBAL takes its two names from the stack:
    the two strings pushed last (directly, or fetched from the memo)."""
    found: list[str] = []
    stream = io.BytesIO(data)
    while stream.tell() < len(data):
        memo: dict[int, str | None] = {}
        pushed: list[str] = []
        top: str | None = None  # the string the last opcode left on top of the stack, if any
        try:
            for op, arg, _ in pickletools.genops(stream):
                name = op.name
                if name in _STRINGS:
                    top = arg.decode("latin-1") if isinstance(arg, bytes) else arg
                    pushed.append(top)
                elif name in _GETS:
                    top = memo.get(arg)
                    if top is not None:
                        pushed.append(top)
                elif name in _PUTS:
                    memo[arg] = top
                elif name == "MEMOIZE":
                    memo[len(memo)] = top
                elif name == "GLOBAL":
                    found.append(_python3_name(*str(arg).split(" ", 1)))
                    top = None
                elif name == "STACK_GLOBAL":
                    found.append(".".join(pushed[-2:]) if len(pushed) >= 2 else "an unnamed global")
                    top = None
                else:
                    top = None
        except Exception:  # noqa: BLE001 - damaged or not a pickle: what was read so far is the answer
            break
    return found


def _python3_name(module: str, name: str = "") -> str:
    """"module.name" as Python 3 reads it: a protocol-2 pickle writes Python 2's names
    (`__builtin__.exec`, `commands.Popen` for subprocess.Popen), which unpickling maps back."""
    module, name = _compat_pickle.NAME_MAPPING.get((module, name), (module, name))
    return f"{_compat_pickle.IMPORT_MAPPING.get(module, module)}.{name}"


def _allowed() -> set[str] | None:
    """The globals torch's weights-only unpickler allows (its own and those added with
    `torch.serialization.add_safe_globals`); None where this torch does not say."""
    try:
        from torch._weights_only_unpickler import _get_allowed_globals, _get_user_allowed_globals
    except ImportError:
        return None
    return set(_get_allowed_globals()) | set(_get_user_allowed_globals())


def refused_globals(path: str | Path) -> list[str]:
    """The globals a torch file asks for that `torch.load(weights_only=True)` refuses, each once,
    in the order they appear: functions or classes that unpickling would call, e.g. "posix.system"
    (os.system), "builtins.exec", "subprocess.Popen". Empty for a file that asks for none."""
    allowed = _allowed()
    refused: list[str] = []
    for data in _pickles(Path(path)):
        for name in _globals_in(data):
            ok = name in allowed if allowed is not None else name.startswith(("torch.", "collections.OrderedDict"))
            if not ok and name not in refused:
                refused.append(name)
    return refused
