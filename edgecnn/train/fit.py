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
                  weight_decay: float = 0.0, label_smoothing: float = 0.0, ema: float = 0.0):
    """Adam (AdamW if weight_decay > 0) with linear warm-up, then cosine decay to zero over `total_steps`.

    label_smoothing > 0: categorical cross-entropy on one-hot targets (the data set must yield them:
    pipeline.make_dataset(num_classes=...)); ema > 0: the optimizer keeps an exponential moving
    average of the weights (momentum `ema`) and fit() ends by writing it into the model.
    """
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
    opt = dict(use_ema=ema > 0, ema_momentum=ema) if ema > 0 else {}
    loss = (keras.losses.CategoricalCrossentropy(label_smoothing=label_smoothing) if label_smoothing
            else "sparse_categorical_crossentropy")
    model.compile(
        optimizer=keras.optimizers.AdamW(schedule, weight_decay=weight_decay, **opt) if weight_decay
        else keras.optimizers.Adam(schedule, **opt),
        loss=[loss] * n_out if n_out > 1 else loss,
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
