"""WACZ export, checked by the tools others will use: py-wacz's validator and pywb's replay.

Both live in their own venv (.venv-tools, `make tools`): pywb pins old redis,
pyOpenSSL and werkzeug that must not reach arshif's. Skipped without it unless
ARSHIF_REQUIRE_TOOLS=1 (make test builds it and sets that).
"""

from __future__ import annotations

import html
import json
import os
import sqlite3
import subprocess
import urllib.request
import zipfile

import pytest
from click.testing import CliRunner

from archive.cli import cli
from tests.conftest import ROOT, free_port, wait_until_serving

pytestmark = pytest.mark.e2e
TOOLS = ROOT / ".venv-tools" / "bin"
if not (TOOLS / "wayback").exists():
    if os.environ.get("ARSHIF_REQUIRE_TOOLS") == "1":
        raise RuntimeError("ARSHIF_REQUIRE_TOOLS=1 but .venv-tools is missing: run make tools")
    pytest.skip("no .venv-tools (make tools)", allow_module_level=True)


@pytest.fixture(scope="module")
def wacz(demo_archive, tmp_path_factory):
    path = tmp_path_factory.mktemp("wacz") / "demo.wacz"
    result = CliRunner().invoke(cli, ["export-wacz", "--data", str(demo_archive), "-o", str(path)])
    assert result.exit_code == 0, result.output
    return path


def test_wacz_layout_and_validation(wacz, demo_archive):
    with zipfile.ZipFile(wacz) as z:
        names = set(z.namelist())
        package = json.loads(z.read("datapackage.json"))
        pages = [json.loads(line) for line in z.read("pages/pages.jsonl").decode().splitlines()]
        index = z.read("indexes/index.cdx").decode().splitlines()
    warcs = {f"archive/{p.name}" for p in (demo_archive / "warc").glob("*.warc.gz")}
    assert warcs <= names and {"datapackage.json", "datapackage-digest.json"} <= names
    assert package["wacz_version"] == "1.1.1" and {r["path"] for r in package["resources"]} >= warcs
    with sqlite3.connect(demo_archive / "archive.db") as db:
        assert len(pages) - 1 == db.execute("SELECT count(*) FROM articles").fetchone()[0]
    assert all('"metadata"' not in line for line in index)
    result = subprocess.run(
        [str(TOOLS / "wacz"), "validate", "-f", str(wacz)], capture_output=True, text=True
    )
    assert result.returncode == 0 and "is valid" in result.stdout, result.stdout + result.stderr


@pytest.fixture(scope="module")
def pywb(wacz, tmp_path_factory):
    home = tmp_path_factory.mktemp("pywb")
    env = {**os.environ, "PATH": f"{TOOLS}:{os.environ['PATH']}"}
    subprocess.run(
        [str(TOOLS / "wb-manager"), "init", "arshif"],
        cwd=home,
        env=env,
        check=True,
        capture_output=True,
    )
    subprocess.run(
        [str(TOOLS / "wb-manager"), "add", "--unpack-wacz", "arshif", str(wacz)],
        cwd=home, env=env, check=True, capture_output=True,
    )  # fmt: skip
    port = free_port()
    process = subprocess.Popen(
        [str(TOOLS / "wayback"), "-p", str(port), "-b", "127.0.0.1"],
        cwd=home, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    wait_until_serving(base + "/arshif/", process)
    yield base
    process.terminate()
    process.wait(10)


def test_articles_replay_in_pywb(pywb, demo_archive):
    with sqlite3.connect(demo_archive / "archive.db") as db:
        sql = "SELECT fetched_url, title, site FROM articles WHERE site = ? ORDER BY id LIMIT 3"
        rows = [row for site in ("hafryat", "hoseinmortada") for row in db.execute(sql, [site])]
    assert {site for _, _, site in rows} == {
        "hafryat",
        "hoseinmortada",
    }  # plain and gzip-served pages
    for url, title, _ in rows:
        with urllib.request.urlopen(f"{pywb}/arshif/mp_/{url}", timeout=10) as response:
            assert response.status == 200
            page = response.read().decode("utf-8")
        assert title in html.unescape(page), url
