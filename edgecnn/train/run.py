"""Orchestrates one training run and writes model.keras, metrics.json, curves.png, confusion.png."""

import json
import os
import platform
import shlex
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

import edgecnn
from edgecnn import __version__
from edgecnn.console import console, progress
from edgecnn.errors import EdgecnnError
from edgecnn.model import FAMILIES, FAMILY_FOR_DATASET, Family, get_family
from edgecnn.summary import keras_rows, totals
from edgecnn.train.budget import Budget, choose_family
from edgecnn.train.methods import METHODS, Job
from edgecnn.train.plots import plot_confusion, plot_curves
from edgecnn.train.recipes import recipe_for


@dataclass(frozen=True)
class TrainConfig:
    dataset: str
    method: str = "two-stage"
    epochs: int | None = None  # None: the recipe's budget
    seed: int = 0
    limit: int | None = None  # train on this many (seeded) training images
    out: Path = Path("runs/train")
    # Budgets for choosing the family member (None: the shipped member for a built-in set;
    # max_params 15,000 for a user's set).
    max_params: int | None = None
    max_arena: int | None = None  # bytes of C-engine arena (RAM)
    max_macs: int | None = None
    hflip: bool = False  # mirror images in the augmented view
    family: str | None = None  # a FAMILIES member by name instead of the data set's shipped one

    @property
    def searches_family(self) -> bool:
        return any(v is not None for v in (self.max_params, self.max_arena, self.max_macs))


def fast_kernels() -> bool:
    """Turn TensorFlow's oneDNN kernels on for training unless the user chose; True if they are on.

    Measured here (2 cores, dual lite28 model, batch 128): 0.17 s per step with oneDNN,
    0.34 s without, and bit-identical weights from two seeded runs with op determinism on.
    TF reads the variable once, when it loads, so this acts only before the first
    `import tensorflow`; after that it reports what TF already uses.
    """
    if "tensorflow" not in sys.modules and edgecnn.USER_ONEDNN is None:
        os.environ["TF_ENABLE_ONEDNN_OPTS"] = "1"
    return os.environ.get("TF_ENABLE_ONEDNN_OPTS") != "0"


def _versions() -> dict:
    import keras
    import tensorflow as tf

    return {"edgecnn": __version__, "python": platform.python_version(), "tensorflow": tf.__version__,
            "keras": keras.__version__, "numpy": np.__version__}


def _seed_everything(seed: int) -> None:
    import warnings

    import keras
    import tensorflow as tf

    # Keras warns that fit() ignores shuffle=True for a tf.data pipeline: ours shuffles itself.
    warnings.filterwarnings("ignore", message=".*shuffle=True.*")
    tf.get_logger().setLevel("ERROR")

    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


def _subset(x, y, limit: int | None, seed: int):
    if limit is None:
        return x, y
    if limit < 1 or limit > len(x):
        raise EdgecnnError(f"--limit {limit}: expected 1..{len(x)} (the training split's size)")
    idx = np.sort(np.random.default_rng(seed).choice(len(x), limit, replace=False))
    return x[idx], y[idx]


def evaluate(model, x, y, n_classes: int = 10) -> tuple[float, np.ndarray]:
    """Top-1 accuracy and confusion matrix of a float model on uint8 images (N, H, W, C)."""
    probs = model.predict(x.astype(np.float32) / 255.0, batch_size=500, verbose=0)
    pred = probs.argmax(1)
    cm = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(cm, (y.astype(int), pred), 1)
    return float((pred == y).mean()), cm


def choose(cfg: TrainConfig, ds, x) -> tuple[Family, dict | None]:
    """The family member to train: `--family` when given (its input shape and classes must match the
    data), else the shipped one for a built-in set without budgets, else the widest scaled member
    within the budgets, measured (budget.choose_family); and the choice's record (None unless measured)."""
    if cfg.family is not None:
        family = get_family(cfg.family)
        shape, k = tuple(int(d) for d in x.shape[1:]), len(ds.class_names)
        if family.input_shape != shape or family.num_classes != k:
            raise EdgecnnError(f"--family {family.name} takes {family.input_shape} images and {family.num_classes} "
                               f"classes; {cfg.dataset} has {shape} and {k}")
        return family, None
    if not cfg.searches_family and cfg.dataset in FAMILY_FOR_DATASET:
        return FAMILIES[FAMILY_FOR_DATASET[cfg.dataset]], None
    budget = Budget(Budget.max_params if cfg.max_params is None else cfg.max_params, cfg.max_arena, cfg.max_macs)
    shape, k = tuple(int(d) for d in x.shape[1:]), len(ds.class_names)
    limits = [f"max params {budget.max_params}"] + [
        f"{what} {v}" for what, v in (("max arena (B)", budget.max_arena_bytes), ("max MACs", budget.max_macs))
        if v is not None]
    console.print(f"choosing the family member for {shape[0]}x{shape[1]}x{shape[2]}, {k} classes: "
                  f"{', '.join(limits)} (untrained int8 models, C engine planner)")
    chosen, measured = choose_family(shape, k, budget, x, lambda line: console.print(f"  {line}", highlight=False))
    console.print(f"chose [bold]{chosen.family.name}[/]: {chosen.params} params, {chosen.macs} MACs, "
                  f"arena {chosen.arena_bytes} B")
    record = {"budget": {"max_params": budget.max_params, "max_arena_bytes": budget.max_arena_bytes,
                         "max_macs": budget.max_macs},
              "how": "widest member within the budgets; arena and MACs from the untrained int8 model through "
                     "edgecnn.codegen.generate (C engine planner)",
              "chosen": chosen.as_dict(), "candidates": [m.as_dict() for m in measured]}
    return chosen.family, record


