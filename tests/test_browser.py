"""The built book, read in a real browser (headless Chromium) the way a reader sees it.

Run after `make book` (``make test`` does both). Every page of ``_build/html`` is served on
localhost and visited: no console errors, every equation typeset by the locally served MathJax,
every image loaded, every glued number present, every internal link resolving, launch buttons
pointing at each chapter's paired notebook. A full-page screenshot of each page is saved under
``_build/screenshots/``.
"""

from __future__ import annotations

import functools
import os
import re
import threading
import time
import urllib.error
import urllib.request
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urldefrag, urljoin, urlparse

import pytest
import yaml

import notebooks

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]
BUILD = notebooks.build_folder()
HTML = BUILD / "html"
SCREENSHOTS = BUILD / "screenshots"
CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
GLUE_ROLE = re.compile(r"\{glue(?::text|:)?\}`")


def pages() -> list[str]:
    """Every HTML page of the build (relative paths), the table of contents' pages first."""
    if not HTML.is_dir():
        return []
    toc = [f"{name}.html" for name in notebooks.toc_files(ROOT)]
    rest = sorted(
        str(p.relative_to(HTML)) for p in HTML.rglob("*.html")
        if p.relative_to(HTML).parts[0] not in {"_static", "_sources", "_images"}
    )
    return toc + [p for p in rest if p not in toc]


def _browsers_own_favicon_guess(message: str) -> bool:
    """Jupyter Book's root index.html is a bare redirect with no icon link, so Chromium may guess
    /favicon.ico before it follows the redirect (seen once in many CI runs); every book page links
    its icon, _static/favicon.svg, and a 404 for that would still fail."""
    return urlparse(message.split()[0]).path == "/favicon.ico" and " 404 " in message


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def server():
    assert HTML.is_dir(), f"{HTML} is missing: run `make book` first"
    handler = functools.partial(_QuietHandler, directory=str(HTML))
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    for tool in (CHROMIUM, CHROMEDRIVER):
        assert Path(tool).exists(), f"{tool} is missing: run `make system-deps` (Debian chromium, chromium-driver)"
    os.environ["SE_OFFLINE"] = "true"  # never let Selenium Manager try to download a browser
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--window-size=1280,1000",
                 f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER))
    driver.set_page_load_timeout(60)
    driver.set_script_timeout(60)
    yield driver
    driver.quit()


JS_REPORT = """
const abs = el => el.href || el.src;
const imgs = [...document.images];
return {
  mathBlocks: document.querySelectorAll('div.math').length,
  typesetBlocks: document.querySelectorAll('div.math mjx-container').length,
  mathInline: document.querySelectorAll('span.math').length,
  typesetInline: document.querySelectorAll('span.math mjx-container').length,
  texErrors: document.querySelectorAll('mjx-merror').length,
  images: imgs.length,
  brokenImages: imgs.filter(i => !(i.complete && i.naturalWidth > 0)).map(abs),
  links: [...document.querySelectorAll('a[href]')].map(a => a.href),
  assets: [...document.querySelectorAll('script[src], link[rel=stylesheet], img[src]')].map(abs),
  pasted: document.querySelectorAll('.pasted-text, .pasted-inline').length,
  text: document.body.innerText,
  // the folded parts too (an exercise's solution in a closed dropdown)
  allText: document.body.textContent,
};
"""

WAIT_FOR_TYPESETTING = """
const done = arguments[arguments.length - 1];
const settle = () => document.fonts.ready.then(() => done('ok'));
if (document.querySelector('.math') === null) { settle(); return; }
if (!window.MathJax || !MathJax.startup) { done('MathJax never loaded'); return; }
MathJax.startup.promise.then(settle).catch(e => done('MathJax failed: ' + e));
"""


def _screenshot(driver, target: Path) -> None:
    """A full-page PNG, written atomically: the viewport is stretched to the page's height, so
    sticky headers and sidebars sit where a reader sees them."""
    import base64

    from nnbook.io import write_bytes_atomic

    height = min(driver.execute_script("return document.documentElement.scrollHeight"), 30000)
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                           {"width": 1280, "height": height, "deviceScaleFactor": 1, "mobile": False})
    try:
        driver.execute_script("window.scrollTo(0, 0)")
        shot = driver.execute_cdp_cmd("Page.captureScreenshot", {"format": "png"})
    finally:
        driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
    write_bytes_atomic(target, base64.b64decode(shot["data"]))


