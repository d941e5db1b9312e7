"""The bench runtime registry: every way of running a build, by name.

`RUNTIMES` is the one table the CLI lists in `--help` and the orchestrator
iterates; adding a runtime means adding a class and one entry here.
"""

import numpy as np

from edgecnn.bench.base import Runtime
from edgecnn.bench.builddir import BuildDir
from edgecnn.bench.native import CCortexM4, CHost


class KerasFloat(Runtime):
    name = "keras-float"
    description = "Keras 3 float model (model.keras) in a tf.function, batch 1"
    precision = "float"
    artifact = "model.keras"
    modules = ("tensorflow", "keras")

    def load(self, build: BuildDir, opts) -> None:
        import tensorflow as tf
        import keras

        try:
            tf.config.threading.set_intra_op_parallelism_threads(opts.threads)
            tf.config.threading.set_inter_op_parallelism_threads(1)
        except RuntimeError:
            pass  # TF already initialised in this process: it keeps its thread pools
        model = keras.models.load_model(build.artifact(self.artifact), compile=False)
        shape = [1, *model.input_shape[1:]]
        # A traced graph is how a float Keras model is served; eager calls would time Python dispatch.
        self._fn = tf.function(lambda x: model(x, training=False),
                               input_signature=[tf.TensorSpec(shape, tf.float32)])

    def run(self, x: np.ndarray) -> np.ndarray:
        return self._fn(x[None]).numpy()[0]


class _LiteRT(Runtime):
    modules = ("ai_edge_litert",)
    reference_kernels = False

    def load(self, build: BuildDir, opts) -> None:
        from ai_edge_litert.interpreter import Interpreter, OpResolverType

        resolver = OpResolverType.BUILTIN_REF if self.reference_kernels else OpResolverType.AUTO
        self._it = Interpreter(model_path=str(build.artifact(self.artifact)), num_threads=opts.threads,
                               experimental_op_resolver_type=resolver)
        self._it.allocate_tensors()
        self._in = self._it.get_input_details()[0]["index"]
        self._out = self._it.get_output_details()[0]["index"]

    def run(self, x: np.ndarray) -> np.ndarray:
        self._it.set_tensor(self._in, x[None])
        self._it.invoke()
        return self._it.get_tensor(self._out)[0]


class LiteRTFloat(_LiteRT):
    name = "litert-float"
    description = "LiteRT interpreter, float .tflite, default op resolver (XNNPACK)"
    precision = "float"
    artifact = "model_float.tflite"


class LiteRTInt8(_LiteRT):
    name = "litert-int8"
    description = "LiteRT interpreter, int8 .tflite, default op resolver (XNNPACK); the reference for agreement"
    precision = "int8"
    artifact = "model_int8.tflite"


class LiteRTInt8Ref(_LiteRT):
    name = "litert-int8-ref"
    description = "LiteRT interpreter, int8 .tflite, reference kernels (BUILTIN_REF)"
    precision = "int8"
    artifact = "model_int8.tflite"
    reference_kernels = True


class TFLM(Runtime):
    name = "tflm"
    description = "TensorFlow Lite Micro interpreter (tflite_micro Python binding), int8 .tflite"
    precision = "int8"
    artifact = "model_int8.tflite"
    modules = ("tflite_micro",)

    def load(self, build: BuildDir, opts) -> None:
        from tflite_micro import runtime

        # The arena the firmware would get; None lets TFLM pick its default (10x the model size).
        arena = build.manifest.get("tflm", {}).get("tensor_arena_size")
        self._it = runtime.Interpreter.from_file(str(build.artifact(self.artifact)), arena_size=arena)

    def run(self, x: np.ndarray) -> np.ndarray:
        self._it.set_input(x[None], 0)
        self._it.invoke()
        return self._it.get_output(0)[0]

    def extra(self, build: BuildDir) -> dict:
        tflm = build.manifest.get("tflm", {})
        return {"arena_bytes": tflm.get("arena_bytes_measured"), "ram_bytes": tflm.get("tensor_arena_size")}


class _OnnxRuntime(Runtime):
    modules = ("onnxruntime",)

    def load(self, build: BuildDir, opts) -> None:
        from edgecnn.convert.runners import ort_session

        self._sess = ort_session(build.artifact(self.artifact), opts.threads)
        self._in = self._sess.get_inputs()[0].name
        self._outs = [self._sess.get_outputs()[0].name]

    def run(self, x: np.ndarray) -> np.ndarray:
        return self._sess.run(self._outs, {self._in: x[None]})[0][0]


class OnnxRuntimeFloat(_OnnxRuntime):
    name = "onnxruntime-float"
    description = "onnxruntime CPU execution provider, float .onnx"
    precision = "float"
    artifact = "model_float.onnx"


class OnnxRuntimeInt8(_OnnxRuntime):
    name = "onnxruntime-int8"
    description = "onnxruntime CPU execution provider, int8 .onnx (from the int8 .tflite)"
    precision = "int8"
    artifact = "model_int8.onnx"


# The reference every other runtime is compared with (outputs and latency ratios), and the
# reference-kernel runtime int8 rows are also compared with when it ran.
REFERENCE = "litert-int8"
REF_KERNELS = "litert-int8-ref"

RUNTIMES: dict[str, type[Runtime]] = {cls.name: cls for cls in (
    KerasFloat, LiteRTFloat, LiteRTInt8, LiteRTInt8Ref, TFLM,
    OnnxRuntimeFloat, OnnxRuntimeInt8, CHost, CCortexM4,
)}
