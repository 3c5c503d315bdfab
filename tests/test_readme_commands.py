"""Every command README.md and config/README.md show runs as written (issue #14), so that a command
needing a flag its text omits is caught here and not by a newcomer.

The commands are collected from the two files: each `backticked` span and each line of a shell block
that starts with a program (snakemake, make, python, .venv/bin/python, frbench, pytest), with an
optional VAR=value prefix. They run in bash from a folder laid out like a checkout that has run the
study: `workflow/` as in the repository, `config/config.yaml` the tiny study (with the FR paper's
model, as the text of `snakemake --cores 2 reference` says it must be), and the tiny study's
`results/`. What each does there:

- snakemake: as written, with `--dry-run` where it would train or benchmark (`all`, `figures`,
  `reference`); `--report`, `--unlock` and `--lint` for real;
- make: `make -n` (what it would run);
- a benchmark script or `frbench`: with `--help` (their options are shown in brackets or as
  placeholders); placeholders such as N or RESULTS_DIR get a real value;
- `pytest -m device`: as written (without an attached device the device tests skip).

A command of a kind this file does not know fails the test: say here how to run it.
"""

import os
import re
import shutil
import subprocess
import sys

import pytest
import yaml

from conftest import ROOT

PROGRAM = re.compile(r"^(?:[A-Z_]+=\S+ )*(?:snakemake|make|\.venv/bin/python|python|frbench|pytest)(?:\s|$)")
LONG_TARGETS = ("all", "figures", "reference")
PLACEHOLDERS = {"N": "2", "METHOD": "baseline", "RESULTS_DIR": "results"}


def documented_commands() -> list[str]:
    commands = set()
    for name in ("README.md", "config/README.md"):
        text = (ROOT / name).read_text()
        blocks = re.findall(r"```(?:sh|bash|console)\n(.*?)```", text, flags=re.S)
        prose = re.sub(r"```.*?```", "", text, flags=re.S)
        spans = [" ".join(s.split()) for s in re.findall(r"`([^`]+)`", prose)]  # joined across line breaks
        lines = [line.split("#")[0].strip() for block in blocks for line in block.splitlines()]
        commands |= {c for c in spans + lines if PROGRAM.match(c) and " " in c}  # not a program's bare name
    return sorted(commands)


def how_to_run(command: str) -> str:
    """The command as this test runs it (see the module docstring)."""
    words = [PLACEHOLDERS.get(w, w) for w in command.split()]
    program = next(w for w in words if "=" not in w)
    if program == "snakemake":
        long = any(w in LONG_TARGETS for w in words)
        return " ".join(words + (["--dry-run"] if long else []))
    if program == "make":
        return " ".join(w if w != "make" else "make -n" for w in words)
    if program == "pytest":
        return command
    line = " ".join(words)
    if "make_summary_full.py" in line:
        return f"{line} --out out"
    if script := re.match(r"^(\S*python benchmarks/\w+\.py|python -m frbench(?: [a-z-]+)?|frbench(?: [a-z-]+)?)", line):
        return f"{script.group(1)} --help"  # the benchmarks run a study or time UNet-31M: minutes
    raise AssertionError(f"do not know how to run {command!r}: add it to tests/test_readme_commands.py")


def test_the_readme_shows_the_commands_this_test_knows():
    commands = documented_commands()
    assert "make study" in commands and "make test" in commands  # the two the README opens with
    assert any(c.startswith("snakemake") and "--configfile config/tiny.yaml" in c for c in commands)
    for command in commands:
        how_to_run(command)  # raises for a command of an unknown kind


@pytest.fixture(scope="module")
def checkout(tiny_study, tmp_path_factory):
    """A folder laid out like a checkout that has run the study (the tiny one)."""
    d = tmp_path_factory.mktemp("checkout")
    for part in ("workflow", "benchmarks", "tests", "pyproject.toml", "Makefile"):
        (d / part).symlink_to(ROOT / part)
    (d / "config").mkdir()
    for name in ("tiny.yaml", "paper.yaml", "wide.yaml"):
        shutil.copy(ROOT / "config" / name, d / "config" / name)
    config = yaml.safe_load((ROOT / "config" / "tiny.yaml").read_text())
    config["reference"] = {"dir": str(ROOT.parent / "shared" / "fr_reference"), "size": [64, 96]}
    (d / "config" / "config.yaml").write_text(yaml.safe_dump(config))
    shutil.copytree(tiny_study, d / "results")
    (d / "out").mkdir()
    (d / ".venv").symlink_to(ROOT / ".venv") if (ROOT / ".venv").exists() else None
    return d


@pytest.mark.slow
@pytest.mark.parametrize("command", documented_commands())
def test_documented_command_runs_as_written(checkout, command):
    run = how_to_run(command)
    if "reference" in command.split() and not (ROOT.parent / "shared" / "fr_reference").is_dir():
        pytest.skip("needs ../shared/fr_reference beside the checkout")
    env = {**os.environ, "PATH": os.pathsep.join([str(ROOT / ".venv" / "bin"), str(os.path.dirname(sys.executable)),
                                                  os.environ.get("PATH", "")])}
    proc = subprocess.run(["bash", "-c", run], cwd=checkout, env=env, capture_output=True, text=True, timeout=600)
    out = proc.stdout + proc.stderr
    if run.startswith("snakemake --lint"):  # exits 1 whenever it has advice; it must have parsed and linted
        assert proc.returncode in (0, 1) and "Lints for rule" in out and "Traceback" not in out, out[-3000:]
        return
    assert proc.returncode == 0, f"{run!r} (from {command!r}) failed:\n{out[-3000:]}"
    if "--dry-run" in run:
        assert "Nothing to be done" in out or "This was a dry-run" in out, out[-2000:]
