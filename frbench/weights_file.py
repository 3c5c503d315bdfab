"""A program whose weights come in a file of their own: what a phone downloads to update a model.

A phone that holds a model's program needs only new weights to update it. `WeightsFromFile` is the
program's side, a TorchScript module that keeps its weights in a few tensors (`slots`: one per dtype
for a traced network, FR's coefficients and extras) and exports `set_weights(path)`, which reads a
weights file into them. `weights_file_bytes` writes that file: an 8-byte header (`MAGIC`, then the
file's length, both little-endian int32), then each slot's raw bytes at an offset aligned to 8.

The file is read with `torch.from_file`, once per slot, as that slot's dtype: the one way a
TorchScript program has to see bytes as float16 or float32 (`Tensor.view(dtype)` does not compile:
TorchScript resolves it to `view(size)`). It needs no code besides the program's own, so the lite
interpreter runs it on the host and in the Android app (`Module.runMethod("set_weights", path)`).
"""

import struct
import sys
from typing import List

import torch
import torch.nn as nn
from torch import Tensor

MAGIC = 0x31575246  # b"FRW1" read as a little-endian int32
HEADER_BYTES = 8
ALIGN = 8


def _aligned(n: int) -> int:
    return -(-n // ALIGN) * ALIGN


class WeightsFromFile(nn.Module):
    """Base of a program whose weights a file can replace; `hold_weights(slots)` in `__init__`.

    A subclass that derives something from its weights and keeps it (FR's compact UNet rebuilds its
    dense weights once) drops it in `weights_changed`."""

    slots: List[Tensor]
    offsets: List[int]  # each slot's byte offset in the file
    file_bytes: int
    magic: int  # MAGIC: a module's attribute, since TorchScript reads no global

    def hold_weights(self, slots: list[Tensor]) -> None:
        self.slots, self.magic = slots, MAGIC
        self.offsets, at = [], HEADER_BYTES
        for t in slots:
            self.offsets.append(at)
            at += _aligned(t.numel() * t.element_size())
        self.file_bytes = at

    @torch.jit.export
    def set_weights(self, path: str) -> None:
        """Replace every slot's values by the weights file at `path` (`weights_file_bytes`)."""
        header = torch.from_file(path, False, 2, dtype=torch.int32)
        if int(header[0]) != self.magic or int(header[1]) != self.file_bytes:
            raise RuntimeError("weights file " + path + ": not this program's weights (a file of "
                               + str(self.file_bytes) + " bytes starting with FRW1 was expected)")
        for i in range(len(self.slots)):
            t = self.slots[i]
            size = t.element_size()
            every = torch.from_file(path, False, self.file_bytes // size, dtype=t.dtype)
            start = self.offsets[i] // size
            t.copy_(every[start : start + t.numel()].view(t.shape))
        self.weights_changed()

    def weights_changed(self) -> None:
        """Called once new weights are in place."""
        pass


def weights_file_bytes(program: WeightsFromFile | torch.jit.ScriptModule) -> bytes:
    """The weights file of `program` (a `WeightsFromFile`, scripted or not): its slots' current values."""
    if sys.byteorder != "little":
        raise RuntimeError("weights files are little-endian, as phones are; write them on a little-endian host")
    out = bytearray(program.file_bytes)
    out[:HEADER_BYTES] = struct.pack("<ii", MAGIC, program.file_bytes)
    for t, at in zip(program.slots, program.offsets):
        raw = t.detach().contiguous().cpu().view(torch.uint8).numpy().tobytes()
        out[at : at + len(raw)] = raw
    return bytes(out)


def gather_by_dtype(model: nn.Module) -> list[Tensor]:
    """Re-point every floating-point parameter and buffer of `model` into one flat tensor per dtype,
    in place, and return those tensors: the slots of a traced `model` (the parameters become views of
    them, so a copy into a slot is a copy into the network). Parameters stop requiring grad."""
    entries = [(module, name, t) for module in model.modules()
               for name, t in [*module.named_parameters(recurse=False), *module.named_buffers(recurse=False)]
               if t.is_floating_point()]
    slots = []
    for dtype in dict.fromkeys(t.dtype for _, _, t in entries):
        mine = [(module, name, t) for module, name, t in entries if t.dtype == dtype]
        flat = torch.cat([t.detach().reshape(-1) for _, _, t in mine])
        at = 0
        for module, name, t in mine:
            view = flat[at : at + t.numel()].view(t.shape)
            at += t.numel()
            is_param = isinstance(t, nn.Parameter)
            setattr(module, name, nn.Parameter(view, requires_grad=False) if is_param else view)
        slots.append(flat)
    return slots
