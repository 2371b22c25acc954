"""`bopbot serve`: the web page, driven through `gradio_client` (the API users script against) and,
where Debian's Chromium and its driver are installed, through a real browser."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import stat
import struct
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import av
import numpy as np
import pytest

from bopbot.app.results import Results
from bopbot.app.serve import serve
from bopbot.data.pose_sequence import PoseSequence


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def running():
    """The page of the embedded model, running in this process on a free local port."""
    page = serve(port=_free_port(), block=False, max_clip_seconds=30)
    yield page
    page.close()


@pytest.fixture(scope="module")
def page(running) -> str:
    """The running page's URL."""
    return running.url


def _seconds(path: str) -> float:
    with av.open(path) as container:
        stream = container.streams.video[0]
        return float(stream.frames / stream.average_rate)


def test_a_clip_dropped_on_the_page_comes_back_danced(page, puppet_video):
    from gradio_client import Client, handle_file

    client = Client(page, verbose=False)
    clip = puppet_video
    video, gif, words, said, files = client.predict(handle_file(str(clip)), 2, "gpt2", 1.0, 3, "continue", None,
                                             api_name="/dance")
    assert _seconds(video) == pytest.approx(3.0 + 2.0, abs=0.15)  # the clip, then 2 s of new dance
    assert gif is None and Path(client.predict(api_name="/gif")).read_bytes()[:6] == b"GIF89a"
    assert len(words.split()) == 40 and "2 s of new dance by `gpt2`" in said


def test_bad_uploads_get_a_message_naming_them(page, tmp_path):
    from gradio_client import Client, handle_file
    from gradio_client.exceptions import AppError

    client = Client(page, verbose=False)
    fake = tmp_path / "my_dance.mp4"
    fake.write_text("not a video\n")
    with pytest.raises(AppError) as raised:
        client.predict(handle_file(str(fake)), 2, "gpt2", 1.0, 3, "continue", None, api_name="/dance")
    assert str(raised.value).startswith("my_dance.mp4: is not a video file")
    poses = tmp_path / "poses.npz"  # a pose file names its music, which the server must not read
    PoseSequence(np.ones((40, 17, 3)), 20, (64, 64), "take", {"audio": "/etc/passwd"}).save(poses)
    with pytest.raises(AppError, match="poses.npz is not a video: the page dances from a video of you"):
        client.predict(handle_file(str(poses)), 2, "gpt2", 1.0, 3, "continue", None, api_name="/dance")
    playlist = tmp_path / "clip.m3u8"  # FFmpeg would follow it to a video elsewhere on the server
    playlist.write_text("#EXTM3U\n#EXTINF:3.0,\n/srv/videos/someone_else.mp4\n#EXT-X-ENDLIST\n")
    with pytest.raises(AppError, match="clip.m3u8: is a playlist or a list of other media"):
        client.predict(handle_file(str(playlist)), 2, "gpt2", 1.0, 3, "continue", None, api_name="/dance")
    with pytest.raises(AppError, match="drop a dance video first"):
        client.predict(None, 2, "gpt2", 1.0, 3, "continue", None, api_name="/dance")


def test_values_the_page_does_not_offer_get_a_message_naming_the_field(page, capfd):
    """Through the API a script can send any value: the page names the field and what it takes, and
    the server's terminal shows no traceback (Gradio's own check printed one)."""
    from gradio_client import Client
    from gradio_client.exceptions import AppError

    client = Client(page, verbose=False)
    sent = {"seconds of new dance: takes a number from 1 to 60, not 1000": (None, 1000, "gpt2", 1.0, 0),
            "temperature: takes a number from 0.1 to 2, not 'hot'": (None, 2, "gpt2", "hot", 0),
            "generator: takes one of gpt2, ": (None, 2, "gpt3", 1.0, 0),
            "seed (-1: a new dance each time): takes a number from -1 to 4294967295, not -5": (None, 2, "gpt2", 1.0, -5)}
    for said, values in sent.items():
        with pytest.raises(AppError) as raised:
            client.predict(*values, "continue", None, api_name="/demo")
        assert str(raised.value).startswith(said)
    with pytest.raises(AppError, match="also export, as a zip: takes any of openpose, .*, not \\['gif'\\]"):
        client.predict(None, 2, "gpt2", 1.0, 0, "continue", None, False, ["gif"], api_name="/demo")
    with pytest.raises(AppError, match="^top-p: takes a number from 0.01 to 1, not 0$"):
        client.predict(None, 2, "gpt2", 1.0, 0, "continue", None, top_p=0, api_name="/demo")
    assert "Traceback" not in capfd.readouterr().err


