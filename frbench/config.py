"""Checks of a study config that a JSON schema cannot express. Run by
workflow/rules/common.smk after `snakemake.utils.validate`, before any job; each
failure names the key and what to do. Values that cannot go together (the image
size and the UNet's depth, ...) are frbench.combinations'."""

from __future__ import annotations

from .bench.plan import check_plans
from .combinations import check_combinations
from .errors import ConfigError


def check_study(config: dict) -> None:
    from .formats import list_formats
    from .methods import list_methods

    known = list_methods()
    for name in config["methods"]:
        if name not in known:
            raise ConfigError(f"methods.{name}: no such method is registered (known: {', '.join(known)}). "
                              f"A new method needs frbench/methods/{name}.py and workflow/rules/methods/{name}.smk.")
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
        from .data import check_folder

        try:
            images = check_folder(data)
        except ValueError as e:
            raise ConfigError(str(e)) from None
        where = "the image/mask pairs of data.folder" + (", data.folder.limit" if data["folder"]["limit"] else "")
    else:
        images, where = data["synthetic"]["n_images"], "data.synthetic.n_images"
    check_combinations(config, images, where)
    check_plans(config, images)  # frbench.bench.plan: a plan that cannot fit its timeout
