"""ONNX canonical renaming: two graphs that differ only in generated names serialize identically,
still pass onnx.checker, and compute the same thing in onnxruntime."""

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

from edgecnn.convert.onnx_export import canonicalize


def _graph(suffix: int) -> onnx.ModelProto:
    """y = relu(x @ W + b), with tf2onnx-style counter names (W__<n>) that change between runs."""
    rng = np.random.default_rng(0)
    w = numpy_helper.from_array(rng.standard_normal((4, 3)).astype(np.float32), f"W__{suffix}")
    bias = numpy_helper.from_array(rng.standard_normal(3).astype(np.float32), f"b__{suffix + 1}")
    nodes = [helper.make_node("MatMul", ["x", w.name], [f"mm__{suffix}"], name=f"MatMul__{suffix}"),
             helper.make_node("Add", [f"mm__{suffix}", bias.name], [f"add__{suffix}"], name=f"Add__{suffix}"),
             helper.make_node("Relu", [f"add__{suffix}"], ["y"], name=f"Relu__{suffix}")]
    graph = helper.make_graph(nodes, f"g{suffix}", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3])], [bias, w],
                              doc_string=f"converted at step {suffix}")
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)


def test_canonical_names_make_bytes_independent_of_counters():
    a, b = canonicalize(_graph(75)), canonicalize(_graph(312))
    assert a.SerializeToString() == b.SerializeToString()
    assert [n.name for n in a.graph.node] == ["n0_MatMul", "n1_Add", "n2_Relu"]
    assert [t.name for t in a.graph.initializer] == ["t0", "t2"]  # sorted by first use
    assert a.graph.input[0].name == "x" and a.graph.output[0].name == "y"
    onnx.checker.check_model(a, full_check=True)


def test_canonical_graph_computes_the_same():
    x = np.random.default_rng(1).standard_normal((1, 4)).astype(np.float32)
    outs = []
    for model in (_graph(5), canonicalize(_graph(5))):
        sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
        outs.append(sess.run(None, {"x": x})[0])
    np.testing.assert_array_equal(outs[0], outs[1])