def test_a_setting_past_the_command_lines_range_is_one_line_on_the_page(page, capfd):
    """A script's NaN passes Gradio's range check (no comparison holds for it); the command line's
    check (`limits.LIMITS`) refuses it, said by the field's name, whether or not the generator reads it."""
    import json

    for generator in ("gpt2", "ngram"):
        data = [None, 1, generator, 1.0, 0, "continue", None, False, [], 0, float("nan"), 2.0]
        call = urllib.request.Request(f"{page}gradio_api/call/demo", data=json.dumps({"data": data}).encode(),
                                      headers={"Content-Type": "application/json"})
        event = json.load(urllib.request.urlopen(call, timeout=30))["event_id"]
        answer = urllib.request.urlopen(f"{page}gradio_api/call/demo/{event}", timeout=60).read().decode()
        assert "event: error" in answer and "top-p must be above 0 and at most 1, got nan" in answer, answer
    assert "Traceback" not in capfd.readouterr().err


def test_a_file_not_uploaded_to_the_page_gets_a_message(page, capfd):
    """A script naming a file on the server, or a file field that names none, got an empty error and
    a traceback in the server's terminal (Gradio's own refusal); now a message, and a quiet terminal."""
    import json

    for video in ({"path": "/etc/passwd", "meta": {"_type": "gradio.FileData"}}, "x", {"url": 3}):
        data = [video, 1, "ngram", 1.0, 0, "continue", None, False, [], 0, 1.0, 2.0]
        call = urllib.request.Request(f"{page}gradio_api/call/dance", data=json.dumps({"data": data}).encode(),
                                      headers={"Content-Type": "application/json"})
        event = json.load(urllib.request.urlopen(call, timeout=30))["event_id"]
        answer = urllib.request.urlopen(f"{page}gradio_api/call/dance/{event}", timeout=60).read().decode()
        assert "event: error" in answer and "must be files uploaded to the page" in answer, answer
    assert "Traceback" not in capfd.readouterr().err


def test_the_demo_dances_without_an_upload(page):
    """Its line names the demo's primer: it said "4 s of your dance found (0 frames without a
    dancer)" to a visitor who had given no dance."""
    import re

    from gradio_client import Client

    video, gif, words, said, files = Client(page, verbose=False).predict(None, 1, "ngram", 1.0, 0, "continue", None,
                                                                  api_name="/demo")
    assert _seconds(video) > 1.0 and len(words.split()) == 20 and "by `ngram`" in said
    assert re.match(r"the demo's [\d.]+ s primer, 1 s of new dance", said) and "your dance" not in said, said


def test_a_generator_that_reads_no_temperature_dances_whatever_the_slider_says(page):
    """The page shows its sampling settings for every generator; `nearest` reads none, which the
    Python API refuses when given, so the page gives it none, and says which it left out."""
    from gradio_client import Client

    video, gif, words, said, files = Client(page, verbose=False).predict(None, 1, "nearest", 0.5, 0, "continue", None,
                                                                         top_k=5, api_name="/demo")
    assert _seconds(video) > 1.0 and "by `nearest`" in said
    assert said.endswith(" `nearest` does not read temperature or top-k: they were left out."), said


def test_the_more_settings_reach_the_dance(page):
    """`bopbot dance`'s top-k, top-p and echo, on the page beside the temperature: top-k 1 writes
    the likeliest word each time, so one dance whatever the seed, where the default draws another
    dance for each seed (a setting the page dropped would leave the two pairs alike)."""
    from gradio_client import Client

    client = Client(page, verbose=False)

    def words(seed: int, **settings) -> str:
        return client.predict(None, 1, "gpt2", 1.0, seed, "continue", None, api_name="/demo", **settings)[2]

    drawn, likeliest = [words(seed) for seed in (0, 1)], [words(seed, top_k=1) for seed in (0, 1)]
    assert drawn[0] != drawn[1] and likeliest[0] == likeliest[1] != drawn[0]
    assert words(0, top_k=0, top_p=1.0, echo=2.0) == drawn[0]  # a seed's dance is the same again: the setting did it


