# Structured channel pruning of the trained baseline (torch-pruning, L1), then the
# shared `finetune` budget; levels are the fraction of channels removed.
use rule train as prune_structured with:
    wildcard_constraints:
        method="prune_structured",
