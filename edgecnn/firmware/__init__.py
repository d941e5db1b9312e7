"""Exports that build in the user's own build system: CMake, Arduino, a TFLM CMake fragment.

Each is a build target (edgecnn/convert/targets.py) that packages the verified
`c/` engine (or the `tflite-micro/` sources) for one build system, builds it
there at build time and compares the result with the engine it packages.
"""