def test_the_more_settings_are_closed_with_the_command_lines_defaults(page):
    import json

    from bopbot.models.sampling import Sampling

    config = json.load(urllib.request.urlopen(f"{page}config", timeout=30))
    props = {component["props"].get("label"): component["props"] for component in config["components"]}
    assert props["More settings"]["open"] is False
    assert {name: props[name]["value"] for name in ("temperature", "top-k", "top-p", "echo")} == {
        "temperature": Sampling.temperature, "top-k": Sampling.top_k, "top-p": Sampling.top_p, "echo": Sampling.echo}


def test_the_song_checkbox_says_which_layouts_it_changes(page):
    """The side-by-side and dancer-only videos play the song from the start whatever the checkbox
    says (`soundtrack`); it said nothing of it."""
    import json

    config = json.load(urllib.request.urlopen(f"{page}config", timeout=30))
    box = next(component["props"] for component in config["components"]
               if component["props"].get("label") == "the song plays under my clip too")
    assert "continue and skeleton layouts" in box.get("info", ""), box


def test_the_page_keeps_no_run_history(page):
    """Gradio's run history (a "Runs" link in the footer) kept, in the browser, links to dances the
    page removes an hour later: "Load run" then showed an empty video and dead downloads. It also
    offered to copy the dances into a Hugging Face bucket, past the page's private folder."""
    import json
    import urllib.error

    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(f"{page}gradio_api/runs", timeout=30)
    assert refused.value.code == 404
    config = json.load(urllib.request.urlopen(f"{page}config", timeout=30))
    assert config["run_history"] is False and "runs" not in config.get("footer_links", [])


def test_the_gif_is_made_from_the_video_in_a_step_of_its_own(page):
    """The page sends the dance as soon as its video is written; its GIF, frame for frame the video,
    is the next step (`/demo_gif`, which the page's button chains), made from this session's dance only."""
    from gradio_client import Client
    from gradio_client.exceptions import AppError

    client = Client(page, verbose=False)
    video, gif, words, said, files = client.predict(None, 1, "ngram", 1.0, 0, "continue", None, api_name="/demo")
    assert video and gif is None and len(words.split()) == 20
    gif = client.predict(api_name="/demo_gif")
    assert Path(gif).read_bytes()[:6] == b"GIF89a" and _frames(gif) == _frames(video)
    with pytest.raises(AppError, match="dance first"):  # another visitor has no dance to make it of
        Client(page, verbose=False).predict(api_name="/demo_gif")


def test_the_page_gives_the_poses_and_the_exports_of_a_skeleton_dance(page):
    """What the command line writes, from the page: the skeleton layout, the poses as `.npz` and
    the exports as one zip (no upload needed: the demo's primer)."""
    import zipfile

    from gradio_client import Client

    video, gif, words, said, files = Client(page, verbose=False).predict(
        None, 1, "ngram", 1.0, 0, "skeleton", None, False, ["openpose", "skeleton-png"], api_name="/demo")
    poses = next(Path(f) for f in files if f.endswith(".npz"))
    archive = next(Path(f) for f in files if f.endswith(".zip"))
    assert PoseSequence.load(poses).keypoints.shape == (20, 17, 3)
    with zipfile.ZipFile(archive) as opened:
        names = opened.namelist()
    json_files = [n for n in names if n.startswith("openpose/") and n.endswith("_keypoints.json")]
    pngs = [n for n in names if n.startswith("skeleton-png/") and n.endswith(".png")]
    assert len(json_files) == len(pngs) == _frames(video)  # the primer and the new dance, frame by frame
    with av.open(video) as container:
        frame = next(container.decode(video=0)).to_ndarray(format="rgb24")
    assert frame.mean() < 60  # skeletons on black


def _frames(path: str) -> int:
    with av.open(path) as container:
        return sum(1 for _ in container.decode(video=0))


