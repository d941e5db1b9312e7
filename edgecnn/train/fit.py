"""Keras fitting with a Rich progress bar and a plain per-epoch history."""

import math


def _progress_callback(progress, label: str, total_steps: int, epochs: int):
    import keras

    class RichBar(keras.callbacks.Callback):
        """One Rich bar per phase: advances every batch, shows epoch, loss and accuracy."""

        def on_train_begin(self, logs=None):
            self.task = progress.add_task(label, total=total_steps, status="")

        def on_epoch_begin(self, epoch, logs=None):
            self.epoch = epoch + 1

        def on_train_batch_end(self, batch, logs=None):
            logs = logs or {}
            shown = " ".join(f"{k}={v:.4f}" for k, v in logs.items() if "loss" in k or "acc" in k)
            progress.update(self.task, advance=1, status=f"epoch {self.epoch}/{epochs} {shown}")

    return RichBar()


def compile_model(model, lr: float, total_steps: int, warmup_steps: int, loss_weights=None,
                  weight_decay: float = 0.0):
    """Adam (AdamW if weight_decay > 0) with linear warm-up, then cosine decay to zero over `total_steps`."""
    import keras

    warmup_steps = min(warmup_steps, max(total_steps - 1, 0))
    schedule = keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=lr / 10 if warmup_steps else lr,
        decay_steps=max(total_steps - warmup_steps, 1),
        warmup_target=lr if warmup_steps else None,
        warmup_steps=warmup_steps,
        alpha=0.0,
    )
    n_out = len(model.outputs)
    model.compile(
        optimizer=keras.optimizers.AdamW(schedule, weight_decay=weight_decay) if weight_decay
        else keras.optimizers.Adam(schedule),
        loss=["sparse_categorical_crossentropy"] * n_out if n_out > 1 else "sparse_categorical_crossentropy",
        loss_weights=loss_weights,
        metrics=[["accuracy"]] * n_out if n_out > 1 else ["accuracy"],
    )


def fit_phase(model, ds, epochs: float, batches_per_epoch: int, progress, label: str) -> list[dict]:
    """Fit for a (possibly fractional) number of epochs; return one dict of metrics per Keras epoch.

    A fractional budget becomes ceil(epochs) Keras epochs of equal length
    whose batches add up to round(epochs * batches_per_epoch).
    """
    total = max(1, round(epochs * batches_per_epoch))
    k = max(1, math.ceil(epochs))
    steps = max(1, total // k)
    cb = _progress_callback(progress, label, steps * k, k)
    hist = model.fit(ds, epochs=k, steps_per_epoch=steps, verbose=0, callbacks=[cb])
    keys = sorted(hist.history)
    return [{key: float(hist.history[key][i]) for key in keys} | {"steps": steps} for i in range(k)]
