# The uncompressed UNet, trained from scratch with the `train` budget.
use rule train as baseline with:
    wildcard_constraints:
        method="baseline",