class _Fetcher:
    """Fetches same-site URLs once each, for the link checks."""

    def __init__(self) -> None:
        self.cache: dict[str, tuple[int, str]] = {}

    def get(self, url: str) -> tuple[int, str]:
        if url not in self.cache:
            try:
                with urllib.request.urlopen(url, timeout=10) as response:
                    body = response.read().decode("utf-8", "replace") if url.endswith(".html") else ""
                    self.cache[url] = (response.status, body)
            except urllib.error.HTTPError as error:
                self.cache[url] = (error.code, "")
        return self.cache[url]


@pytest.fixture(scope="module")
def summary():
    totals = {"pages": 0, "display_equations": 0, "inline_equations": 0, "images": 0,
              "glued_values": 0, "internal_links": 0}
    started = time.monotonic()
    yield totals
    totals["seconds"] = round(time.monotonic() - started, 1)
    print(f"\nbrowser test summary: {totals}")
    if HTML.is_dir():
        from nnbook.io import write_text_atomic
        import json

        write_text_atomic(SCREENSHOTS / "summary.json", json.dumps(totals, indent=2) + "\n")


@pytest.fixture(scope="module")
def fetcher() -> _Fetcher:
    return _Fetcher()


def _launch_links(page: str) -> tuple[str, str]:
    """The Binder and Colab addresses a chapter's launch buttons must have (from _config.yml)."""
    repo = urlparse(CONFIG["repository"]["url"]).path.strip("/")
    branch = CONFIG["repository"]["branch"]
    notebook = page.removesuffix(".html") + ".ipynb"
    binder = f"{CONFIG['launch_buttons']['binderhub_url']}/v2/gh/{repo}/{branch}?urlpath=lab/tree/{notebook}"
    colab = f"{CONFIG['launch_buttons']['colab_url']}/github/{repo}/blob/{branch}/{notebook}"
    return binder, colab


def _markdown_text(value: str) -> str:
    """The text a glued Markdown value shows: without its emphasis and code marks."""
    return re.sub(r"\*\*|\*|`", "", value)


def _plain(text: str) -> str:
    """Text with every run of white space (no-break and thin spaces included) as one space."""
    return " ".join(text.split())


PAGES = pages()
CHAPTER_PAGES = {f"{md.relative_to(ROOT).with_suffix('')}.html" for md in notebooks.chapters(ROOT)}


def test_the_build_has_every_page() -> None:
    assert HTML.is_dir(), f"{HTML} is missing: run `make book` first"
    for name in notebooks.toc_files(ROOT):
        assert (HTML / f"{name}.html").is_file(), f"{name}.html was not built"


