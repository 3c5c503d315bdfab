# The FR paper's released UNet (Zhao et al. 2023: 759 coefficients for UNet-31M), imported as a
# checkpoint of method `fr_reference` (frbench/methods/fr_reference.py: FR's model, made by this rule,
# not trained), with its 16 test images as a dataset of its own; then exported and benchmarked like
# every model. Configured by `reference: {dir: ..., size: [H, W]}`; `all` includes it then, and
# `snakemake reference` runs it alone. The import does not score the 16 images itself (--no-score):
# the export's fidelity check runs the same model over them.
from frbench.methods.fr_reference import FRReference

REFERENCE_MODEL = f"{FRReference.name}/{FRReference.LEVEL}/seed{FRReference.SEED}"


rule import_reference:
    input:
        unpack(reference_files),
    output:
        model=f"results/models/{REFERENCE_MODEL}/model.pt",
        record=f"results/models/{REFERENCE_MODEL}/reference.json",
        data=f"results/data/{FRReference.dataset}.npz",
    log:
        f"results/logs/models/{REFERENCE_MODEL}.log",
    benchmark:
        f"results/benchmarks/models/{REFERENCE_MODEL}.tsv"
    threads: 2
    params:
        dir=reference_param("dir"),
        size=reference_param("size"),
    shell:
        "python -m frbench reference --dir {params.dir:q} --size {params.size} --threads {threads} --no-score"
        " --out-checkpoint {output.model} --out-dataset {output.data} --out-record {output.record} > {log} 2>&1"


rule reference:
    input:
        reference_results,
    localrule: True
