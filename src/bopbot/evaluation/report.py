"""The evaluation report: a Markdown table, metric bars, joint-speed curves and frame strips."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..choreography.draw import background, draw_dancer
from ..data.normalise import denormalise
from ..data.pose_sequence import CORPUS_FPS
from ..errors import BopBotError
from ..files import atomic_path, make_folder, write_text_atomic
from .bootstrap import RowScores
from .continuity import VIEW_SECONDS

QUALITY = (  # key, heading, format, which way is better
    ("FID_k", "FID_k", "{:.1f}", "lower"),
    ("FID_g", "FID_g", "{:.1f}", "lower"),
    ("Div_k", "Div_k", "{:.2f}", "nearer real"),
    ("Div_g", "Div_g", "{:.2f}", "nearer real"),
    ("BAS", "Beat Align", "{:.3f}", "above its null"),
    ("BAS_null", "BAS, music shifted 1-5 s", "{:.3f}", "the null"),
    ("perplexity", "held-out perplexity", "{:.2f}", "lower"),
    ("unique_words_15s", "unique words / 15 s", "{:.1f}", "nearer real"),
    ("copy_seconds", "longest copy (s)", "{:.2f}", "nearer real"),
    ("jitter", "jitter (torso/s²)", "{:.1f}", "nearer real"),
)
CONTINUITY = (
    ("join", "join (first step / median step)", "{:.2f}", "near 1"),
    ("user_words", "the user's words", "{:.0%}", "nearer real"),
    ("speed_ratio", "joint speed / the user's", "{:.2f}", "nearer real"),
    ("acceleration_ratio", "acceleration / the user's", "{:.2f}", "nearer real"),
    ("side_on", "side-on frames", "{:.0%}", "nearer real"),
    ("view_shift", "side-on shift, frontal contexts", "{:+.0%}", "near 0"),
    ("hip_excursion", "hip excursion (torso)", "{:.2f}", "nearer real"),
    ("root_speed", "hip speed (torso/s)", "{:.2f}", "nearer real"),
    ("inside_frame", "frames inside the picture", "{:.0%}", "100%"),
)
MUSIC = (
    ("BAS", "Beat Align", "{:.3f}", "above its null"),
    ("BAS_null", "BAS, music shifted 1-5 s", "{:.3f}", "the null"),
    ("R_normalised", "R: normalised speed dips", "{:.2f}", "above chance"),
    ("R_hip_relative", "R: hip-relative", "{:.2f}", "above chance"),
    ("R_canvas", "R: canvas", "{:.2f}", "above chance"),
    ("R_wrists", "R: wrists", "{:.2f}", "above chance"),
    ("R_ankles", "R: ankles", "{:.2f}", "above chance"),
    ("R_acceleration", "R: acceleration peaks", "{:.2f}", "above chance"),
    ("R_chance", "R by chance (1/sqrt n)", "{:.2f}", "chance"),
    ("energy_r", "energy r", "{:+.2f}", "above its null"),
    ("energy_null", "energy r, music shifted 1-5 s", "{:+.2f}", "the null"),
    ("phrase_8", "self-similarity, 8 beats on", "{:+.2f}", "above elsewhere"),
    ("phrase_other", "self-similarity, other lags", "{:+.2f}", "the baseline"),
)
COLUMNS = QUALITY + CONTINUITY


def _cell(figure: dict | None, fmt: str) -> str:
    if figure is None:
        return "–"
    return f"{fmt.format(figure['value'])} [{fmt.format(figure['low'])}, {fmt.format(figure['high'])}]"


def markdown_table(table: dict, columns: tuple = QUALITY) -> str:
    """The table as Markdown: every figure with its 95% interval, the reference rows first."""
    lines = ["| | " + " | ".join(heading for _, heading, _, _ in columns) + " | dances (stretches) |",
             "|---|" + "---:|" * (len(columns) + 1)]
    for name, row in table.items():
        cells = [_cell(row.get(key), fmt) for key, _, fmt, _ in columns]
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {row['dances']} ({row['stretches']}) |")
    return "\n".join(lines)


def comparison_table(comparisons: list[dict]) -> str:
    """Pairwise differences on the same stretches as Markdown: a row per pair, a column per figure."""
    metrics = list(dict.fromkeys(c["metric"] for c in comparisons))
    pairs = list(dict.fromkeys((c["first"], c["second"]) for c in comparisons))
    found = {(c["first"], c["second"], c["metric"]): c for c in comparisons}
    lines = ["| first − second | " + " | ".join(metrics) + " |", "|---|" + "---:|" * len(metrics)]
    for first, second in pairs:
        cells = []
        for metric in metrics:
            c = found.get((first, second, metric))
            text = "–" if c is None else f"{c['value']:+.2f} [{c['low']:+.2f}, {c['high']:+.2f}]"
            cells.append(f"**{text}**" if c is not None and c["separated"] else text)
        lines.append(f"| {first} − {second} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def separations(comparisons: list[dict], metric: str) -> tuple[list[str], list[str]]:
    """('a < b' lines the data shows, 'a ~ b' pairs it cannot tell apart) for one figure."""
    shown, unclear = [], []
    for c in comparisons:
        if c["metric"] != metric:
            continue
        if c["separated"]:
            lower, higher = (c["first"], c["second"]) if c["value"] < 0 else (c["second"], c["first"])
            shown.append(f"{lower} < {higher}")
        else:
            unclear.append(f"{c['first']} ~ {c['second']}")
    return shown, unclear


def _short(name: str) -> str:
    """A row's name for a plot axis: "real (pool floor)" -> "pool floor", "oracle words" -> "oracle"."""
    return name[name.index("(") + 1:name.rindex(")")] if "(" in name else name.split(" ")[0]


