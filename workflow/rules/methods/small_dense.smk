# Control: a dense UNet as small as an FR level's file (level n<stored numbers>), trained from
# scratch with the `train` budget: does FR beat simply training a smaller network?
use rule train as small_dense with:
    wildcard_constraints:
        method="small_dense",
