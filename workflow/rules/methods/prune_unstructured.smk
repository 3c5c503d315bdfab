# Global unstructured magnitude pruning of the trained baseline (torch.nn.utils.prune),
# fine-tuned with the mask held, then made permanent; levels are the sparsity.
use rule train as prune_unstructured with:
    wildcard_constraints:
        method="prune_unstructured",
