from pathlib import Path

import pytest
import yaml
from snakemake.utils import validate

from frbench.config import check_study
from frbench.errors import ConfigError
from frbench.methods import list_methods

from conftest import ROOT

SCHEMA = str(ROOT / "workflow" / "schemas" / "config.schema.yaml")


def load(name="tiny.yaml", **changes):
    config = yaml.safe_load((ROOT / "config" / name).read_text())
    config.update(changes)
    validate(config, SCHEMA, set_default=True)
    return config


@pytest.mark.parametrize("name", ["config.yaml", "tiny.yaml"])
def test_shipped_configs_validate(name):
    check_study(load(name))


def test_schema_names_every_registered_method():
    schema = yaml.safe_load(Path(SCHEMA).read_text())
    assert sorted(schema["properties"]["methods"]["properties"]) == list_methods()


def test_defaults_are_filled():
    config = load()
    assert config["bench"]["dice_images"] == 0 and config["train"]["optimizer"] == "adamw"


def test_unregistered_method_is_named():
    with pytest.raises(ConfigError, match=r"methods\.clustering: no such method"):
        check_study(load(methods={"baseline": {"levels": ["dense"]}, "clustering": {"levels": ["k16"]}}))


def test_folder_source_needs_its_paths():
    config = load()
    config["data"]["source"] = "folder"
    with pytest.raises(ConfigError, match=r"data\.folder\.images"):
        check_study(config)