def _metric_bars(table: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(table)
    shown = [c for c in COLUMNS if any(table[n].get(c[0]) is not None for n in names)]
    figure, axes = plt.subplots(1, len(shown), figsize=(2.6 * len(shown), 3.4))
    colours = plt.cm.tab10(np.arange(len(names)))
    for axis, (key, heading, _, better) in zip(np.atleast_1d(axes), shown):
        values = np.array([table[n][key]["value"] if table[n].get(key) else np.nan for n in names])
        low = np.array([table[n][key]["low"] if table[n].get(key) else np.nan for n in names])
        high = np.array([table[n][key]["high"] if table[n].get(key) else np.nan for n in names])
        axis.bar(range(len(names)), np.nan_to_num(values), color=colours,
                 yerr=np.clip(np.nan_to_num(np.stack([values - low, high - values])), 0, None), capsize=3)
        axis.set_title(f"{heading}\n({better})", fontsize=9)
        axis.set_xticks(range(len(names)), [_short(n) for n in names], rotation=60, fontsize=8)
    figure.tight_layout()
    with atomic_path(path) as tmp:  # a full disk leaves no half picture, and says so of `path`
        figure.savefig(tmp, dpi=110, format="png")
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
    with atomic_path(path) as tmp:  # a full disk leaves no half picture, and says so of `path`
        figure.savefig(tmp, dpi=110, format="png")
    plt.close(figure)


def _phone_section(result: dict) -> str:
    """The held-out phone videos alone: the view users film."""
    table = result.get("phone_videos")
    if not table:
        return ""
    stretches = next(iter(table.values()))["stretches"]
    return f"""
The held-out phone videos alone ({stretches} stretches of real dancing filmed from the front, the view
users film), every row on those stretches:

{markdown_table(table)}

{markdown_table(table, CONTINUITY)}
"""


def _beat_shift_plot(curve: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shifts = np.array(curve["shifts"])
    figure, axis = plt.subplots(figsize=(9, 3.2))
    axis.fill_between(shifts, curve["low"], curve["high"], alpha=0.3, label="95% interval over stretches")
    axis.plot(shifts, curve["mean"], linewidth=1.2, label="real held-out dances")
    axis.axvline(0.0, color="black", linewidth=0.8, linestyle=":")
    axis.set_xlabel("music moved by (s); 0 = where the dataset places the dance")
    axis.set_ylabel("Beat Align Score")
    axis.legend(fontsize=8)
    figure.tight_layout()
    with atomic_path(path) as tmp:  # a full disk leaves no half picture, and says so of `path`
        figure.savefig(tmp, dpi=110, format="png")
    plt.close(figure)


def _music_section(result: dict) -> str:
    """How the dances made with their music follow it, every reading of the beat beside its chance."""
    table = {name: row for name, row in result["table"].items() if row.get("R_normalised")}
    if not table:
        return ""
    return f"""
## How the dances follow their music

The rows danced with their music (the real takes with their songs, the GPT-2 that hears the music,
the `+beats` rows played on the beat; `bopbot/evaluation/rhythm.py`). R is the vector strength of
the dancer's beats at the music's beats, each event's phase read between the beats around it
(1: every event at one phase of the beat; about 1/sqrt(n) for n events at random phases), for
every reading of the dancer's beats: dips of the mean joint speed of normalised poses, of the
joints less the hips, on the canvas (travel and framing included), of each wrist's and ankle's own
speed (the pair averaged), and peaks of the acceleration. Energy r: the correlation over 1 s
windows of the song's loudness with the dancer's joint speed, beside it with the music moved 1 to
5 s. Self-similarity: the correlation of the poses with themselves eight beats on, beside the
mean at 3, 5, 6, 7, 9 and 10 beats; the GPT-2 rows played on the beat dance the second of each pair
of eight-counts as the first again, so theirs is higher eight beats on.

{markdown_table(table, MUSIC)}
"""


def _beat_section(result: dict, folder: Path) -> str:
    """The real dances against their music: the score at the stated offset, its null, and the curve."""
    curve = result.get("beat_shift")
    real = result["table"].get("real (held-out)", {})
    if not curve or not real.get("BAS"):
        return ""
    _beat_shift_plot(curve, folder / "beat_shift.png")
    score, null = real["BAS"], real["BAS_null"]
    verdict = ("beats its null: the dances follow the music at the stated offset" if score["low"] > null["high"]
               else "does not beat its null: at this offset the data shows no alignment of the dancers' "
                    "stops with the music's beats")
    return f"""
## Do the real dances follow their music?

The Beat Align Score of the real held-out dances with their music ({curve['tests']} tests) is
{score['value']:.3f} [{score['low']:.3f}, {score['high']:.3f}]; with the music shifted by 1 to 5 s it is
{null['value']:.3f} [{null['low']:.3f}, {null['high']:.3f}]. The real dance {verdict}. The curve shows the score as the music
is moved: a dance that follows its music peaks at 0.

![Beat Align Score against music shift](beat_shift.png)
"""


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
    with atomic_path(path) as tmp:
        Image.fromarray(np.concatenate(rows, axis=0)).save(tmp, format="PNG")


#: The files `write_report` can write into its folder (beat_shift.png only where the takes have music):
#: `bopbot evaluate` checks every one against its inputs before the work.
REPORT_FILES = ("metrics.png", "joint_speed.png", "samples.png", "beat_shift.png", "report.md", "results.json",
                "features.npz")


def write_report(result: dict, folder: str | Path, command: str) -> Path:
    """Write report.md, results.json and the plots (beat_shift.png too where the takes have music) into
    `folder`; returns the report's path."""
    folder = Path(folder)
    make_folder(folder)
    _metric_bars(result["table"], folder / "metrics.png")
    _speed_curves(result["samples"], folder / "joint_speed.png")
    _frame_strips(result["samples"], folder / "samples.png")
    settings = result["settings"]
    reading = []
    for metric in ("FID_k", "FID_g", "perplexity"):
        shown, unclear = separations(result["comparisons"], metric)
        reading.append(f"- **{metric}**: the data shows {', '.join(shown) or 'no difference'}; "
                       + (f"it cannot tell apart {', '.join(unclear)}." if unclear else "it tells every pair apart."))
    features = result["features"]
    small = [f"{dims} {kind}" for kind, dims in features.items() if result["stretches"] <= dims]
    caution = (f"\n**Caution:** {result['stretches']} independent stretches are fewer than the {' and '.join(small)} "
               "features, so the FIDs are biased upwards and noisy: read them against the pool floor and the "
               "intervals.\n" if small else "")
    skipped = "".join(f"\n- skipped: {note}" for note in result["skipped"])
    floor = (f"`real (pool floor)` is {result['floor_stretches']} stretches of real dance from the validation split, cut "
             "and filmed the same way: how far real dance of this sample size lands by chance."
             if result["floor_stretches"] else
             "The validation split gives too few stretches for a pool floor (`real (pool floor)`), so its row is left out.")
    cameras = ("cameras that turn with the dancer (`--follow`), at yaws from where the dancer faces"
               if settings.get("follow") else "cameras standing still at yaws")
    text = f"""# BopBot evaluation

{result['stretches']} held-out stretches ({settings['context_seconds']:g} s of real context, shorter where a take is
short, then {settings['seconds']:g} s to continue), each seen by {cameras}
{', '.join(f'{y:g}' for y in settings['yaws'])} (videos as filmed): {result['tests']} tests; {settings['seeds']} samples per test and
generator, temperature {settings['temperature']:g}, top-k {settings['top_k']}, top-p {settings['top_p']:g}, echo
{settings['echo']:g} (the GPT-2's favour for the context's words). Every row is scored against the same
reference, {result['pool_stretches']} {settings['seconds']:g}-second stretches of the training split. {floor} `oracle words` is the real continuation through the pose
words, moved back by the model's word decoder (`word_motion` without one), and the same joining as
`bopbot dance`: the ceiling for word generators. Pose-word
quantisation error on the held-out dances: {result['quantisation_error']:.3f} torso lengths.{skipped}

Each cell: the figure [95% bootstrap interval over stretches, {settings['resamples']} resamples].
{caution}
{markdown_table(result['table'])}

How each dance carries on from its context (`bopbot/evaluation/continuity.py`): the first new frame's distance
from the last real one over the dance's median step, the share of its pose words that the context's
last 10 s used (the user's own moves), its mean joint speed and acceleration over the context's (on
hip-centred, torso-scaled poses), the share of side-on frames and its change
from the last {VIEW_SECONDS:g} s of a frontal context, how far and how fast the hips travel (torso lengths),
and the share of frames with the whole dancer inside the picture.

{markdown_table(result['table'], CONTINUITY)}
{_music_section(result)}{_phone_section(result)}
## What separates

Differences between rows on the same stretches, resampled as pairs (bold: the interval excludes 0):

{comparison_table(result['comparisons'])}

{chr(10).join(reading)}

{_beat_section(result, folder)}
Reproduce: `{command}`

![metrics](metrics.png)

Mean joint speed of one sample each ({result['sample_name']}):

![joint speed](joint_speed.png)

The bopbot dancer, one sample per row (same stretch):

![samples](samples.png)
"""
    write_text_atomic(folder / "report.md", text)
    write_text_atomic(folder / "results.json", json.dumps({k: v for k, v in result.items()
                                                           if k not in ("samples", "features_by_row")}, indent=2))
    write_features(result["features_by_row"], folder / "features.npz")
    return folder / "report.md"


def write_features(features_by_row: dict, path: Path) -> None:
    """Every dance's kinetic and geometric features and the stretch it continues, by row of the
    held-out stretches, and the reference pool's features: what the table's FIDs and their
    intervals are computed from, so a reader can resample them again (`docs/evaluation_power.py`)
    without generating the dances anew.
    Keys are "row name/kinetic", "row name/geometric" and "row name/stretch"; numbers only, read with
    `np.load(path, allow_pickle=False)`."""
    arrays = {f"{name}/{key}": value for name, row in features_by_row.items() for key, value in row.items()}
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as file:
            np.savez_compressed(file, **arrays)


def read_features(path: str | Path) -> tuple[dict[str, RowScores], np.ndarray, np.ndarray]:
    """The rows of the held-out stretches from `write_features`'s file (their features and
    stretches, no other figures), and the pool's kinetic and geometric features. A file that is
    not one (damaged, or missing an array) is a BopBotError naming it."""
    import zipfile

    try:
        with np.load(path, allow_pickle=False) as saved:
            arrays = {key: saved[key] for key in saved.files}
        names = sorted({key.rsplit("/", 1)[0] for key in arrays} - {"pool"})
        rows = {name: RowScores(name, "held-out", arrays[f"{name}/stretch"], arrays[f"{name}/kinetic"],
                                arrays[f"{name}/geometric"]) for name in names}
        return rows, arrays["pool/kinetic"], arrays["pool/geometric"]
    except KeyError as exc:
        raise BopBotError(path, f"is not an evaluation's features.npz: it has no array {exc}") from None
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise BopBotError(path, f"cannot be read as an evaluation's features.npz ({exc})") from None