def test_the_page_imports_the_real_matplotlib_before_anything_can_stand_it_in():
    """Gradio reads matplotlib's backend at every request; a stand-in put there while mediapipe
    imports (`pose_detector`, in the page's warm-up or a first dance) failed the request it met."""
    code = ("import sys, types\n"
            "from bopbot.app.results import Results\nfrom bopbot.app.serve import build_app\n"
            "results = Results()\n"
            "build_app(results=results)\n"
            "module = sys.modules.get('matplotlib')\n"
            "print(type(module) is types.ModuleType and hasattr(module, 'get_backend'))\n"
            "results.close()\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.stdout.strip().splitlines()[-1:] == ["True"], done.stderr[-2000:]


def test_the_servers_help_names_what_the_page_gives(capsys):
    """It named the MP4, the GIF and the pose words; the page gives the poses and the exports too."""
    from bopbot.app.cli import main

    with pytest.raises(SystemExit):
        main(["serve", "--help"])
    said = " ".join(capsys.readouterr().out.split())
    assert "exports" in said and "poses (.npz)" in said and "a zip" in said, said


def test_the_server_refuses_bad_options(capsys):
    from bopbot.app.cli import main

    assert main(["serve", "--port", "70000"]) == 1
    assert "--port must be" in capsys.readouterr().err


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")


needs_chromium = pytest.mark.skipif(not (CHROMIUM and DRIVER), reason="Debian's chromium and chromium-driver are "
                                    "not installed (apt-get install chromium chromium-driver)")


def _browser():
    """Headless Chromium (Debian's, with its driver: nothing is downloaded)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,1000"):
        options.add_argument(flag)
    return webdriver.Chrome(service=Service(DRIVER), options=options)


@needs_chromium
def test_in_a_browser_a_dropped_clip_plays_and_the_gif_downloads(page, puppet_video, tmp_path):
    """Set BOPBOT_SCREENSHOT=docs/serve.png to keep the page's picture (the README's)."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    browser = _browser()
    try:
        browser.get(page)
        wait = WebDriverWait(browser, 120)
        upload = wait.until(lambda b: b.find_element(By.CSS_SELECTOR, "input[type=file]"))
        upload.send_keys(str(puppet_video))
        wait.until(lambda b: b.find_elements(By.CSS_SELECTOR, "video"))
        browser.find_element(By.XPATH, "//button[normalize-space()='Dance']").click()
        duration = wait.until(lambda b: b.execute_script(
            "const v = document.querySelector('#result-video video');"
            "return v && v.readyState >= 1 && v.duration > 0 ? v.duration : null;"))
        assert duration > 0
        link = wait.until(lambda b: b.find_element(By.CSS_SELECTOR, "#result-gif a"))
        gif = browser.execute_script(
            "return fetch(arguments[0]).then(r => r.arrayBuffer()).then(b => Array.from(new Uint8Array(b).slice(0, 6)));",
            link.get_attribute("href"))
        assert bytes(gif) == b"GIF89a"
        browser.set_window_size(1280, 1250)
        browser.execute_script("window.scrollTo(0, 0);"
                               "const v = document.querySelector('#result-video video'); v.currentTime = v.duration - 1;")
        wait.until(lambda b: b.execute_script("return document.querySelector('#result-video video').readyState >= 2"))
        browser.save_screenshot(os.environ.get("BOPBOT_SCREENSHOT") or str(tmp_path / "page.png"))
    finally:
        browser.quit()


@needs_chromium
def test_in_a_browser_a_skeleton_dance_comes_with_its_export(page):
    """The demo danced as skeletons with an OpenPose export, and the zip downloaded from the page."""
    import io
    import zipfile

    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait

    browser = _browser()
    try:
        browser.get(page)
        wait = WebDriverWait(browser, 120)
        more = wait.until(lambda b: b.find_element(By.ID, "more-settings"))
        assert more.text.startswith("More settings") and "top-k" not in more.text  # shown closed
        layout = wait.until(lambda b: b.find_element(By.CSS_SELECTOR, "#layout input[role=combobox]"))
        layout.click()
        layout.send_keys(Keys.CONTROL, "a")
        layout.send_keys("skeleton")
        wait.until(lambda b: b.find_element(By.CSS_SELECTOR, "li[data-testid=dropdown-option]"))
        layout.send_keys(Keys.ENTER)
        browser.find_element(By.CSS_SELECTOR, "#exports input[name=openpose]").click()
        browser.find_element(By.XPATH, "//button[normalize-space()='Dance the demo']").click()
        link = wait.until(lambda b: next((a for a in b.find_elements(By.CSS_SELECTOR, "#result-files a")
                                          if a.get_attribute("href").split("?")[0].endswith(".zip")), None))
        data = browser.execute_script(
            "return fetch(arguments[0]).then(r => r.arrayBuffer()).then(b => Array.from(new Uint8Array(b)));",
            link.get_attribute("href"))
        with zipfile.ZipFile(io.BytesIO(bytes(data))) as opened:
            names = opened.namelist()
        assert names and all(n.startswith("openpose/") and n.endswith("_keypoints.json") for n in names)
        wait.until(lambda b: b.find_elements(By.CSS_SELECTOR, "#result-gif a"))  # the page's last step done
    finally:
        browser.quit()


