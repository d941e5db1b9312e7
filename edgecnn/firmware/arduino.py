"""The `arduino` build target: the C engine as an Arduino library (1.5 format), and its zip.

`<out>/arduino/edgecnn_<name>/`: library.properties, src/ (the engine),
examples/<name>_classify/<name>_classify.ino (+ its sample images), and
`<out>/arduino/edgecnn_<name>.zip` for the IDE's "Add .ZIP Library".

Arduino's own builder is not run (not installable here). What the build
checks instead, as Arduino's builder would compile the sketch: src/*.c as
C (gnu11) and the .ino as C++ (gnu++17) with src/ and the sketch folder on
the include path, with arm-none-eabi for a Cortex-M4; and on the host, the
sketch's inference function linked with the engine gives the c-host
engine's scores. The Serial part (under `#ifdef ARDUINO`) needs Arduino's
core and is not compiled.
"""

import re
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from edgecnn.console import console
from edgecnn.firmware import common

# library.properties fields the Arduino library specification (1.5 format, rev. 2.2) requires.
REQUIRED_FIELDS = ("name", "version", "author", "maintainer", "sentence", "paragraph", "category", "url",
                   "architectures")
CATEGORIES = ("Display", "Communication", "Signal Input/Output", "Sensors", "Device Control", "Timing",
              "Data Storage", "Data Processing", "Other")
NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9 _.\-]{0,62}")
# There is no project page to link; the library's method comes from this paper.
URL = "https://arxiv.org/abs/2501.15547"
M4F_FLAGS = ["-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv4-sp-d16"]  # as Cortex-M4F Arduino cores build
CXX_FLAGS = ["-std=gnu++17", "-fno-exceptions", "-fno-rtti", "-Wall", "-Wextra", "-Werror"]
C_FLAGS = ["-std=gnu11", "-Wall", "-Wextra", "-Werror"]


def library_name(cname: str) -> str:
    return f"edgecnn_{cname}"


def write(c_dir: Path, out: Path, cname: str, x: np.ndarray, y: np.ndarray, facts: dict, provenance: str) -> Path:
    """Write out/edgecnn_<cname>/ and out/edgecnn_<cname>.zip; returns the library folder.

    facts: version, dataset, arena, weights, macs, command (strings for library.properties).
    """
    lib = out / library_name(cname)
    common.copy_engine(c_dir, lib / "src")
    sketch = lib / "examples" / f"{cname}_classify"
    sketch.mkdir(parents=True, exist_ok=True)
    values = {"name": cname, "NAME": cname.upper(), "library": lib.name, "url": URL, **facts}
    (lib / "library.properties").write_text(common.render("arduino/library.properties.in", values))
    (sketch / f"{cname}_classify.ino").write_text(
        common.render("arduino/classify.ino.in", {**values, "provenance": provenance}))
    (sketch / f"{cname}_samples.h").write_text(common.samples_header(cname, x, y, provenance))
    write_zip(lib, out / f"{lib.name}.zip")
    return lib


