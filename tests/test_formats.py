"""The plug-in contract every format, runner and method follows (frbench.registry.PluginRegistry): a class
registered by one module, found by name, refused when it lacks a declared method; and the generic jobs
working through it alone."""

import importlib.util
import json
import sys
import textwrap

import pytest

from frbench.bench.runner import RUNNERS, Runner, get_runner, register_runner
from frbench.errors import ConfigError
from frbench.export import export_model
from frbench.formats import FORMATS, Format, get_format, list_formats, register_format
from frbench.methods import get_method

FAKE = '''
"""A fake phone format: the model as full TorchScript, one module, registered by its decorator."""
from pathlib import Path

import torch

from frbench.formats import Format, register_format
from frbench.formats.graph import graph_record


@register_format
class TorchScriptFormat(Format):
    name = "fakets"
    runtime = "torchscript"
    android_runner = "FakeRunner"

    def write(self, form, example, path, update=None):
        torch.jit.save(torch.jit.trace(form.model.eval(), example), str(path))
        return {"traced": True}

    def stored_tensors(self, path):
        return dict(torch.jit.load(str(path)).state_dict())

    def graph(self, path):
        return graph_record([n.kind() for n in torch.jit.load(str(path)).graph.nodes()], [])

    def split(self, path):
        size = Path(path).stat().st_size
        return {"program": 0, "weights": 0, "container": size}

    def runtime_version(self):
        return torch.__version__

    def load(self, path, weights=None):
        return torch.jit.load(str(path))

    def run(self, loaded, x):
        return loaded(x)
'''


@pytest.fixture
def fake_format(tmp_path):
    """The fake format's module, imported from a file of its own (as a plug-in module is), and
    unregistered afterwards."""
    module = tmp_path / "fake_format.py"
    module.write_text(textwrap.dedent(FAKE))
    spec = importlib.util.spec_from_file_location("fake_format", module)
    mod = importlib.util.module_from_spec(spec)
    sys.modules["fake_format"] = mod
    spec.loader.exec_module(mod)
    yield "fakets"
    FORMATS._items.pop("fakets", None)
    sys.modules.pop("fake_format", None)


def test_a_format_module_registers_it_and_the_export_job_runs_it_by_name(fake_format, tiny_checkpoint, tiny_dataset,
                                                                        tmp_path):
    assert fake_format in list_formats() and {"ptl", "pte", "onnx"} <= set(list_formats())
    fmt = get_format(fake_format)
    assert isinstance(fmt, Format) and fmt is not get_format(fake_format)  # a fresh instance per use
    key = {"method": "baseline", "level": "dense", "seed": 0, "fmt": fake_format}
    record = export_model(key=key, checkpoint=tiny_checkpoint, data=tiny_dataset, out=tmp_path / "m.fakets",
                          record_out=tmp_path / "e.json")
    assert record["error"] is None, record["error"]
    assert record["exporter"] == {"traced": True} and record["runtime"]["name"] == "torchscript"
    assert record["fidelity"]["max_abs_diff"] < 1e-5 and record["bytes_split"]["container"] == record["bytes"]
    assert json.loads((tmp_path / "e.json").read_text())["graph"]["nodes"] > 0


def test_a_format_that_lacks_a_declared_method_is_refused_naming_it():
    class NoSplit(Format):
        name = "nosplit"

        def write(self, form, example, path, update=None): ...
        def stored_tensors(self, path): ...
        def graph(self, path): ...
        def runtime_version(self): ...
        def load(self, path, weights=None): ...
        def run(self, loaded, x): ...

    with pytest.raises(TypeError, match=r"'nosplit' does not implement split, which Format declares"):
        register_format(NoSplit)
    assert "nosplit" not in list_formats()
    with pytest.raises(TypeError, match="subclass of frbench.formats._format.Format"):
        register_format(type("NotAFormat", (), {"name": "x"}))

    class BadName(NoSplit):
        name = "Not-A-Name"

        def split(self, path): ...

    with pytest.raises(ValueError, match="lower-case identifier"):
        register_format(BadName)


def test_an_unknown_format_runner_or_method_names_the_known_ones():
    with pytest.raises(ConfigError, match=r"no format 'tflite' is registered \(known: onnx, pte, ptl\)"):
        get_format("tflite")
    with pytest.raises(ConfigError, match=r"no benchmark runner 'ios' is registered \(known: android, host\)"):
        get_runner("ios")
    with pytest.raises(ConfigError, match=r"no method 'nope' is registered \(known: .*baseline"):
        get_method("nope")


def test_runners_follow_the_same_convention():
    class NoRun(Runner):
        name = "norun"

    with pytest.raises(TypeError, match="'norun' does not implement run, which Runner declares"):
        register_runner(NoRun)
    assert "norun" not in RUNNERS


def test_every_format_names_its_runtime_and_its_android_runner():
    for name in list_formats():
        fmt = get_format(name)
        assert fmt.name == name and fmt.runtime and fmt.android_runner, name
        assert isinstance(fmt.runtime_version(), str) and fmt.runtime_version()


def test_the_schema_lists_exactly_the_registered_formats():
    import yaml

    from conftest import ROOT

    schema = yaml.safe_load((ROOT / "workflow" / "schemas" / "config.schema.yaml").read_text())
    assert sorted(schema["properties"]["formats"]["items"]["enum"]) == list_formats()


def test_generic_code_never_names_a_format():
    """The generic code holds no format's name: the job, the worker and the runners ask the format."""
    from conftest import ROOT

    generic = ["frbench/export/job.py", "frbench/bench/worker.py", "frbench/bench/job.py", "frbench/bench/host.py",
               *[str(p.relative_to(ROOT)) for p in (ROOT / "frbench" / "bench" / "android").glob("*.py")]]
    for path in generic:
        text = (ROOT / path).read_text()
        for name in list_formats():
            assert f'"{name}"' not in text and f"'{name}'" not in text, (path, name)