def _check(cfg: TrainConfig) -> None:
    if cfg.method not in METHODS:
        raise EdgecnnError(f"unknown method {cfg.method!r}; expected one of {list(METHODS)}")
    if cfg.family is not None and cfg.searches_family:
        raise EdgecnnError("--family names the model; it cannot be combined with --max-params/--max-arena/--max-macs")
    if cfg.epochs is not None and cfg.epochs < 1:
        raise EdgecnnError(f"--epochs {cfg.epochs}: expected a whole number >= 1")


def train(cfg: TrainConfig) -> dict:
    """Run one training; write its four outputs to cfg.out; return the metrics dict."""
    from edgecnn.data import get_spec, load

    _check(cfg)
    get_spec(cfg.dataset)  # unknown names fail before TensorFlow loads
    onednn = fast_kernels()
    ds = load(cfg.dataset)
    x, y = _subset(ds.x_train, ds.y_train, cfg.limit, cfg.seed)
    recipe = recipe_for(cfg.dataset, cfg.epochs, len(x), cfg.hflip)
    family, choice = choose(cfg, ds, x)
    cfg.out.mkdir(parents=True, exist_ok=True)
    _seed_everything(cfg.seed)

    console.print(f"training [bold]{family.name}[/] on {ds.label} ({len(x)} images), method {cfg.method}, "
                  f"{recipe.epochs} epochs, seed {cfg.seed}")
    t0, cpu0 = time.monotonic(), time.process_time()
    with progress() as bar:
        model, stages = METHODS[cfg.method](Job(x, y, family, recipe, cfg.seed, bar))
    wall_s, cpu_s = time.monotonic() - t0, time.process_time() - cpu0
    test_acc, cm = evaluate(model, ds.x_test, ds.y_test, len(ds.class_names))
    rows = keras_rows(model)

    model.save(cfg.out / "model.keras")
    metrics = {
        "dataset": cfg.dataset, "dataset_label": ds.label, "data_source": ds.source,
        "data_notes": list(ds.notes),  # how a user's set was split and converted
        "class_names": list(ds.class_names), "input_shape": list(family.input_shape),
        "input_range": [0.0, 1.0],  # the model takes pixel / 255
        "method": cfg.method, "family": family.name, "seed": cfg.seed, "limit": cfg.limit,
        "train_images": int(len(x)), "test_images": int(len(ds.y_test)),
        "recipe": asdict(recipe), **({"family_choice": choice} if choice else {}), "stages": stages,
        "test_top1_acc_float": test_acc, **{k: v for k, v in totals(rows).items() if k in ("params", "macs")},
        "wall_time_s": round(wall_s, 1), "cpu_time_s": round(cpu_s, 1),
        "machine": {"cpus": os.cpu_count(), "load_avg_1m_at_end": round(os.getloadavg()[0], 2),
                    "tf_onednn": onednn},
        "versions": _versions(),
        "command": shlex.join(["edgecnn", *sys.argv[1:]]),
    }
    (cfg.out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    title = f"{family.name} on {ds.label}, {cfg.method}, seed {cfg.seed}"
    plot_curves(stages, cfg.out / "curves.png", title)
    plot_confusion(cm, list(ds.class_names), cfg.out / "confusion.png", f"{title}: test top-1 {test_acc:.4f}")
    console.print(f"test top-1 (float): [bold]{test_acc:.4f}[/]  params {metrics['params']}  "
                  f"MACs {metrics['macs']}  wall {wall_s:.0f} s  -> {cfg.out}")
    return metrics
