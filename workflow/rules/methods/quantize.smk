# Quantization of the trained baseline with the engine phones use (qnnpack): static int8,
# quantization-aware int8, fp16 or int8 weight storage; levels are the scheme.
use rule train as quantize with:
    wildcard_constraints:
        method="quantize",