@needs_chromium
def test_in_a_browser_a_text_file_named_mp4_gets_a_message(page, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    fake = tmp_path / "my_dance.mp4"
    fake.write_text("not a video\n")
    browser = _browser()
    try:
        browser.get(page)
        wait = WebDriverWait(browser, 60)
        wait.until(lambda b: b.find_element(By.CSS_SELECTOR, "input[type=file]")).send_keys(str(fake))
        browser.find_element(By.XPATH, "//button[normalize-space()='Dance']").click()
        said = wait.until(lambda b: [e.text for e in b.find_elements(By.CSS_SELECTOR, ".toast-body, .toast-text")
                                     if "my_dance.mp4" in e.text])
        assert any("is not a video file" in text for text in said), said
        assert not any("Traceback" in text or "/tmp/" in text for text in said), said
    finally:
        browser.quit()


# -- the page's files are private, and go when they should ----------------------------------------

def test_the_page_keeps_its_files_in_a_private_folder_of_its_own(running, page):
    from gradio_client import Client

    root = running.results.root
    info = root.lstat()
    assert stat.S_ISDIR(info.st_mode) and stat.S_IMODE(info.st_mode) == 0o700 and info.st_uid == os.geteuid()
    assert root.name.startswith(f"bopbot-serve-{os.getpid()}-")  # made for this server, not a fixed name
    assert os.environ["GRADIO_TEMP_DIR"] == str(running.results.gradio)
    Client(page, verbose=False).predict(None, 1, "ngram", 1.0, 0, "continue", None, api_name="/demo")
    dances = [folder for folder in root.iterdir() if folder.name != "gradio"]
    assert dances and all(stat.S_IMODE(folder.stat().st_mode) == 0o700 for folder in dances)
    assert any((folder / "bopbot-dance.mp4").is_file() for folder in dances)
    assert list(running.results.gradio.rglob("*.mp4"))  # Gradio's copies are in there too


def test_a_gif_is_made_only_of_a_video_the_page_still_keeps(tmp_path):
    """The GIF step reads its video from the session, but checks it anyway: a file outside the
    page's own dance folders, or a dance already swept, is refused in one line, and nothing is made."""
    from bopbot.app.serve import Dancer as PageDancer
    from bopbot.errors import BopBotError

    results = Results(tmp_path / "results")
    try:
        dancer = PageDancer(None, results)
        outside = tmp_path / "bopbot-dance.mp4"
        outside.write_bytes(b"not the page's")
        swept = results.new_folder() / "bopbot-dance.mp4"  # a folder the sweep emptied
        for video in (str(outside), str(swept), "/etc/passwd"):
            with pytest.raises(BopBotError, match="files have been removed"):
                dancer.gif(video, lambda *args, **kwargs: None)
        with pytest.raises(BopBotError, match="dance first"):
            dancer.gif(None, lambda *args, **kwargs: None)
        assert not list(tmp_path.rglob("*.gif"))
    finally:
        results.close()


def test_results_are_swept_on_a_timer_without_requests_and_all_go_at_the_stop():
    results = Results(keep_seconds=0.3, sweep_seconds=0.1)
    old = results.new_folder()
    (old / "bopbot-dance.mp4").write_bytes(b"an hour-old dance")
    deadline = time.monotonic() + 10
    while old.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not old.exists()
    results.new_folder()
    results.close()
    assert not results.root.exists()


def test_a_results_folder_others_can_enter_or_a_link_is_refused(tmp_path):
    from bopbot.errors import BopBotError

    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o755)
    with pytest.raises(BopBotError, match="others can enter this folder"):
        Results(shared)
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    os.symlink(private, tmp_path / "planted")
    with pytest.raises(BopBotError, match="not a link"):
        Results(tmp_path / "planted")
    named = Results(tmp_path / "mine" / "results")
    assert stat.S_IMODE((tmp_path / "mine" / "results").stat().st_mode) == 0o700
    dance = named.new_folder()
    named.close()
    assert not dance.exists() and (tmp_path / "mine" / "results").is_dir()  # the folder is the user's: kept