@pytest.mark.parametrize("page", PAGES)
def test_page_in_browser(page: str, server: str, browser, fetcher: _Fetcher, summary: dict) -> None:
    url = urljoin(server, page)
    browser.get(url)
    assert browser.execute_async_script(WAIT_FOR_TYPESETTING) == "ok"
    browser.execute_script("window.scrollTo(0, document.body.scrollHeight)")
    report = browser.execute_script(JS_REPORT)
    errors = [e["message"] for e in browser.get_log("browser") if e["level"] == "SEVERE"
              and not _browsers_own_favicon_guess(e["message"])]
    assert not errors, f"console errors on {page}: {errors}"

    # Equations: every display and inline formula typeset by MathJax, none with a TeX error.
    assert report["typesetBlocks"] == report["mathBlocks"], f"{page}: untypeset display math"
    assert report["typesetInline"] == report["mathInline"], f"{page}: untypeset inline math"
    assert report["texErrors"] == 0, f"{page}: MathJax reported TeX errors"
    assert "\\frac" not in report["text"] and "$$" not in report["text"], f"{page}: raw TeX visible"

    # Images loaded; nothing loaded from another site (the book works offline).
    assert not report["brokenImages"], f"{page}: images not loaded: {report['brokenImages']}"
    foreign = [a for a in report["assets"] if a and not a.startswith(server) and not a.startswith("data:")]
    assert not foreign, f"{page}: assets from outside the site: {foreign}"

    # Glued numbers: at least one rendered value per {glue} role in the chapter's source.
    source = ROOT / page.replace(".html", ".md")
    roles = len(GLUE_ROLE.findall(source.read_text(encoding="utf-8"))) if source.is_file() else 0
    assert report["pasted"] >= roles, f"{page}: {roles} glue roles, {report['pasted']} values shown"
    assert "{glue" not in report["text"], f"{page}: unresolved glue role"
    # ... and each role's value, as this build rendered it, is on the page: the {glue:md} roles too,
    # which leave no element of their own to count (values the page typesets, as maths or links, aside)
    if source.is_file() and page in CHAPTER_PAGES:
        shown = _plain(report["allText"])
        values = {role: _plain(_markdown_text(value)) for role, value in notebooks.built_glue(source).items()
                  if "{glue:math}" not in role and not re.search(r"[$\\\[\]\n'\"<>]", value)}
        missing = sorted(role for role, value in values.items() if value and value not in shown)
        assert not missing, f"{page}: glued values not shown: {[(r, values[r]) for r in missing[:3]]}"

    # Internal links resolve, anchors included.
    internal = sorted({link for link in report["links"] if link.startswith(server)})
    for link in internal:
        target, fragment = urldefrag(link)
        status, body = fetcher.get(target)
        assert status == 200, f"{page}: broken link {link} ({status})"
        if fragment and target.endswith(".html"):
            assert f'id="{fragment}"' in body, f"{page}: link {link} names a missing anchor"

    # Launch buttons on every chapter, pointing at its paired notebook.
    if page in CHAPTER_PAGES:
        binder, colab = _launch_links(page)
        assert binder in report["links"], f"{page}: no Binder button to {binder}"
        assert colab in report["links"], f"{page}: no Colab button to {colab}"
        assert (ROOT / page.replace(".html", ".ipynb")).is_file()

    _screenshot(browser, SCREENSHOTS / (page.replace("/", "__").removesuffix(".html") + ".png"))
    summary["pages"] += 1
    summary["display_equations"] += report["typesetBlocks"]
    summary["inline_equations"] += report["typesetInline"]
    summary["images"] += report["images"]
    summary["glued_values"] += report["pasted"]
    summary["internal_links"] += len(internal)


def _visible_text(driver, page: str, server: str) -> str:
    driver.get(urljoin(server, page))
    return driver.execute_script("return document.body.innerText")


def test_glued_numbers_match_independent_computations(server: str, browser) -> None:
    """Two numbers a reader checks first, recomputed here without the package's code paths."""
    import json

    from reference import plain_forward

    # Part 1: E_total of the classic 2-2-2 network (no biases), by plain arithmetic on the
    # exercise's numbers as the chapter states them.
    e_total = plain_forward(weights=(0.15, 0.20, 0.25, 0.30, 0.40, 0.45, 0.50, 0.55),
                            inputs=(0.05, 0.10), targets=(0.01, 0.99))["E_total"]
    assert f"{e_total:.9f}" in _visible_text(browser, "book/part1/network.html", server)

    # Part 2: the live re-evaluation shows the committed run's final accuracy.
    # The sentence glues the live evaluation's numbers; the history was written by the training run.
    final = json.loads((ROOT / "results" / "book" / "cpu-seed1" / "history.json").read_text())["epochs"][-1]
    text = " ".join(_visible_text(browser, "book/part2/evaluation.html", server).split())
    live = re.search(r"classifies ([\d,]+) of the ([\d,]+) test images correctly: (\d+\.\d\d%)", text)
    assert live, "the live-evaluation sentence is missing"
    assert live.groups() == (f"{final['test_correct']:,}", "10,000", f"{final['test_acc']:.2%}")


