"""`bopbot serve`: the web page, driven through `gradio_client` (the API users script against) and,
where Debian's Chromium and its driver are installed, through a real browser."""

from __future__ import annotations

import os
import shutil
import socket
from pathlib import Path

import av
import pytest

from bopbot.app.serve import serve


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def page():
    """The page of the embedded model, running in this process on a free local port."""
    app, url = serve(port=_free_port(), block=False, max_clip_seconds=30)
    yield url
    app.close()


def _seconds(path: str) -> float:
    with av.open(path) as container:
        stream = container.streams.video[0]
        return float(stream.frames / stream.average_rate)


def test_a_clip_dropped_on_the_page_comes_back_danced(page, data):
    from gradio_client import Client, handle_file

    client = Client(page, verbose=False)
    clip = data / "videos" / "controlvideo_moonwalk.mp4"
    video, gif, words, said = client.predict(handle_file(str(clip)), 2, "gpt2", 1.0, 3, "continue", None,
                                             api_name="/dance")
    assert _seconds(video) == pytest.approx(2.6 + 2.0, abs=0.15)  # the clip, then 2 s of new dance
    assert Path(gif).read_bytes()[:6] == b"GIF89a"
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
    with pytest.raises(AppError, match="drop a dance video first"):
        client.predict(None, 2, "gpt2", 1.0, 3, "continue", None, api_name="/dance")


def test_the_demo_dances_without_an_upload(page):
    from gradio_client import Client

    video, gif, words, said = Client(page, verbose=False).predict(None, 1, "ngram", 1.0, 0, "continue", None,
                                                                  api_name="/demo")
    assert _seconds(video) > 1.0 and len(words.split()) == 20 and "by `ngram`" in said


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
def test_in_a_browser_a_dropped_clip_plays_and_the_gif_downloads(page, data, tmp_path):
    """Set BOPBOT_SCREENSHOT=docs/serve.png to keep the page's picture (the README's)."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    browser = _browser()
    try:
        browser.get(page)
        wait = WebDriverWait(browser, 120)
        upload = wait.until(lambda b: b.find_element(By.CSS_SELECTOR, "input[type=file]"))
        upload.send_keys(str(data / "videos" / "controlvideo_moonwalk.mp4"))
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
