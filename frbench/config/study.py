"""A study config checked before any job, in the order the workflow checks it (`validate_study`, which
workflow/rules/common.smk and `frbench check-config` call): levels written as numbers, the JSON schema
(defaults filled in), then `check_study`: each method block against its method's own `option_schema`
(its defaults filled in), formats, the dataset, and the values that cannot go together
(`frbench.config.combinations`, and each model's `Method.check_study`). Each failure names the key
and what to do. `study_models` lists every model the study makes."""

from __future__ import annotations

from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match

from ..errors import ConfigError
from .combinations import check_combinations
from .schema import SCHEMA, defaults_of


def validate_study(config: dict) -> dict:
    """Every check, on the config as snakemake read it (changed in place: defaults filled in)."""
    from snakemake.utils import validate

    refuse_numbered_levels(config)
    validate(config, str(SCHEMA), set_default=True)  # snakemake's error names the key and the value
    check_study(config)
    return config


def refuse_numbered_levels(config: dict) -> None:
    """`levels: [0.25]` unquoted is a number to YAML, which also reads 0.50 as 0.5: a level is a name,
    kept as written, so it must be a string."""
    methods = config.get("methods")
    for name, block in (methods.items() if isinstance(methods, dict) else ()):
        levels = block.get("levels") if isinstance(block, dict) else None
        for level in levels if isinstance(levels, list) else ():
            if isinstance(level, (int, float)) and not isinstance(level, bool):
                raise ConfigError(f"methods.{name}.levels: {level!r} is a number; quote it, \"{level}\": a level is "
                                  "a name that is written into paths as it is spelled (YAML reads 0.50 and 0.5 "
                                  "as one number)")


def check_options(cls, name: str, block: dict) -> None:
    """The method block against the method's `option_schema` (JSON schema of each key besides `levels`);
    its defaults are filled in, as the schema's are."""
    schema = {"type": "object", "additionalProperties": False,
              "properties": {"levels": {"type": "array"}, **cls.option_schema}}
    error = best_match(Draft202012Validator(schema).iter_errors(block))
    if error is not None:
        where = ".".join(map(str, error.absolute_path))
        known = ", ".join(sorted(cls.option_schema)) or "none besides levels"
        raise ConfigError(f"methods.{name}{'.' + where if where else ''}: {error.message} (the options of {name}: "
                          f"{known}; frbench/methods/{cls.__module__.rsplit('.', 1)[-1]}.py)")
    for key, value in defaults_of(cls.option_schema).items():
        block.setdefault(key, value)


def check_methods(config: dict) -> None:
    from ..methods import get_method

    for name, block in config["methods"].items():
        try:
            cls = get_method(name)
        except ConfigError as e:
            raise ConfigError(f"methods.{name}: {e}") from None
        if cls.made_by != "train":
            raise ConfigError(f"methods.{name}: {name}'s models are imported by the rule {cls.made_by}, not trained; "
                              "remove it from methods (config/README.md says how it is configured)")
        check_options(cls, name, block)


def check_study(config: dict) -> None:
    """The checks a JSON schema cannot express, on a config the schema has validated."""
    from ..bench.plan import check_plans
    from ..formats import list_formats

    check_methods(config)
    for fmt in config["formats"]:
        if fmt not in list_formats():
            raise ConfigError(f"formats: no format {fmt!r} is registered (known: {', '.join(list_formats())})")
    data = config["data"]
    if data["val_fraction"] + data["test_fraction"] >= 1:
        raise ConfigError("data.val_fraction + data.test_fraction must leave a training split (sum < 1)")
    if data["source"] == "folder":
        for key in ("images", "masks"):
            if not data["folder"][key]:
                raise ConfigError(f"data.folder.{key}: required when data.source is 'folder'")
        from ..data import check_folder

        try:
            images = check_folder(data)
        except ValueError as e:
            raise ConfigError(str(e)) from None
        where = "the image/mask pairs of data.folder" + (", data.folder.limit" if data["folder"]["limit"] else "")
    else:
        images, where = data["synthetic"]["n_images"], "data.synthetic.n_images"
    check_combinations(config, images, where)
    check_plans(config, images)  # frbench.bench.plan: a plan that cannot fit its timeout


def study_models(config: dict) -> list[tuple[str, str, int]]:
    """(method, level, seed) of every model of the study: the configured methods' levels with the
    controls they are compared with and the models they take as inputs (`with_controls`), at every
    seed; then the models the study imports instead of training (`Method.imported`)."""
    from ..methods import get_method, list_methods, with_controls

    trained = with_controls(config["methods"], config["model"])
    keys = [(m, level, seed) for m, levels in trained.items() for level in levels for seed in config["seeds"]]
    return keys + [(m, level, seed) for m in list_methods() for level, seed in get_method(m).imported(config)]
