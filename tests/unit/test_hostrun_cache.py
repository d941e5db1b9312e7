"""The host build's kernel object cache (edgecnn.codegen.hostrun.kernel_objects): objects are
reused across models and builds, keyed on the compiler, the flags and the kernel library, and a
kernel copy that is not verbatim is compiled from that copy."""

import shutil

import numpy as np
import pytest

from edgecnn.codegen import generate, hostrun, testmodels, verify

pytestmark = pytest.mark.skipif(shutil.which("gcc") is None, reason="gcc is not installed")


def test_cached_objects_are_reused_and_give_the_same_outputs(tmp_path, monkeypatch):
    monkeypatch.setenv("EDGECNN_OBJECT_CACHE", str(tmp_path / "cache"))
    case = next(c for c in testmodels.CASES if c.name == "conv_same_s1")
    path = testmodels.build_case(case, tmp_path, seed=1)
    x = verify.random_inputs((1, *case.input_shape), 50, seed=3)
    a, b = generate(path, tmp_path / "a", "m"), generate(path, tmp_path / "b", "other")
    k = int(np.prod(a.output_shape))
    out_a = hostrun.run_host(hostrun.compile_host(a, tmp_path / "ha" / "h", "gcc", "-O1"), x, k).outputs
    objects = sorted((tmp_path / "cache").rglob("*.o"))
    assert len(objects) == len([p for p in a.sources if p.name.startswith("ec_")]), objects
    stamps = [o.stat().st_mtime_ns for o in objects]
    out_b = hostrun.run_host(hostrun.compile_host(b, tmp_path / "hb" / "h", "gcc", "-O1"), x, k).outputs
    assert [o.stat().st_mtime_ns for o in sorted((tmp_path / "cache").rglob("*.o"))] == stamps  # reused
    assert np.array_equal(out_a, out_b)
    hostrun.compile_host(a, tmp_path / "hc" / "h", "gcc", "-O2")  # other flags: other objects
    assert len(list((tmp_path / "cache").rglob("*.o"))) == 2 * len(objects)


def test_an_edited_kernel_copy_is_compiled_from_the_copy(tmp_path, monkeypatch):
    monkeypatch.setenv("EDGECNN_OBJECT_CACHE", str(tmp_path / "cache"))
    case = next(c for c in testmodels.CASES if c.name == "conv_same_s1")
    gen = generate(testmodels.build_case(case, tmp_path, seed=1), tmp_path / "g", "m")
    conv = gen.out_dir / "ec_conv.c"
    conv.write_text(conv.read_text() + "\n#error edited copy\n")
    assert "ec_conv.c" not in hostrun.kernel_objects(shutil.which("gcc"), ("-O1",), gen.sources)
    with pytest.raises(Exception, match="edited copy"):
        hostrun.compile_host(gen, tmp_path / "h" / "h", "gcc", "-O1")
