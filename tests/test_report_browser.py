"""report.html of a relax, a compare and a gradcheck run, opened in a real headless browser.

Chromium loads each page from disk (nothing injected): its console must stay silent, the DOM it
builds must reference only images that exist and decode, and its screenshot must not be blank.
Skipped when chromium is not installed (.ci/run installs it).
"""
from __future__ import annotations

import shutil
import subprocess
import tempfile
from html.parser import HTMLParser
from pathlib import Path

import matplotlib.image as mpimg
import numpy as np
import pytest
from rundirs import compare_run, gradcheck_run, relax_run

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed "
                                "(apt-get install -y chromium); the headless-browser report test needs it")

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--enable-logging=stderr", "--v=0"]


def chromium(page: Path, *args: str) -> subprocess.CompletedProcess:
    with tempfile.TemporaryDirectory(prefix="neurosim-chromium-") as profile:
        return subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *args, page.resolve().as_uri()],
                              capture_output=True, text=True, timeout=120)


class Refs(HTMLParser):
    def __init__(self):
        super().__init__()
        self.images, self.links, self.title = [], [], ""
        self._in_title = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "img":
            self.images.append(a.get("src", ""))
        elif tag == "a":
            self.links.append(a.get("href", ""))
        self._in_title = tag == "title"

    def handle_data(self, data):
        if self._in_title:
            self.title += data

    def handle_endtag(self, tag):
        self._in_title = False


def console_errors(stderr: str) -> list[str]:
    """Lines chromium logs for page console messages and failed loads."""
    return [ln for ln in stderr.splitlines()
            if "CONSOLE" in ln or "Failed to load resource" in ln or "ERR_FILE_NOT_FOUND" in ln]


@pytest.mark.parametrize("build, verb, scenario, tables", [
    (relax_run, "run", "quickstart", 1),
    (compare_run, "compare", "digits_small", 1),
    (gradcheck_run, "gradcheck", "gradcheck_layered", 2),
])
def test_report_in_headless_chromium(build, verb, scenario, tables, tmp_path):
    run_dir = build()
    page = run_dir / "report.html"
    assert page.is_file()

    dom = chromium(page, "--dump-dom")
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert not console_errors(dom.stderr), console_errors(dom.stderr)
    refs = Refs()
    refs.feed(dom.stdout)
    assert verb in refs.title and scenario in refs.title, refs.title
    assert dom.stdout.count("<table") >= tables
    assert refs.images, "no figure on the page"
    for src in refs.images:                   # every image exists and decodes to a non-blank picture
        img = mpimg.imread(run_dir / src)
        assert img.ndim == 3 and min(img.shape[:2]) > 100, src
        assert img[..., :3].std() > 0.02, f"{src} is blank"
    for href in refs.links:                   # the file list and sub-run links point at real files
        if not href.startswith(("http:", "https:", "#", "data:")):
            assert (run_dir / href).exists(), href
    # the page leads with its table and figures: the first image comes before the folded details
    html = dom.stdout
    assert html.index("<img") < html.index("<details") if "<details" in html else True

    shot = tmp_path / "shot.png"
    res = chromium(page, f"--screenshot={shot}", "--window-size=1200,2000")
    assert res.returncode == 0 and shot.is_file(), res.stderr[-2000:]
    assert not console_errors(res.stderr), console_errors(res.stderr)
    img = mpimg.imread(shot)[..., :3]
    assert img.shape[:2] == (2000, 1200)
    ink = (img.mean(axis=2) < 0.9).mean()       # text, tables and figures on a white page
    assert img.std() > 0.05 and ink > 0.02, (img.std(), ink)
    colour = (img.max(axis=2) - img.min(axis=2) > 0.25).mean()
    assert colour > 0.002, "no coloured figure content rendered"
    assert np.isfinite(img).all()


def test_console_errors_are_seen(tmp_path):
    """The console check above can fail: a page that logs an error is caught."""
    page = tmp_path / "bad.html"
    page.write_text('<html><body><script>console.error("boom")</script></body></html>')
    res = chromium(page, "--dump-dom")
    assert any("boom" in ln for ln in console_errors(res.stderr)), res.stderr[-2000:]
