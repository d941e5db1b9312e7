"""Per-layer insight into a build: where int8 loses accuracy, where runtimes part, where RAM and cycles go.

`edgecnn inspect BUILD --layers` (and the HTML report) combine:
- `activations`: every op's output tensor from LiteRT (reference kernels, all tensors kept), TFLM
  (all tensors kept), the C engine (unfused, each call's output dumped through EC_PROFILE_LAYERS)
  and the float model;
- `compare`: quantization error per layer (SNR dB, max |error| in float units) and the first op
  where two int8 runtimes disagree;
- the C engine's plan (edgecnn.codegen.layerinfo): MACs, weights, arena offset, live bytes.
"""
