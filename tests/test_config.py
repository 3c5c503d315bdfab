from pathlib import Path

import pytest
import yaml
from jsonschema import Draft202012Validator
from snakemake.utils import validate

from frbench.config import check_study, validate_study
from frbench.config.schema import defaults_of
from frbench.errors import ConfigError
from frbench.methods import get_method, list_methods

from conftest import ROOT

SCHEMA = str(ROOT / "workflow" / "schemas" / "config.schema.yaml")


def load(name="tiny.yaml", **changes):
    config = yaml.safe_load((ROOT / "config" / name).read_text())
    config.update(changes)
    validate(config, SCHEMA, set_default=True)
    return config


@pytest.mark.parametrize("name", ["config.yaml", "tiny.yaml", "chains.yaml"])
def test_shipped_configs_validate(name):
    check_study(load(name))


def test_the_chains_study_is_the_default_study_but_for_its_methods():
    default, chains = load("config.yaml"), load("chains.yaml")
    assert {k: v for k, v in chains.items() if k != "methods"} == {k: v for k, v in default.items() if k != "methods"}
    assert sum("+" in name for name in chains["methods"]) == 2


def test_schema_takes_a_method_block_generically_and_each_method_checks_its_own():
    """The central schema names no method (a new method needs no edit there); each method's options
    are its module's `option_schema`, a valid JSON schema whose defaults pass it, and check_study
    fills them in and refuses a key the method does not have, naming the method's file."""
    text = Path(SCHEMA).read_text()
    methods = yaml.safe_load(text)["properties"]["methods"]
    assert "properties" not in methods and not any(f" {name}:" in text for name in list_methods() if name != "baseline")
    for name in list_methods():
        schema = {"type": "object", "properties": get_method(name).option_schema}
        Draft202012Validator.check_schema(schema)
        assert not list(Draft202012Validator(schema).iter_errors(defaults_of(get_method(name).option_schema))), name
    config = load()
    check_study(config)
    assert config["methods"]["quantize"]["engine"] == "qnnpack" and config["methods"]["fr"]["min_kept_linear"] == 256
    config["methods"]["prune_structured"]["round_too"] = 4
    with pytest.raises(ConfigError, match=r"methods\.prune_structured: .*'round_too'.*round_to; "
                                          r"frbench/methods/prune_structured\.py"):
        check_study(config)


def test_defaults_are_filled():
    config = load()
    assert config["bench"]["dice_images"] == 0 and config["train"]["optimizer"] == "adamw"


def test_unregistered_method_is_named():
    with pytest.raises(ConfigError, match=r"methods\.clustering: no method 'clustering' is registered"):
        check_study(load(methods={"baseline": {"levels": ["dense"]}, "clustering": {"levels": ["k16"]}}))


def test_folder_source_needs_its_paths():
    config = load()
    config["data"]["source"] = "folder"
    with pytest.raises(ConfigError, match=r"data\.folder\.images"):
        check_study(config)


def test_a_level_written_as_a_number_is_refused_saying_to_quote_it():
    config = yaml.safe_load((ROOT / "config" / "tiny.yaml").read_text())
    config["methods"]["prune_structured"]["levels"] = [0.25]  # YAML's `levels: [0.25]`, unquoted
    with pytest.raises(ConfigError, match=r'methods\.prune_structured\.levels: 0\.25 is a number; quote it, "0\.25"'):
        validate_study(config)


@pytest.mark.parametrize("method,spelled,canonical", [("prune_structured", "0.50", "0.5"), ("tucker", "00.5", "0.5"),
                                                      ("fr", "r0.050", "r0.05"), ("prune_unstructured", "0.80", "0.8")])
def test_a_level_has_one_spelling_and_another_is_refused_naming_both(method, spelled, canonical):
    config = load()
    config["methods"][method] = {**config["methods"][method], "levels": [canonical, spelled]}
    with pytest.raises(ConfigError, match=rf"methods\.{method}\.levels: '{spelled}' is '{canonical}' written another "
                                          rf"way; write '{canonical}'"):
        check_study(config)
    config["methods"][method]["levels"] = [canonical]
    check_study(config)


def test_a_chain_is_named_by_its_steps_and_its_levels_by_theirs():
    config = load()
    config["methods"]["prune_structured+quantize"] = {"levels": ["0.5"]}
    with pytest.raises(ConfigError, match=r"prune_structured\+quantize\.levels: '0\.5' is not a level of this chain.*"
                                          r"prune_structured, quantize"):
        check_study(config)
    config["methods"]["prune_structured+quantize"] = {"levels": ["0.50+int8"]}
    with pytest.raises(ConfigError, match=r"in '0\.50\+int8', methods\.prune_structured\.levels: '0\.50' is '0\.5'"):
        check_study(config)
    for chain, why in [("quantize+fr", "fr builds its model afresh"), ("baseline+quantize", "starts from the baseline"),
                       ("prune_structured+clustering", "no method 'clustering'")]:
        config["methods"] = {"baseline": {"levels": ["dense"]}, chain: {"levels": ["int8+r0.05"]}}
        with pytest.raises(ConfigError, match=rf"methods\.{chain.replace('+', '.')}: .*{why}"):
            check_study(config)
