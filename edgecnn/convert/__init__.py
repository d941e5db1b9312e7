"""The converter: Keras float model -> int8 TFLite, TFLM sources, ONNX and ORT, each verified.

Stage modules: quantize (TFLite converter), tflm (C array, resolver, arena),
onnx_export (tf2onnx, ORT), verify (build-time checks), targets (registry),
manifest, report, build (orchestration). Importing this package is cheap;
TensorFlow is imported by the stages that need it.
"""
