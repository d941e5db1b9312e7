"""Training methods, one function each, in one registry.

- baseline: the deployable model trained on the original images only.
- augment-only: the deployable model trained on batches holding the original
  and the augmented view (the same data as two-stage, without its structure).
- two-stage: the paper: dual model (stage 1), unify, progressive unfreezing (stage 2).
- two-stage-no-unfreeze: stage 1 as above, stage 2 with every layer trainable.

Every method spends the same budget: `recipe.epochs` passes over the training set.
"""

from dataclasses import dataclass
from typing import Callable

from edgecnn.model import build_model
from edgecnn.train.fit import compile_model, fit_phase
from edgecnn.train.pipeline import make_augmenter, make_dataset
from edgecnn.train.stages import build_dual, set_trainable, unfreeze_schedule, unify


@dataclass
class Job:
    """What a method needs: data, family, recipe, seed and the shared progress bar."""

    x: object  # (N, H, W, C) uint8
    y: object  # (N,) uint8
    family: object  # model.Family
    recipe: object
    seed: int
    progress: object

    @property
    def bpe(self) -> int:
        """Batches per epoch (one pass over the original training images)."""
        return max(1, len(self.x) // self.recipe.batch_size)

    def data(self, mode: str):
        aug = make_augmenter(self.recipe.augment, self.seed) if mode != "plain" else None
        k = self.family.num_classes if self.recipe.label_smoothing else None
        return make_dataset(self.x, self.y, self.recipe.batch_size, self.seed, mode, aug, k)

    def compile(self, model, lr: float, epochs: float, warmup_epochs: float, main: bool, loss_weights=None):
        """compile_model with the recipe's optimizer settings; `main`: the phase that keeps an EMA."""
        r = self.recipe
        compile_model(model, lr, round(epochs * self.bpe), round(warmup_epochs * self.bpe), loss_weights,
                      r.weight_decay, r.label_smoothing, r.ema if main else 0.0)


def _single(job: Job, mode: str, stage: str):
    r = job.recipe
    model = build_model(job.family)
    job.compile(model, r.lr, r.epochs, r.warmup_epochs, main=True)
    hist = fit_phase(model, job.data(mode), r.epochs, job.bpe, job.progress, stage)
    return model, [{"stage": stage, "epochs": r.epochs, "data": mode, "history": hist}]


def baseline(job: Job):
    return _single(job, "plain", "baseline")


def augment_only(job: Job):
    return _single(job, "concat", "augment-only")


def _stage1(job: Job, epochs: float):
    r = job.recipe
    dual = build_dual(job.family)
    job.compile(dual, r.lr, epochs, r.warmup_epochs, main=True, loss_weights=[0.5, 0.5])
    hist = fit_phase(dual, job.data("dual"), epochs, job.bpe, job.progress, "stage 1 (dual)")
    info = {"stage": "stage1-dual", "epochs": epochs, "data": "dual", "loss_weights": [0.5, 0.5],
            "dual_params": int(dual.count_params()), "history": hist}
    return dual, info


def _stage2(job: Job, model, epochs: float, schedule: list[list[str]]):
    """Fine-tune `model` through the unfreezing schedule, `epochs` split evenly over the steps."""
    r = job.recipe
    ds = job.data(r.finetune_data)
    per_step = epochs / len(schedule)
    steps_info = []
    for i, groups in enumerate(schedule, start=1):
        n_trainable = set_trainable(model, groups)
        job.compile(model, r.finetune_lr, per_step, 0, main=False)
        hist = fit_phase(model, ds, per_step, job.bpe, job.progress, f"stage 2 step {i}/{len(schedule)}")
        steps_info.append({"step": i, "trainable_groups": groups, "trainable_params": n_trainable,
                           "epochs": per_step, "lr": r.finetune_lr, "history": hist})
    set_trainable(model, schedule[-1])
    return {"stage": "stage2-unfreeze", "epochs": epochs, "data": r.finetune_data, "steps": steps_info}


def _two_stage(job: Job, progressive: bool):
    r = job.recipe
    e2 = r.epochs * r.finetune_fraction
    dual, s1 = _stage1(job, r.epochs - e2)
    model = unify(dual, job.family)
    full = unfreeze_schedule(job.family)
    schedule = full if progressive else [full[-1]]
    s2 = _stage2(job, model, e2, schedule)
    return model, [s1, {"stage": "unify", "how": "shared trunk kept; head = mean of the two Dense heads"}, s2]


def two_stage(job: Job):
    return _two_stage(job, progressive=True)


def two_stage_no_unfreeze(job: Job):
    return _two_stage(job, progressive=False)


METHODS: dict[str, Callable] = {
    "two-stage": two_stage,
    "baseline": baseline,
    "augment-only": augment_only,
    "two-stage-no-unfreeze": two_stage_no_unfreeze,
}
