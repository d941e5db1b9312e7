"""`edgecnn bench`: size, latency, accuracy and agreement of every runtime on one build.

Modules: builddir (manifest, sha256 checks), base (the Runtime interface),
runtimes (the registry), native (the C engine on the host and on Cortex-M4),
timing (latency statistics), results (rows, agreement, ratios), run
(orchestration), report (table, JSON, Markdown, PNG), machine (what it ran on).
This file imports nothing heavy: the CLI reads the registry for `--help`.
"""

from pathlib import Path


def bench_command(build_dir: Path, runs: int, warmup: int, runtimes: list[str] | None, threads: int,
                  json_path: Path | None, markdown_path: Path | None, plot_path: Path | None,
                  dataset: str | None = None, data: Path | None = None,
                  device: tuple[int | None, int | None] = (None, None)) -> dict:
    """What the CLI calls: run the bench, print the tables and ratios, write the requested files."""
    from edgecnn.bench import report
    from edgecnn.bench.run import BenchOptions, bench
    from edgecnn.console import console
    from edgecnn.htmlreport import collect

    collect.device_budget(*device)  # a bad budget fails before the runs
    opts = BenchOptions(Path(build_dir), runs, warmup, tuple(runtimes or ()), threads, dataset=dataset, data=data)
    result = bench(opts)
    for table in report.rich_tables(result):
        console.print(table)
    for line in report.ratio_lines(result):
        console.print(f"  {line}")
    for path, write in ((json_path, report.write_json), (markdown_path, report.write_markdown),
                        (plot_path, report.write_plot)):
        if path is not None:
            write(result, Path(path))
            console.print(f"wrote {path}")
    page = _update_report(Path(build_dir), result, device)
    console.print(f"updated {page}")
    return result


def _update_report(build_dir: Path, result: dict, device: tuple[int | None, int | None]) -> Path:
    """report.html of the build with this run's latencies and memory rows (report.json keeps them)."""
    import json

    from edgecnn import htmlreport
    from edgecnn.htmlreport import collect

    manifest = json.loads((build_dir / "manifest.json").read_text())
    data = collect.with_bench(htmlreport.read_data(build_dir), result, collect.device_budget(*device))
    return htmlreport.write(build_dir, manifest, data)
