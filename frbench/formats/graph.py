"""What an exported graph is, as data: its operators in order and its tensors' shapes.

Each exporter reads its own file into a list of operator names (in execution order) and a list
of `[dtype, shape]` for the tensors the graph holds; `graph_record` turns them into the export
record's `graph` entry. Two files with equal `signature`s run the same operators on the same
shapes and differ at most in their weights' values: global magnitude pruning, which only zeroes
weights, keeps the baseline's signature; structured pruning (other shapes), Tucker (other
layers), quantization (other operators and dtypes) and FR's compact form change it. The summary
compares each row's signature with the baseline's on the same format (`graph_differs`).
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter


def graph_record(ops: list[str], tensors: list[list], plumbing: tuple[str, ...] = ()) -> dict:
    """`signature`: SHA-256 of the operators in order and the tensors' dtypes and shapes;
    `ops`: how many of each operator, leaving out names that start with a `plumbing` prefix
    (TorchScript's attribute reads, constants and list building), for people to read."""
    text = json.dumps({"ops": ops, "tensors": tensors}, separators=(",", ":"))
    counts = Counter(op for op in ops if not op.startswith(plumbing)) if plumbing else Counter(ops)
    return {"signature": hashlib.sha256(text.encode()).hexdigest(), "nodes": len(ops),
            "ops": dict(sorted(counts.items())), "tensors": len(tensors)}
