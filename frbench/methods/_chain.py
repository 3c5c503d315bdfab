"""Chains: methods applied one after another, as practitioners combine them (Deep Compression prunes,
then quantizes; Tucker, then int8). A chain is a method like any other, named by its steps joined
with '+', its levels by the steps' levels joined the same way:

    methods:
      prune_structured+quantize:
        levels: ["0.5+int8"]     # prune_structured at 0.5, then quantize at int8

Each step is its own job, with its own budget: the chain's model is its last step applied to the
model of the steps before it (an input, `Method.inputs`, the model `prune_structured/0.5` here,
trained by its own job and shared with the study's own row of it), so a chain of two adds one job.
Each step takes its options from its own block in `methods` (its defaults where the study has none).

Control: the same chain with every earlier step replaced by its own control (pruning by the baseline
fine-tuned with the same budget, `baseline_ft`), so `prune_structured+quantize` at `0.5+int8` is
compared with `baseline_ft+quantize` at `dense+int8`: the same training, step by step, without the
earlier compression. Its verdict says what the earlier steps cost on top of the last one. A chain whose
earlier steps are all controls is itself a control, compared with nothing.
"""

from __future__ import annotations

import functools

from ..contract import BASELINE, MethodContext, ModelRef
from ..errors import ConfigError
from ._registry import Method, get_method

SEP = "+"


def joined(refs: list[ModelRef]) -> ModelRef:
    """One model from models applied in turn: itself alone, else their chain."""
    return refs[0] if len(refs) == 1 else ModelRef(SEP.join(r.method for r in refs), SEP.join(r.level for r in refs))


class Chain(Method):
    """The steps of a chain (`steps`, set by `chain_class`), one instance per level: the last step does
    the job's work on the model of the earlier ones; every declaration and hook is the last step's."""

    steps: tuple[type[Method], ...] = ()

    def __init__(self, level, ctx=None):
        super().__init__(level, ctx)
        *self.earlier, last = zip(self.steps, self.setting)
        self.last = last[0](last[1], self.step_context(last[0]))

    def parse_level(self, level):
        levels = level.split(SEP) if isinstance(level, str) else []
        if len(levels) != len(self.steps):
            raise ConfigError(f"methods.{self.name}.levels: {level!r} is not a level of this chain: one level per step "
                              f"({', '.join(s.name for s in self.steps)}), joined by '{SEP}', e.g. "
                              f"'{SEP.join('L' + str(i + 1) for i in range(len(self.steps)))}'")
        for cls, one in zip(self.steps, levels):
            try:
                cls(one)
            except ConfigError as e:
                raise ConfigError(f"methods.{self.name}.levels: in {level!r}, {e}") from None
        return tuple(levels)

    def step_context(self, cls: type[Method]) -> MethodContext | None:
        """A step's context: the chain's, with the step's own options."""
        c = self.ctx
        if c is None:
            return None
        return MethodContext(unet=c.unet, params=self.params.get(cls.name, {}), seed=c.seed, models=c.models,
                             sources=c.sources, calibration=c.calibration, device=c.device)

    @classmethod
    def budgets(cls):
        return [budget for step in cls.steps for budget in step.budgets()]

    @classmethod
    def config_block(cls, config):
        return {step.name: step.config_block(config) for step in cls.steps}

    def inputs(self):
        """The last step's inputs, its `start_input` being the model of the earlier steps."""
        return {**self.last.inputs(), self.start_input: joined([ModelRef(c.name, lv) for c, lv in self.earlier])}

    def control(self):
        if self.role == "control":
            return None
        refs: list[ModelRef] = []
        for cls, level in self.earlier:
            ref = cls(level, self.step_context(cls)).control()
            if ref is None:
                continue
            if get_method(ref.method.split(SEP)[0]).start_input is None:  # a model built afresh: where it starts
                refs = [] if ref == BASELINE else [ref]
            else:
                refs.append(ref)
        return joined([*refs, ModelRef(self.last.name, self.last.level)])

    def check_study(self, study):
        self.last.check_study(study)

    def build(self):
        return self.last.build()

    def hooks(self, model):
        return self.last.hooks(model)

    def finalize(self, model):
        return self.last.finalize(model)

    def arch(self, model):
        return self.last.arch(model)

    def extra_state(self):
        return self.last.extra_state()

    def rebuild(self, arch):
        return self.last.rebuild(arch)

    def set_extra_state(self, state):
        self.last.set_extra_state(state)

    def export_form(self, fmt, model, example, calibration=None):
        return self.last.export_form(fmt, model, example, calibration)


@functools.lru_cache(maxsize=None)
def chain_class(name: str) -> type[Chain]:
    """The method `name` = 'A+B+...': each step a registered method; every step after the first
    compresses a trained model (`start_input`), and none is imported or the baseline itself."""
    steps = tuple(get_method(step) for step in name.split(SEP))
    if steps[0].role == "baseline":
        raise ConfigError(f"methods.{name}: a chain starts from the baseline by itself; leave {steps[0].name} out")
    for step in steps:
        if step.made_by != "train":
            raise ConfigError(f"methods.{name}: {step.name}'s models are imported, not trained: it cannot be a step")
    for before, step in zip(steps, steps[1:]):
        if step.start_input is None:
            raise ConfigError(f"methods.{name}: {step.name} builds its model afresh, so it cannot follow {before.name}; "
                              "a chain's later steps compress a trained model (their start_input)")
    last = steps[-1]
    role = "control" if all(step.role == "control" for step in steps[:-1]) else "method"
    return type(f"Chain({name})", (Chain,), dict(
        __module__=__name__, name=name, steps=steps, role=role, budget=last.budget, start_input=last.start_input,
        trainable_inputs=last.trainable_inputs, trains_on_gpu=last.trains_on_gpu, dataset=last.dataset))
