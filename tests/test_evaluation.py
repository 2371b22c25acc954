"""`bopbot evaluate`: stretches, intervals that resample whole stretches, and the report end to end."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from bopbot.app.cli import main
from bopbot.errors import BopBotError
from bopbot.evaluation.bootstrap import RowScores, compare_rows, keep_stretches, summarise
from bopbot.evaluation.settings import EvalSettings
from bopbot.evaluation.stretches import View, cut_stretches, held_out_views
from bopbot.evaluation.report import REPORT_FILES, read_features


def _view(take: str, camera: str, seconds: float) -> View:
    frames = round(seconds * 20)
    return View(take, camera, np.ones((frames, 17, 3), dtype=np.float32), np.tile([50.0, 50.0, 10.0], (frames, 1)),
                (100, 100), "song.mp3", 2.0)


def test_stretches_cover_every_take_and_short_takes_get_a_shorter_context():
    settings = EvalSettings(context_seconds=8, seconds=10, min_context_seconds=4)
    views = [_view("long", camera, 40.0) for camera in ("yaw 0", "yaw 90")] + [_view("short", "yaw 0", 15.0),
                                                                                  _view("tiny", "yaw 0", 12.0)]
    cut = cut_stretches(views, settings)
    long = [t for t in cut.tests if t.name.startswith("long")]
    assert len(long) == 2 * 3  # starts 0, 10, 20 s: continuations 8-18, 18-28, 28-38 s never overlap
    assert [t.stretch for t in long] == [0, 1, 2, 0, 1, 2]  # the cameras of a stretch are one sample
    assert [t.audio_start for t in long[:3]] == [2.0 + 8, 2.0 + 18, 2.0 + 28]  # where each continuation is in the song
    short = [t for t in cut.tests if t.name.startswith("short")]
    assert len(short) == 1 and len(short[0].context) == 5 * 20 and len(short[0].continuation) == 10 * 20
    assert cut.stretches == 4 and cut.skipped == ["tiny: 12.0 s, shorter than 4 s of context + 10 s to continue"]


def test_a_tang_take_is_tested_against_its_music_at_the_stated_offset(data):
    take = data / "mocap" / "tang2018" / "DANCE_C_7"
    start_position = json.loads((take / "config.json").read_text())["start_position"]
    cut = cut_stretches(held_out_views([str(take)], EvalSettings(yaws=(0.0,))), EvalSettings())
    assert cut.tests[0].audio.endswith("DANCE_C_7/audio.mp3")
    assert [t.audio_start for t in cut.tests[:2]] == pytest.approx([start_position / 25 + 8, start_position / 25 + 18])


def _row(name: str, stretches: np.ndarray, shift: float, rng: np.random.Generator) -> RowScores:
    """Dances whose features scatter around `shift`; each stretch adds its own offset, shared by its dances."""
    offsets = rng.normal(size=(stretches.max() + 1, 1))
    kinetic = rng.normal(size=(len(stretches), 3)) + offsets[stretches] + shift
    row = RowScores(name, "held-out", stretches, kinetic, kinetic[:, :2].copy())
    row.per_dance["jitter"] = kinetic[:, 0]
    return row


def test_intervals_resample_stretches_and_pairs_separate_only_real_differences():
    rng = np.random.default_rng(0)
    stretches = np.repeat(np.arange(30), 8)  # 30 stretches, 8 dances each (cameras x seeds)
    pool = rng.normal(size=(500, 3))
    rows = {"same": _row("same", stretches, 0.0, rng), "shifted": _row("shifted", stretches, 2.0, rng)}
    rows["twin"] = RowScores("twin", "held-out", stretches, rows["same"].kinetic + 1e-3, rows["same"].geometric,
                             {"jitter": rows["same"].per_dance["jitter"]})
    table, draws = summarise(rows, {"held-out": 30}, pool, pool[:, :2], resamples=300)
    for row in table.values():
        for figure in ("FID_k", "Div_k", "jitter"):
            assert row[figure]["low"] <= row[figure]["value"] <= row[figure]["high"]
        assert row["dances"] == 240 and row["stretches"] == 30 and row["BAS"] is None
    # dances within a stretch share its offset: the interval of the mean is that of 30 samples, not 240
    width = table["same"]["jitter"]["high"] - table["same"]["jitter"]["low"]
    assert width > 2 * 1.96 * 1.0 / np.sqrt(30) * 0.7
    comparisons = {(c["first"], c["second"], c["metric"]): c for c in compare_rows(draws, list(rows))}
    assert comparisons[("same", "shifted", "FID_k")]["separated"]
    assert comparisons[("same", "shifted", "FID_k")]["high"] < 0  # "same" is nearer the pool
    assert not comparisons[("same", "twin", "FID_k")]["separated"]


def test_a_subset_of_stretches_is_summarised_on_its_own():
    rng = np.random.default_rng(1)
    stretches = np.repeat(np.arange(10), 4)
    row = _row("row", stretches, 0.0, rng)
    row.log_loss, row.words, row.loss_stretch = np.ones(10) * 20.0, np.full(10, 10), np.arange(10)
    subset = keep_stretches(row, np.array([2, 5, 7]))
    assert subset.stretch.tolist() == [0] * 4 + [1] * 4 + [2] * 4
    np.testing.assert_array_equal(subset.kinetic, row.kinetic[np.isin(stretches, [2, 5, 7])])
    assert subset.loss_stretch.tolist() == [0, 1, 2]
    table, _ = summarise({"row": subset}, {"held-out": 3}, rng.normal(size=(100, 3)), rng.normal(size=(100, 2)), 50)
    assert table["row"]["stretches"] == 3 and table["row"]["perplexity"]["value"] == pytest.approx(np.e ** 2)


def test_evaluate_writes_the_table_with_intervals_and_reference_rows(data, tiny_model, small_corpus, tmp_path):
    take = data / "mocap" / "tang2018" / "DANCE_R_8"
    assert main(["evaluate", str(take), "--model", str(tiny_model), "--corpus", str(small_corpus),
                 "--generators", "gpt2,lstm,random,ngram,nearest,gpt2+beats,gpt2-music", "--yaws", "0,180", "--context-seconds", "4",
                 "--seconds", "5", "--seeds", "2", "--resamples", "50", "-o", str(tmp_path), "-q"]) == 0
    results = json.loads((tmp_path / "results.json").read_text())
    table = results["table"]
    names = [n for n in table if n != "real (pool floor)"]
    assert names == ["real (held-out)", "oracle words", "gpt2", "lstm", "random", "ngram", "nearest", "gpt2+beats",
                     "gpt2-music"]
    stretches = table["real (held-out)"]["stretches"]
    assert stretches == results["stretches"] >= 10 and table["gpt2"]["dances"] == 2 * 2 * stretches
    for name in names:
        assert table[name]["FID_k"]["low"] <= table[name]["FID_k"]["value"] <= table[name]["FID_k"]["high"]
    assert table["nearest"]["copy_seconds"]["value"] > table["random"]["copy_seconds"]["value"]
    # the beat score only for dances made with the music, always beside its shifted-music null
    assert table["real (held-out)"]["BAS"] is not None and table["real (held-out)"]["BAS_null"] is not None
    assert table["gpt2"]["BAS"] is None and table["nearest"]["BAS"] is None
    on_beat = table["gpt2+beats"]  # the GPT-2's dances played on the beat of the take's song
    assert on_beat["BAS"]["value"] > on_beat["BAS_null"]["value"] + 0.1 and on_beat["perplexity"] is None
    assert table["gpt2-music"]["BAS"] is not None and table["gpt2-music"]["BAS_null"] is not None  # it heard the song
    # played on the beat, the dancer's stops and its sharpest changes of speed keep the beat; the Tang
    # dancer's own do not. (This 60-step GPT-2 writes near-random words, each a stop of its own, so the
    # readings of single limbs are left to the embedded model's test in test_music.py.)
    for reading in ("R_normalised", "R_canvas", "R_acceleration"):
        assert on_beat[reading]["value"] > on_beat["R_chance"]["value"] + 0.15, reading
        assert on_beat[reading]["value"] > table["real (held-out)"][reading]["value"] + 0.1, reading
    assert table["gpt2"]["R_canvas"] is None and on_beat["energy_r"] is not None
    assert "## How the dances follow their music" in (tmp_path / "report.md").read_text()
    assert table["gpt2"]["perplexity"] is not None and table["nearest"]["perplexity"] is None
    assert table["random"]["perplexity"]["value"] > table["ngram"]["perplexity"]["value"]
    pairs = {(c["first"], c["second"]) for c in results["comparisons"]}
    assert ("gpt2", "ngram") in pairs and ("oracle words", "real (held-out)") in pairs
    # how each dance carries on: real dances join with their own step and stay in the picture
    assert 0.5 < table["real (held-out)"]["join"]["value"] < 2.0
    for name in names:
        assert table[name]["inside_frame"]["value"] == 1.0
        assert table[name]["hip_excursion"]["value"] > 0.0 and 0.0 <= table[name]["side_on"]["value"] <= 1.0
    report = (tmp_path / "report.md").read_text()
    assert "| real (held-out) |" in report and "## What separates" in report and " [" in report
    assert "hip excursion" in report
    for plot in ("metrics.png", "joint_speed.png", "samples.png", "beat_shift.png"):
        assert (tmp_path / plot).stat().st_size > 5_000
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted(REPORT_FILES)  # what the input check guards


def test_evaluate_follow_films_the_held_out_mocap_from_the_front_and_scores_the_motion_ratios(fixtures, tiny_model,
                                                                                               small_corpus, tmp_path,
                                                                                               capsys):
    """`--follow`: the held-out take filmed by cameras that turn with the dancer; the floor comes
    only from corpus views filmed the same way (the small corpus has none: no floor row, and the
    report says so). The take has no music, so `ngram+beats` would be the same dances as `ngram`:
    it is left out with a warning."""
    take = fixtures / "cmu_salsa_held_out" / "60_12_excerpt.bvh"
    assert main(["evaluate", str(take), "--model", str(tiny_model), "--corpus", str(small_corpus), "--follow",
                 "--yaws", "0,30", "--generators", "ngram,ngram+beats", "--context-seconds", "4", "--seconds", "4",
                 "--seeds", "1", "--resamples", "50", "-o", str(tmp_path), "-q"]) == 0
    assert "bopbot: warning: no held-out take has music: ngram+beats left out" in capsys.readouterr().err
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["settings"]["follow"] is True and "following" in results["sample_name"]
    assert "real (pool floor)" not in results["table"]
    written = sorted(path.name for path in tmp_path.iterdir())  # what the input check guards, but the beats' plot
    assert written == sorted(set(REPORT_FILES) - {"beat_shift.png"})
    real, ngram = results["table"]["real (held-out)"], results["table"]["ngram"]
    for row in (real, ngram):
        assert row["speed_ratio"]["low"] <= row["speed_ratio"]["value"] <= row["speed_ratio"]["high"]
        assert row["acceleration_ratio"]["value"] > 0
    assert 0.5 < real["speed_ratio"]["value"] < 2.0  # a real continuation moves about as its context did
    assert "ngram+beats" not in results["table"]
    report = (tmp_path / "report.md").read_text()
    assert "joint speed / the user's" in report and "too few stretches for a pool floor" in report
    # every dance's features are kept beside the report, and give the table's FID_k again
    rows, pool_kinetic, pool_geometric = read_features(tmp_path / "features.npz")
    assert sorted(rows) == ["ngram", "oracle words", "real (held-out)"]
    assert len(rows["ngram"].stretch) == ngram["dances"] and pool_kinetic.shape[1] == results["features"]["kinetic"]
    again, _ = summarise({"ngram": rows["ngram"]}, {"held-out": ngram["stretches"]}, pool_kinetic, pool_geometric, 50)
    assert again["ngram"]["FID_k"]["plug_in"] == pytest.approx(ngram["FID_k"]["plug_in"])


def test_evaluate_scores_by_default_the_generators_the_model_folder_has(fixtures, tiny_model, small_corpus, tmp_path,
                                                                          capsys):
    """The README's model (vocabulary, decoder, GPT-2, travel model) has no LSTM, n-gram or nearest:
    `bopbot evaluate` without --generators scores what it has, as its help says, where it stopped
    with "ngram.safetensors: missing" once the GPT-2's dances were made. A generator asked for and
    missing is said before the held-out dances are read (here a take too short for any stretch)."""
    model = tmp_path / "model"
    shutil.copytree(tiny_model, model, ignore=shutil.ignore_patterns("*checkpoint", "music", "lstm.*", "ngram.*",
                                                                     "sentences.*"))
    take = fixtures / "cmu_salsa_held_out" / "60_12_excerpt.bvh"
    common = ["--model", str(model), "--corpus", str(small_corpus), "--follow", "--context-seconds", "4"]
    assert main(["evaluate", str(take), *common, "--yaws", "0", "--seconds", "4", "--seeds", "1",
                 "--resamples", "20", "-o", str(tmp_path / "report"), "-q"]) == 0
    rows = json.loads((tmp_path / "report" / "results.json").read_text())["table"]
    assert [name for name in rows if not name.startswith(("real", "oracle"))] == ["gpt2", "random"]
    capsys.readouterr()
    assert main(["evaluate", str(take), *common, "--seconds", "600", "--generators", "gpt2,ngram",
                 "-o", str(tmp_path / "again")]) == 1
    assert capsys.readouterr().err == (f"bopbot: error: {model / 'ngram.safetensors'}: missing: train it with "
                                       "`bopbot train CORPUS --model DIR --generator ngram`\n")
    assert not (tmp_path / "again").exists()


def test_the_generators_evaluate_takes_are_named_with_their_beat_rows(tmp_path, capsys):
    """`--generators` is checked against the generators and their `+beats` rows, and both its help
    and its error list them: the help said only "comma-separated", the error left `+beats` out."""
    from bopbot.evaluation.evaluate import evaluate

    with pytest.raises(BopBotError) as raised:
        evaluate(tmp_path / "model", tmp_path / "corpus", ["take.bvh"], ["gpt2+beats", "gtp2"])
    assert str(raised.value) == ("unknown generator(s) gtp2; known: gpt2, gpt2-music, lstm, random, ngram, nearest, "
                                 "each also with +beats (gpt2+beats: played on the beat)")
    with pytest.raises(SystemExit):
        main(["evaluate", "--help"])
    helped = " ".join(capsys.readouterr().out.split())
    assert "comma-separated, from gpt2, gpt2-music, lstm, random, ngram, nearest, each also with +beats" in helped


def test_a_damaged_or_foreign_features_file_is_one_error_naming_it(tmp_path):
    damaged = tmp_path / "features.npz"
    damaged.write_bytes(b"PK\x03\x04 not a zip")
    with pytest.raises(BopBotError, match="features.npz.*cannot be read"):
        read_features(damaged)
    foreign = tmp_path / "other.npz"
    np.savez(foreign, gpt2_kinetic=np.zeros((2, 3)))
    with pytest.raises(BopBotError, match="other.npz.*has no array"):
        read_features(foreign)
