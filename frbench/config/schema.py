"""Study defaults, read from their homes: the config schema (`workflow/schemas/config.schema.yaml`)
for the study's blocks, and each method's own `option_schema` for its options.

Snakemake fills the schema's defaults into the config before any job runs (`snakemake.utils.validate(...,
set_default=True)`); Python that is handed a partial block (a test, a notebook, a direct call of a
job's function) fills it from the same schema here, so a default is never written twice. frbench
reads the schema from the checkout it is installed from (`pip install -e .`, as `make setup` does).
"""

from __future__ import annotations

import functools
from pathlib import Path

import yaml

from ..errors import ConfigError

SCHEMA = Path(__file__).resolve().parents[2] / "workflow" / "schemas" / "config.schema.yaml"


@functools.lru_cache(maxsize=1)
def schema() -> dict:
    try:
        return yaml.safe_load(SCHEMA.read_text())
    except OSError as e:
        raise ConfigError(f"{SCHEMA}: the config schema, where every study default lives, cannot be read "
                          f"({e.strerror}); install frbench from its checkout (pip install -e .)") from None


def defaults_of(properties: dict) -> dict:
    """{key: default} of a JSON schema's `properties` (the keys that have one)."""
    return {key: spec["default"] for key, spec in properties.items() if "default" in spec}


def block_defaults(name: str) -> dict:
    """Defaults of a top-level block: `model`, or the training budget (`train`, `finetune`)."""
    s = schema()
    if name in ("train", "finetune"):
        return defaults_of(s["$defs"]["train_budget"]["properties"])
    return defaults_of(s["properties"][name].get("properties", {}))
