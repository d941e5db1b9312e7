"""CMakeLists.txt and README.md for the tflite-micro/ export (called by the tflite-micro target)."""

from pathlib import Path

from edgecnn.firmware import common


def write_build_files(tflm_dir: Path, cname: str, provenance: str, facts: dict[str, str]) -> list[Path]:
    """Write tflm_dir/CMakeLists.txt (builds main.cc against a TFLM tree) and README.md."""
    values = {"name": cname, **facts}
    files = {tflm_dir / "CMakeLists.txt": common.render("tflite-micro/CMakeLists.txt.in",
                                                        {**values, "provenance": common.comment(provenance, "#")}),
             tflm_dir / "README.md": common.render("tflite-micro/README.md.in", values)}
    for path, text in files.items():
        path.write_text(text)
    return list(files)