def write_zip(lib: Path, path: Path) -> None:
    """The library folder as a zip with the folder at its root; fixed timestamps, so byte-identical."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for f in sorted(p for p in lib.rglob("*") if p.is_file()):
            info = zipfile.ZipInfo(str(Path(lib.name) / f.relative_to(lib)), date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            z.writestr(info, f.read_bytes(), zipfile.ZIP_DEFLATED)


def read_properties(path: Path) -> dict[str, str]:
    """library.properties as {key: value} (key=value lines; '#' comments)."""
    out = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.lstrip().startswith("#") and "=" in line:
            key, value = line.split("=", 1)
            out[key.strip()] = value.strip()
    return out


def check_properties(lib: Path) -> dict:
    """library.properties against the specification: required fields, name, category, folder, includes."""
    props = read_properties(lib / "library.properties")
    problems = [f"missing or empty: {k}" for k in REQUIRED_FIELDS if not props.get(k)]
    name = props.get("name", "")
    if not NAME_PATTERN.fullmatch(name) or name.lower().startswith("arduino"):
        problems.append(f"name {name!r}: letters, digits, space, _ . -, at most 63, not starting with 'Arduino'")
    if lib.name != name.replace(" ", "_"):
        problems.append(f"folder {lib.name!r} does not match name {name!r}")
    if props.get("category") not in CATEGORIES:
        problems.append(f"category {props.get('category')!r} not one of {CATEGORIES}")
    if not re.fullmatch(r"\d+\.\d+\.\d+", props.get("version", "")):
        problems.append(f"version {props.get('version')!r} is not MAJOR.MINOR.PATCH")
    for inc in filter(None, (s.strip() for s in props.get("includes", "").split(","))):
        if not (lib / "src" / inc).is_file():
            problems.append(f"includes {inc!r}: no such file in src/")
    return {"check": "library.properties against the Arduino library specification's fields",
            "fields": sorted(props), "problems": problems, "passed": not problems}


def compile_sketch(lib: Path, work: Path, cc: str, cxx: str, flags: list[str], link_main: Path | None = None) -> Path:
    """Compile src/*.c as C and the .ino as C++ (as Arduino's builder does); link with link_main if given."""
    sketch = next((lib / "examples").iterdir())
    work.mkdir(parents=True, exist_ok=True)
    incs = [f"-I{lib / 'src'}", f"-I{sketch}"]
    ino_cpp = work / f"{sketch.name}.ino.cpp"
    ino_cpp.write_text(f'#line 1 "{sketch.name}.ino"\n' + (sketch / f"{sketch.name}.ino").read_text())
    objs = []
    for src in sorted((lib / "src").glob("*.c")):
        objs.append(work / f"{src.stem}.o")
        common.run([cc, *flags, *C_FLAGS, "-Os", *incs, "-c", src, "-o", objs[-1]])
    objs.append(work / "sketch.o")
    common.run([cxx, *flags, *CXX_FLAGS, "-Os", *incs, "-c", ino_cpp, "-o", objs[-1]])
    if link_main is None:
        return objs[-1]
    exe = work / "sketch_host"
    common.run([cxx, *flags, *CXX_FLAGS, *incs, link_main, *objs, "-o", exe])
    return exe


HOST_MAIN = """#include <stdint.h>
#include <stdio.h>
#include "{n}_model.h"
#include "{n}_samples.h"
int {n}_classify(const uint8_t *pixels, int8_t *scores);
int main() {{
  static int8_t scores[{N}_OUTPUT_SIZE];
  for (int i = 0; i < {N}_NUM_SAMPLES; ++i) {{
    const int best = {n}_classify({n}_sample_pixels[i], scores);
    printf("sample %d label %d top1 %d scores", i, (int){n}_sample_labels[i], best);
    for (int k = 0; k < {N}_OUTPUT_SIZE; ++k) printf(" %d", (int)scores[k]);
    printf("\\n");
  }}
  return 0;
}}
"""


def host_scores(lib: Path, work: Path, cname: str, n_outputs: int) -> np.ndarray:
    """The sketch's inference function on its sample images, compiled and run on the host."""
    main = work / "host_main.cpp"
    work.mkdir(parents=True, exist_ok=True)
    main.write_text(HOST_MAIN.format(n=cname, N=cname.upper()))
    exe = compile_sketch(lib, work, common.tool("gcc", "the arduino export's host check needs it"),
                         common.tool("g++", "the arduino export's host check needs it"), [], main)
    return common.parse_scores(common.run([exe], timeout_s=120), n_outputs)


def build_target(ctx) -> dict:
    """Write arduino/, check library.properties, compile the sketch for a Cortex-M4, compare on the host."""
    import shutil

    from edgecnn import __version__
    from edgecnn.codegen import hostrun
    from edgecnn.convert.runners import to_int8
    from edgecnn.convert.verify import require

    gen = ctx.extra["c_generate"]
    x, y, x_model = common.sample_pixels(ctx)
    facts = {"version": __version__, "dataset": ctx.dataset or "a user model", "arena": str(gen.arena_bytes),
             "weights": str(gen.weights_bytes), "macs": f"{gen.macs:,}"}
    lib = write(ctx.out_dir / "c", ctx.out_dir / "arduino", ctx.cname, x, y, facts, ctx.provenance)
    props = require(check_properties(lib))
    k = int(np.prod(gen.output_shape))
    with tempfile.TemporaryDirectory(prefix="edgecnn-arduino-") as tmp:
        got = host_scores(lib, Path(tmp) / "host", ctx.cname, k)
        ref = hostrun.run_host(hostrun.compile_host(gen, Path(tmp) / "c" / "host"), to_int8(x_model, ctx.q_in), k).outputs
        m4 = "skipped: arm-none-eabi-g++ not found on PATH"
        if shutil.which("arm-none-eabi-g++"):
            compile_sketch(lib, Path(tmp) / "m4", "arm-none-eabi-gcc", "arm-none-eabi-g++", M4F_FLAGS)
            m4 = f"src/*.c ({' '.join(C_FLAGS)}) and the .ino as C++ ({' '.join(CXX_FLAGS)}), {' '.join(M4F_FLAGS)}: clean"
    same = common.exact(f"arduino sketch's {ctx.cname}_classify (host g++) vs the c-host engine on {len(x)} sample "
                        "images", got, ref)
    console.print(f"arduino export: {lib.name}.zip; sketch compile (Cortex-M4): {m4}")
    return {"arduino": {"dir": f"arduino/{lib.name}", "zip": f"arduino/{lib.name}.zip", "cortex_m4_compile": m4,
                        "not_verified": "Arduino's own builder (arduino-cli) and the Serial part of the sketch, "
                                        "which needs an Arduino core; no board was flashed"},
            "verification": {"arduino_library_properties": props, "arduino_sketch_vs_c_host": require(same)}}
