"""Ablation: does the paper's two-stage recipe help, and does progressive unfreezing?

For each data set (MNIST, Fashion-MNIST), each method and each seed, train with
the same epoch budget, quantize to int8 with edgecnn's converter, and measure
float (Keras) and int8 (LiteRT) top-1 on the full test set. Writes
benchmarks/results/ablation.{json,md}: mean +- std over seeds.

    python benchmarks/ablation.py                      # the committed run
    python benchmarks/ablation.py --epochs 1 --limit 512 --seeds 0   # a smoke test

Budget: every method gets `--epochs` passes over the same `--limit` training
images; the two-stage methods and augment-only also see an augmented view of
every batch (twice the images per step), which is part of what is compared.
"""

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# The three arms the comparison needs first; augment-only isolates the augmentation's share.
METHODS = ["baseline", "two-stage", "two-stage-no-unfreeze", "augment-only"]


def int8_accuracy(model, dataset: str, seed: int) -> float:
    import numpy as np

    from edgecnn.convert.quantize import to_int8_tflite
    from edgecnn.convert.runners import run_litert
    from edgecnn.data import load
    from edgecnn.samples import calibration_data

    calib, _ = calibration_data(dataset, 500, seed)
    ds = load(dataset)
    out = run_litert(to_int8_tflite(model, calib / np.float32(255)), ds.x_test / np.float32(255), "LiteRT int8")
    return float((np.argmax(out, 1) == ds.y_test).mean())


def run(datasets, methods, seeds, epochs, limit, work: Path, on_row, done: list[dict]) -> list[dict]:
    """Train, quantize and evaluate every (seed, data set, method) not in `done`; on_row(rows) after each."""
    import keras

    from edgecnn.train import TrainConfig, train

    rows = list(done)
    finished = {(r["dataset"], r["method"], r["seed"]) for r in done}
    for seed in seeds:
        for ds in datasets:
            for method in methods:
                if (ds, method, seed) in finished:
                    continue
                out = work / ds / method / f"seed{seed}"
                t0 = time.monotonic()
                m = train(TrainConfig(dataset=ds, method=method, epochs=epochs, seed=seed, limit=limit, out=out))
                model = keras.models.load_model(out / "model.keras", compile=False)
                rows.append({"dataset": ds, "method": method, "seed": seed, "epochs": epochs, "limit": limit,
                             "recipe": m["recipe"],
                             "float_top1_acc": m["test_top1_acc_float"],
                             "int8_top1_acc": int8_accuracy(model, ds, seed),
                             "wall_time_s": round(time.monotonic() - t0, 1)})
                print(json.dumps(rows[-1]), flush=True)
                on_row(rows)
    return rows


def _recipe(dataset: str, epochs: int) -> dict:
    """The recipe a run would use now, as metrics.json records it (a changed recipe invalidates old runs)."""
    from dataclasses import asdict

    from edgecnn.train.recipes import recipe_for

    return json.loads(json.dumps(asdict(recipe_for(dataset, epochs))))


def summarize(rows: list[dict]) -> list[dict]:
    out = []
    for ds in dict.fromkeys(r["dataset"] for r in rows):
        for method in dict.fromkeys(r["method"] for r in rows):
            sel = [r for r in rows if r["dataset"] == ds and r["method"] == method]
            if not sel:
                continue
            entry = {"dataset": ds, "method": method, "n_seeds": len(sel)}
            for key in ("float_top1_acc", "int8_top1_acc"):
                vals = [100 * r[key] for r in sel]
                entry[f"{key}_mean_pct"] = round(statistics.mean(vals), 2)
                entry[f"{key}_std_pct"] = round(statistics.stdev(vals), 2) if len(vals) > 1 else 0.0
            out.append(entry)
    return out


def markdown(summary: list[dict], args) -> str:
    lines = [f"Budget: {args.epochs} epochs over {args.limit or 'all'} training images per run, seeds "
             f"{args.seeds}; full test sets; int8 = edgecnn's full-integer conversion run in LiteRT.", "",
             "| data set | method | seeds | float top-1 % (mean ± std) | int8 top-1 % (mean ± std) |",
             "|---|---|---|---|---|"]
    for s in summary:
        lines.append(f"| {s['dataset']} | {s['method']} | {s['n_seeds']} | {s['float_top1_acc_mean_pct']:.2f} ± "
                     f"{s['float_top1_acc_std_pct']:.2f} | {s['int8_top1_acc_mean_pct']:.2f} ± "
                     f"{s['int8_top1_acc_std_pct']:.2f} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--datasets", nargs="+", default=["mnist", "fashion-mnist"])
    ap.add_argument("--methods", nargs="+", default=METHODS)
    ap.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    ap.add_argument("--epochs", type=int, default=4)
    ap.add_argument("--limit", type=int, default=10000)
    ap.add_argument("--resume", action="store_true", help="keep finished runs from results/ablation.json")
    ap.add_argument("--work", type=Path, default=ROOT / "runs" / "ablation")
    ap.add_argument("--results", type=Path, default=ROOT / "benchmarks" / "results")
    args = ap.parse_args()
    args.results.mkdir(parents=True, exist_ok=True)

    def write(rows):
        # Rewritten after every run, so an interrupted ablation still reports what it finished.
        summary = summarize(rows)
        doc = {"command": " ".join(["python", "benchmarks/ablation.py", *sys.argv[1:]]), "epochs": args.epochs,
               "limit": args.limit, "seeds": args.seeds, "runs": rows, "summary": summary}
        (args.results / "ablation.json").write_text(json.dumps(doc, indent=2) + "\n")
        (args.results / "ablation.md").write_text(markdown(summary, args))

    # Resume: keep finished runs of an earlier invocation with the same budget.
    old = args.results / "ablation.json"
    done = []
    if args.resume and old.exists():
        prev = json.loads(old.read_text())
        done = [r for r in prev["runs"] if r["epochs"] == args.epochs and r["limit"] == args.limit
                and r.get("recipe") == _recipe(r["dataset"], args.epochs)]
    from edgecnn.train import fast_kernels

    fast_kernels()  # before anything imports TensorFlow, as `edgecnn train` does
    rows = run(args.datasets, args.methods, args.seeds, args.epochs, args.limit, args.work, write, done)
    print(markdown(summarize(rows), args))


if __name__ == "__main__":
    main()