def test_a_named_results_folder_keeps_what_was_there_and_two_servers_share_it(tmp_path):
    """The server's files lie in a folder of its own inside --results: the user's own files there,
    even ones named like Gradio's or a dance's, are not touched, nor is another server's folder."""
    folder = tmp_path / "results"
    mine = [folder / "gradio" / "notes.txt", folder / ("0123456789abcdef" * 2) / "a.txt"]
    for path in mine:
        path.parent.mkdir(parents=True)
        path.write_text("mine\n")
    folder.chmod(0o700)
    one, other = Results(folder, keep_seconds=0), Results(folder, keep_seconds=0)
    dance = one.new_folder()
    other.sweep()
    assert dance.is_dir()
    one.sweep()
    one.close()
    assert not one.root.exists() and other.root.is_dir() and all(path.read_text() == "mine\n" for path in mine)
    other.close()
    assert sorted(path.name for path in folder.iterdir()) == ["0123456789abcdef" * 2, "gradio"]


def test_a_killed_servers_files_are_removed_by_the_next_server():
    ended = subprocess.Popen(["true"])
    ended.wait()
    orphan = Path(tempfile.gettempdir()) / f"bopbot-serve-{ended.pid}-abcdefgh"
    (orphan / ("0" * 32)).mkdir(parents=True)
    results = Results()
    try:
        assert not orphan.exists()
    finally:
        results.close()


def test_sigterm_stops_the_page_and_removes_its_files(tmp_path):
    port = _free_port()
    server = subprocess.Popen([sys.executable, "-m", "bopbot", "serve", "--port", str(port)],
                              env={**os.environ, "TMPDIR": str(tmp_path)}, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1).close()
                break
            except OSError:
                time.sleep(0.2)
        roots = list(tmp_path.glob("bopbot-serve-*"))
        assert len(roots) == 1 and (roots[0] / "gradio").is_dir()
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=60) == 0, server.stderr.read()
        assert not roots[0].exists()
        said = server.stdout.read()  # its own address line, not Gradio's advice to call launch(share=True)
        assert f"BopBot's page is at http://127.0.0.1:{port}/" in said and "share=True" not in said
    finally:
        server.kill()


def test_a_song_that_is_no_audio_is_named_as_the_user_named_it(page, tmp_path):
    from gradio_client import Client, handle_file
    from gradio_client.exceptions import AppError

    midi = tmp_path / "song.mid"
    midi.write_bytes(b"MThd\x00\x00\x00\x06\x00\x00\x00\x01\x00\x60MTrk\x00\x00\x00\x04\x00\xff\x2f\x00")
    with pytest.raises(AppError) as raised:
        Client(page, verbose=False).predict(None, 1, "ngram", 1.0, 0, "continue", handle_file(str(midi)),
                                            api_name="/demo")
    said = str(raised.value)
    assert said.startswith("song.mid: ") and "/" not in said and "exception" not in said, said


def test_a_clip_longer_than_the_page_takes_is_refused_whatever_its_header_says(page, tmp_path):
    from gradio_client import Client, handle_file
    from gradio_client.exceptions import AppError

    clip = tmp_path / "short.mkv"  # 32 s of frames, a header that says 2 s: the page takes 30 s
    with av.open(str(clip), "w") as output:
        stream = output.add_stream("libx264", rate=20)
        stream.width, stream.height, stream.pix_fmt = 64, 64, "yuv420p"
        for number in range(32 * 20):
            output.mux(stream.encode(av.VideoFrame.from_ndarray(np.full((64, 64, 3), number % 200, np.uint8),
                                                                format="rgb24")))
        output.mux(stream.encode())
    data = bytearray(clip.read_bytes())
    at = data.index(b"\x44\x89\x88")  # Matroska's Duration, milliseconds as an 8-byte float
    data[at + 3:at + 11] = struct.pack(">d", 2000.0)
    clip.write_bytes(bytes(data))
    with pytest.raises(AppError, match=r"short.mkv: is longer than 30 s"):
        Client(page, verbose=False).predict(handle_file(str(clip)), 1, "ngram", 1.0, 0, "continue", None,
                                            api_name="/dance")