# What "reads cleanly" measures, at the fixture's 1280 px window with every hidden cell opened:
# output areas, tables (and the box around each), code blocks. An element counts when its content
# is wider than its box (a horizontal scrollbar or cut-off text); only the innermost such element of
# a nest is reported. A cell tagged `scrolls-by-design` (the 100-row iteration table) may scroll.
SCROLLS_BY_DESIGN = "tag_scrolls-by-design"
JS_OVERFLOWS = """
document.querySelectorAll('details').forEach(d => { d.open = true; });
const exempt = arguments[0];
const boxes = new Set(document.querySelectorAll(
  'div.cell_output, .output, table, pre, div.highlight, .pst-scrollable-table-container, .table-wrapper'));
document.querySelectorAll('table').forEach(t => boxes.add(t.parentElement));
const cut = [...boxes].filter(el => el.scrollWidth > el.clientWidth + 1 && !el.closest('.' + exempt));
const innermost = cut.filter(el => !cut.some(other => other !== el && el.contains(other)));
const name = el => el.tagName.toLowerCase() + [...el.classList].map(c => '.' + c).join('');
return {
  viewport: window.innerWidth,
  exempt: document.querySelectorAll('.' + exempt).length,
  overflows: innermost.map(el => ({
    element: name(el),
    cell: el.closest('div.cell') ? [...document.querySelectorAll('div.cell')].indexOf(el.closest('div.cell')) : null,
    scrollWidth: el.scrollWidth,
    clientWidth: el.clientWidth,
    text: el.innerText.trim().split('\\n')[0].slice(0, 60),
  })),
  text: document.body.innerText + '\\n' +
        [...document.querySelectorAll('div.cell_output')].map(o => o.textContent).join('\\n'),
};
"""
# tqdm's meter: "100%|██████████| 62/62 [00:01<00:00, 42.80it/s, acc=...]", a widget's text form
# "  0%|          | 0/63 [00:00<?, ?it/s]", and slow bars' "s/it".
PROGRESS_BAR = re.compile(r"\d%\||\|█|█\||[\d?](?:it/s|s/it)[\],]|\[\d\d:\d\d<(?:\d\d:\d\d|\?)")


def _overflow_report(driver, page: str, server: str) -> dict:
    driver.get(urljoin(server, page))
    assert driver.execute_async_script(WAIT_FOR_TYPESETTING) == "ok"
    return driver.execute_script(JS_OVERFLOWS, SCROLLS_BY_DESIGN)


@pytest.mark.parametrize("page", PAGES)
def test_page_reads_cleanly(page: str, server: str, browser) -> None:
    """No output, table or code line cut off or behind a horizontal scrollbar at 1280 px (the
    iteration table excepted), and no progress-bar residue in the page."""
    report = _overflow_report(browser, page, server)
    assert report["viewport"] == 1280, f"measured at {report['viewport']} px, not 1280"
    cut = [f"{o['element']} (cell {o['cell']}): content {o['scrollWidth']} px in {o['clientWidth']} px, "
           f"{o['text']!r}" for o in report["overflows"]]
    bars = sorted({line.strip() for line in report["text"].splitlines() if PROGRESS_BAR.search(line)})
    assert not cut and not bars, (f"{page}: {len(cut)} cut-off element(s):\n" + "\n".join(cut)
                                  + f"\nprogress-bar text in the page: {bars}")


def test_the_iteration_table_is_the_one_exemption(server: str, browser) -> None:
    """The scroll-by-design mark sits on exactly one cell of the book, the iteration table's,
    and that table really is wider than the page (else the mark exempts nothing)."""
    # counted in the pages' HTML: each page's own test has already loaded it in the browser
    marked = {page: len(re.findall(rf'class="[^"]*\b{SCROLLS_BY_DESIGN}\b', (HTML / page).read_text(encoding="utf-8")))
              for page in PAGES}
    assert {p: n for p, n in marked.items() if n} == {"book/part1/training.html": 1}
    _overflow_report(browser, "book/part1/training.html", server)
    widths = browser.execute_script(
        "const t = document.querySelector('.' + arguments[0] + ' table');"
        "return t ? [t.scrollWidth, t.parentElement.clientWidth, t.rows.length] : null;", SCROLLS_BY_DESIGN)
    assert widths is not None, "the marked cell holds no table"
    assert widths[0] > widths[1] and widths[2] > 100, widths
    # the detector's positive control: without the exemption, it reports that table's cell as cut off
    cell = browser.execute_script("return [...document.querySelectorAll('div.cell')]"
                                  ".indexOf(document.querySelector('div.cell.' + arguments[0]));", SCROLLS_BY_DESIGN)
    unexempted = browser.execute_script(JS_OVERFLOWS, "no-such-tag")["overflows"]
    assert cell >= 0 and any(o["cell"] == cell for o in unexempted), unexempted
