"""The evaluation report: a Markdown table, metric bars, joint-speed curves and frame strips."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from .files import write_text_atomic
from .normalise import denormalise
from .pose_sequence import CORPUS_FPS
from .render import background, draw_dancer

COLUMNS = (  # key, heading, format, which way is better
    ("FID_k", "FID_k", "{:.2f}", "lower"),
    ("FID_g", "FID_g", "{:.2f}", "lower"),
    ("Div_k", "Div_k", "{:.2f}", "nearer real"),
    ("Div_g", "Div_g", "{:.2f}", "nearer real"),
    ("BAS", "Beat Align", "{:.3f}", "higher"),
    ("perplexity", "held-out perplexity", "{:.2f}", "lower"),
    ("unique_words_15s", "unique words / 15 s", "{:.1f}", "nearer real"),
    ("copy_seconds", "longest copy (s)", "{:.2f}", "nearer real"),
    ("jitter", "jitter (torso/s²)", "{:.1f}", "nearer real"),
)


def markdown_table(table: dict) -> str:
    """The table as Markdown, one row per generator and the real reference row first."""
    lines = ["| | " + " | ".join(heading for _, heading, _, _ in COLUMNS) + " |",
             "|---|" + "---:|" * len(COLUMNS)]
    for name, row in table.items():
        cells = ["–" if row.get(key) is None else fmt.format(row[key]) for key, _, fmt, _ in COLUMNS]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _metric_bars(table: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(table)
    shown = [c for c in COLUMNS if any(table[n].get(c[0]) is not None for n in names)]
    figure, axes = plt.subplots(1, len(shown), figsize=(2.6 * len(shown), 3.4))
    colours = plt.cm.tab10(np.arange(len(names)))
    for axis, (key, heading, _, better) in zip(np.atleast_1d(axes), shown):
        values = [table[n].get(key) or 0.0 for n in names]
        axis.bar(range(len(names)), values, color=colours)
        axis.set_title(f"{heading}\n({better})", fontsize=9)
        axis.set_xticks(range(len(names)), [n.split(" ")[0] for n in names], rotation=60, fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def _speed_curves(samples: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(9, 3.4))
    for name, poses in samples.items():
        speed = np.linalg.norm(np.diff(poses[:, :, :2], axis=0), axis=2).mean(axis=1) * CORPUS_FPS
        axis.plot(np.arange(len(speed)) / CORPUS_FPS, speed, label=name, linewidth=1.2)
    axis.set_xlabel("seconds into the continuation")
    axis.set_ylabel("mean joint speed (torso/s)")
    axis.legend(fontsize=8, ncol=3)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def _frame_strips(samples: dict, path: Path, frames: int = 8, cell: int = 160) -> None:
    """One row per generator: the bopbot dancer every 10 s / `frames`, drawn small."""
    from PIL import Image, ImageDraw

    rows = []
    for name, poses in samples.items():
        placement = np.tile(np.array([cell / 2, cell * 0.56, cell / 5.2], dtype=np.float32), (len(poses), 1))
        keypoints = denormalise(poses, placement)
        picks = np.linspace(0, len(poses) - 1, frames).astype(int)
        row = np.concatenate([draw_dancer(background(cell, cell), keypoints[i]) for i in picks], axis=1)
        label = Image.fromarray(np.full((cell, 130, 3), 245, np.uint8))
        ImageDraw.Draw(label).text((6, cell // 2 - 6), name, fill=(20, 20, 20))
        rows.append(np.concatenate([np.asarray(label), row], axis=1))
    Image.fromarray(np.concatenate(rows, axis=0)).save(path)


def write_report(result: dict, folder: str | Path, command: str) -> Path:
    """Write report.md, results.json and the three plots into `folder`; returns the report's path."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    _metric_bars(result["table"], folder / "metrics.png")
    _speed_curves(result["samples"], folder / "joint_speed.png")
    _frame_strips(result["samples"], folder / "samples.png")
    settings = result["settings"]
    text = f"""# BopBot evaluation

{result['tests']} held-out stretches ({settings['context_seconds']:g} s of real context, then
{settings['seconds']:g} s generated), cameras at yaws {', '.join(f'{y:g}' for y in settings['yaws'])};
{len(settings['seeds'])} sample(s) per stretch and generator, temperature {settings['temperature']:g},
top-p {settings['top_p']:g}. Every row is scored against the same reference: {result['pool_stretches']}
{settings['seconds']:g}-second stretches of the training split. The first row is the real held-out
continuation scored the same way: the scale of every number. Pose-word quantisation error on the
held-out dances (every word generator inherits it): {result['quantisation_error']:.3f} torso lengths.

{markdown_table(result['table'])}

Reproduce: `{command}`

![metrics](metrics.png)

Mean joint speed of one sample each ({result['sample_name']}):

![joint speed](joint_speed.png)

The bopbot dancer, one sample per generator (same stretch):

![samples](samples.png)
"""
    write_text_atomic(folder / "report.md", text)
    write_text_atomic(folder / "results.json", json.dumps({k: v for k, v in result.items()
                                                           if k not in ("samples", "context")}, indent=2))
    return folder / "report.md"
