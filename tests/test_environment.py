"""environment.yml (conda) and pyproject.toml (pip) pin the same versions."""

import re
import tomllib

import yaml

from conftest import ROOT


def _pins(requirements):
    pins = {}
    for req in requirements:
        m = re.fullmatch(r"([A-Za-z0-9_.-]+)==([^\s;]+)", req.strip())
        assert m, f"not pinned with ==: {req!r}"
        pins[m.group(1).lower()] = m.group(2)
    return pins


def test_conda_and_pip_pin_the_same_versions():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pip_pins = _pins(project["dependencies"] + project["optional-dependencies"]["test"])
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    conda_pins = _pins([r for r in pip_section if not r.startswith("-e")])
    assert conda_pins == pip_pins
    assert pip_pins["torch"] == "2.13.0" and pip_pins["snakemake"].startswith("9.")
