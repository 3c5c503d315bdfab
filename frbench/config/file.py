"""`frbench check-config FILE`: a study config file checked as the workflow checks it, with every
fault named after the file.

Snakemake reads `--configfile` before any of the workflow's code runs, and refuses a file it cannot
take (empty, a list or a scalar at the top, YAML it cannot parse) with a message that names neither
the file nor what is wrong ("Config file must be given as JSON or YAML with keys at top level";
snakemake/snakemake#2439). The workflow cannot word that message, so this command does: it reads the
file, then runs `frbench.config.validate_study`, the checks `snakemake ... all` makes before any job.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from ..errors import ConfigError


def read_config_file(path: str | Path) -> dict:
    """The file's config, a mapping of keys; ConfigError naming the file when it is missing, not
    YAML or JSON, empty, or holds something other than keys at its top level."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such config file") from None
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"{path}: cannot be read as a text file ({e})") from None
    try:
        config = yaml.safe_load(text)
    except yaml.YAMLError as e:
        where = getattr(e, "problem_mark", None)
        at = f" at line {where.line + 1}, column {where.column + 1}" if where else ""
        raise ConfigError(f"{path}: not valid YAML{at} ({getattr(e, 'problem', None) or e}); "
                          "fix the file (tabs are not allowed for indentation)") from None
    if config is None:
        raise ConfigError(f"{path}: the config file is empty; give at least the keys to change from the "
                          "defaults, e.g. `methods: {baseline: {levels: [dense]}}` (config/README.md)")
    if not isinstance(config, dict):
        raise ConfigError(f"{path}: the config file holds a {type(config).__name__} at its top level; a study config "
                          "is keys with values (`seeds: [0]`, `methods: ...`), as in config/config.yaml")
    return config


def check_config_files(*paths: str | Path) -> dict:
    """Read the files, merge them in order as `snakemake --configfile A B` does (B's keys over A's,
    nested blocks merged), and run the workflow's checks on the result (`validate_study`); the config
    as the workflow would run it, defaults filled in."""
    from snakemake.utils import update_config

    from .study import validate_study

    config: dict = {}
    for path in paths:
        update_config(config, read_config_file(path))
    named = ", ".join(map(str, paths))
    try:
        return validate_study(config)
    except Exception as e:  # noqa: BLE001 - ConfigError, DataError, snakemake's WorkflowError: each names the key
        raise ConfigError(f"{named}: {e}") from None
