# Frequency Regularization (Zhao et al. 2023): the UNet learned as DCT coefficients whose
# high-frequency tail is truncated while training; from scratch, with the `train` budget.
use rule train as fr with:
    wildcard_constraints:
        method="fr",
