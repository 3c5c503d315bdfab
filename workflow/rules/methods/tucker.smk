# Tucker-2 decomposition of the trained baseline's convs (tensorly; ranks by VBMF or a
# rank ratio), then the shared `finetune` budget.
use rule train as tucker with:
    wildcard_constraints:
        method="tucker",
