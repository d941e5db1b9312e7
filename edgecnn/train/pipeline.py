"""tf.data input pipelines: plain, dual (original + augmented view) and concatenated batches."""

from edgecnn.train.recipes import Augment


def make_augmenter(aug: Augment, seed: int):
    """A Keras stack of random layers for float images in [0, 1], seeded."""
    import keras
    from keras import layers

    stack = []
    if aug.hflip:
        stack.append(layers.RandomFlip("horizontal", seed=seed))
    stack += [
        layers.RandomRotation(aug.rotation_deg / 360.0, fill_mode=aug.fill, seed=seed + 1),
        layers.RandomZoom(aug.zoom, fill_mode=aug.fill, seed=seed + 2),
        layers.RandomTranslation(aug.shift, aug.shift, fill_mode=aug.fill, seed=seed + 3),
        layers.RandomBrightness(aug.brightness, value_range=(0.0, 1.0), seed=seed + 4),
        layers.RandomContrast(aug.contrast, value_range=(0.0, 1.0), seed=seed + 5),
    ]
    return keras.Sequential(stack, name="augment")


def make_dataset(x, y, batch_size: int, seed: int, mode: str, augmenter=None, num_classes: int | None = None):
    """An endless, shuffled, batched tf.data pipeline.

    x: (N, H, W, C) uint8; y: (N,) integer labels.
    mode "plain":  x -> y
    mode "dual":   (x, aug(x)) -> (y, y)      two inputs, two outputs (stage 1)
    mode "concat": [x; aug(x)] -> [y; y]      one input, both views in one batch (stage 2)
    num_classes: labels become one-hot float vectors of this length (for a label-smoothed loss).
    """
    import tensorflow as tf

    if mode not in ("plain", "dual", "concat"):
        raise ValueError(f"mode {mode!r}: expected plain, dual or concat")
    ds = tf.data.Dataset.from_tensor_slices((x, y.astype("int32")))
    ds = ds.shuffle(len(x), seed=seed, reshuffle_each_iteration=True).repeat()
    ds = ds.batch(batch_size, drop_remainder=True)

    def to_float(xb, yb):
        return tf.cast(xb, tf.float32) / 255.0, yb

    def views(xb, yb):
        xa = tf.clip_by_value(augmenter(xb, training=True), 0.0, 1.0)
        if mode == "dual":
            return (xb, xa), (yb, yb)
        return tf.concat([xb, xa], 0), tf.concat([yb, yb], 0)

    def one_hot(xb, yb):
        return xb, tf.one_hot(yb, num_classes)

    ds = ds.map(to_float, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    if num_classes:
        ds = ds.map(one_hot, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    if mode != "plain":
        ds = ds.map(views, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    return ds.prefetch(tf.data.AUTOTUNE)
