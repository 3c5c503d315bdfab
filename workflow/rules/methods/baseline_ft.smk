# Control: the trained baseline fine-tuned with the `finetune` budget and nothing else, the
# model every post-training method's Dice is compared with (the same budget, ShrinkBench's rule).
use rule train as baseline_ft with:
    wildcard_constraints:
        method="baseline_ft",
