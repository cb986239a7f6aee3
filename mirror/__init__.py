"""The offline mirror: the listed sites' pages served at their real URLs on loopback.

``BUNDLED`` is the mirror shipped with arshif; its layout is described in
``mirror/bundled/README.md`` and ``mirror.layout``.
"""

from __future__ import annotations

from pathlib import Path

BUNDLED = Path(__file__).resolve().with_name("bundled")
EXTRA_SITES = BUNDLED / "extra-sites.toml"
# Sites only tests crawl (hostile pages); the demo never does.
TEST_SITES = BUNDLED / "test-sites.toml"
