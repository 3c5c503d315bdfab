"""Study configuration, in one place: the schema and its defaults (`schema`), reading config files
(`file`), the checks made before any job (`study`, `combinations`), and the list of the study's models.

    validate_study(config)      what workflow/rules/common.smk runs on the config snakemake read
    check_config_files(*paths)  `frbench check-config`: the same, naming the files
    study_models(config)        (method, level, seed) of every model the study makes

The names are imported when first asked for (PEP 562): `frbench.models` and `frbench.train` read
their defaults from `frbench.config.schema` while the checks here import them in turn.
"""

import importlib

_HOMES = {"SCHEMA": "schema", "block_defaults": "schema", "check_config_files": "file",
          "read_config_file": "file", "check_study": "study", "study_models": "study", "validate_study": "study"}
__all__ = sorted(_HOMES)


def __getattr__(name: str):
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f".{_HOMES[name]}", __name__), name)
