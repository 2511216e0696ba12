"""A real browser opens the generated report from disk, offline.

Headless Chromium (Debian's ``chromium``, installed by ``.ci/run``) with
networking disabled (every host resolves to nothing, every connection goes to a
closed proxy):

- the report as written: no console message at all (the page has no script,
  so any message would be a blocked request, a CSP violation or an error), no
  failed request in the log, and a screenshot;
- a copy with a small test-only script appended (and the page's CSP removed
  so that the script may run and nothing but our escaping stands between the
  payload and the page): every image decodes with a non-zero size, no
  resource is requested, no error, and the XSS probes in the patient ids do
  not run (they show as text).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from .conftest import SAMPLE

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or (
    "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
IN_CI = bool(os.environ.get("CI")) or Path(sys.prefix).name == ".ci-venv"

XSS_IDS = {
    "GK01": "<script>window.__xss=1</script>",
    "GK02": '<img src=x onerror="window.__xss=2">',
    "GK03": '=HYPERLINK("http://example.com")',
}

CHECKER = """
<pre id="__results"></pre>
<script>
window.addEventListener("load", function () {
  var imgs = Array.prototype.slice.call(document.images);
  var bad = imgs.filter(function (i) { return !(i.complete && i.naturalWidth > 0 &&
                                                i.naturalHeight > 0); })
                .map(function (i) { return i.alt; });
  var res = performance.getEntriesByType("resource").map(function (e) { return e.name; });
  document.getElementById("__results").textContent = JSON.stringify({
    n_images: imgs.length, bad_images: bad, resources: res,
    errors: window.__errors, xss: window.__xss || null,
    sizes: imgs.map(function (i) { return [i.naturalWidth, i.naturalHeight]; })
  });
});
</script>
"""

ERROR_TRAP = """<script>
window.__errors = [];
window.onerror = function (m) { window.__errors.push(String(m)); };
var __ce = console.error;
console.error = function () { window.__errors.push(Array.prototype.join.call(arguments, " "));
                              __ce.apply(console, arguments); };
</script>"""


def _need_chromium() -> str:
    if CHROMIUM is None:
        if IN_CI:
            pytest.fail("chromium is not installed; .ci/run installs Debian's chromium package")
        pytest.skip("chromium not installed here (apt-get install chromium); "
                    "this test runs in CI, where .ci/run installs it")
    return CHROMIUM


def _chromium(page: Path, tmp: Path, *extra: str) -> subprocess.CompletedProcess:
    cmd = [
        _need_chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
        "--no-first-run", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--disable-extensions", "--disable-dev-shm-usage",
        f"--user-data-dir={tmp / 'chromium-profile'}",
        "--host-resolver-rules=MAP * ~NOTFOUND", "--proxy-server=127.0.0.1:9",
        "--enable-logging=stderr", "--v=0", *extra, page.as_uri(),
    ]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "HOME": str(tmp)})


def _console(stderr: str) -> list[str]:
    return [ln for ln in stderr.splitlines() if ":CONSOLE" in ln or "net::ERR_" in ln]


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    _need_chromium()
    from sma_outcomes.report import build_report

    tmp = tmp_path_factory.mktemp("browser")
    data = pd.read_csv(SAMPLE / "case_series.csv")
    data["patient_id"] = data["patient_id"].replace(XSS_IDS)
    path = tmp / "xss.csv"
    data.to_csv(path, index=False)
    return build_report(path, tmp / "report", patient_figures=False, timepoint="Month 18")


def test_report_opens_offline_without_console_messages(report: Path, tmp_path: Path) -> None:
    shot = tmp_path / "screenshot.png"
    run = _chromium(report, tmp_path, f"--screenshot={shot}", "--window-size=1280,3000",
                    "--virtual-time-budget=5000")
    assert run.returncode == 0, run.stderr[-2000:]
    assert _console(run.stderr) == []
    assert shot.exists() and shot.stat().st_size > 20_000
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_images_decode_no_requests_and_xss_probe_inert(report: Path, tmp_path: Path) -> None:
    html = report.read_text(encoding="utf-8")
    html = re.sub(r'<meta http-equiv="Content-Security-Policy"[^>]*>', "", html)
    html = html.replace("<head>", "<head>" + ERROR_TRAP, 1).replace("</body>", CHECKER + "</body>")
    copy = report.parent / "report_checked.html"
    copy.write_text(html, encoding="utf-8")
    run = _chromium(copy, tmp_path, "--dump-dom", "--virtual-time-budget=5000")
    assert run.returncode == 0, run.stderr[-2000:]
    m = re.search(r'<pre id="__results">(.*?)</pre>', run.stdout, re.S)
    assert m, "the checker did not run:\n" + run.stdout[-1000:]
    import html as html_mod

    res = json.loads(html_mod.unescape(m.group(1)))
    figures = len(re.findall(r'<figure class="plot"', report.read_text(encoding="utf-8")))
    assert res["n_images"] == figures >= 5
    assert res["bad_images"] == []
    assert all(w > 100 and h > 100 for w, h in res["sizes"])
    assert res["resources"] == []
    assert res["errors"] == []
    assert res["xss"] is None
    assert _console(run.stderr) == []
    # the probes are shown as text
    assert "&lt;script&gt;window.__xss=1&lt;/script&gt;" in run.stdout
    assert "<script>window.__xss=1</script>" not in run.stdout


def test_case_series_report_opens_offline(tmp_path: Path) -> None:
    _need_chromium()
    from sma_outcomes.report import reproduce_case_series

    page = reproduce_case_series(tmp_path / "case-series")
    shot = tmp_path / "case-series.png"
    run = _chromium(page, tmp_path, f"--screenshot={shot}", "--window-size=1280,2000",
                    "--virtual-time-budget=5000")
    assert run.returncode == 0, run.stderr[-2000:]
    assert _console(run.stderr) == []
    assert shot.exists() and shot.stat().st_size > 20_000
