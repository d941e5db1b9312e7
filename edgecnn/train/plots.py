"""curves.png and confusion.png, drawn with matplotlib's Agg backend."""

from pathlib import Path

import numpy as np


def _flatten(stages: list[dict]) -> list[tuple[str, dict]]:
    """(stage label, epoch metrics) in training order, across stages and unfreezing steps."""
    rows = []
    for s in stages:
        for h in s.get("history", []):
            rows.append((s["stage"], h))
        for step in s.get("steps", []):
            for h in step["history"]:
                rows.append((f"{s['stage']} step {step['step']}", h))
    return rows


def plot_curves(stages: list[dict], path: Path, title: str) -> None:
    """Loss and accuracy per epoch; vertical lines mark stage (and unfreezing-step) boundaries."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = _flatten(stages)
    fig, (ax_l, ax_a) = plt.subplots(1, 2, figsize=(11, 4))
    xs = np.arange(1, len(rows) + 1)
    for key_part, ax in (("loss", ax_l), ("accuracy", ax_a)):
        keys = sorted({k for _, h in rows for k in h if key_part in k and k != "steps"})
        for k in keys:
            ax.plot(xs, [h.get(k, np.nan) for _, h in rows], marker=".", label=k)
        prev = None
        for i, (label, _) in enumerate(rows):
            if label != prev:
                ax.axvline(i + 0.5, color="grey", lw=0.6, ls="--")
                ax.text(i + 0.6, ax.get_ylim()[1], label, fontsize=6, rotation=90, va="top")
                prev = label
        ax.set_xlabel("epoch (training order)")
        ax.set_ylabel(f"training {key_part}")
        ax.legend(fontsize=7)
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110, metadata={"Software": None})
    plt.close(fig)


def plot_confusion(cm: np.ndarray, class_names: list[str], path: Path, title: str) -> None:
    """Confusion matrix (rows: true class, columns: predicted), counts in each cell."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 6))
    ax.imshow(cm, cmap="Blues")
    n = len(class_names)
    ax.set_xticks(range(n), class_names, rotation=45, ha="right", fontsize=7)
    ax.set_yticks(range(n), class_names, fontsize=7)
    for i in range(n):
        for j in range(n):
            ax.text(j, i, str(cm[i, j]), ha="center", va="center", fontsize=6,
                    color="white" if cm[i, j] > cm.max() / 2 else "black")
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110, metadata={"Software": None})
    plt.close(fig)
