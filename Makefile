# arshif: every target bootstraps .venv from nothing (python3 -m venv + pinned installs).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
DATA   ?= data
PORT   ?= 8001
SITES  ?=
# BENCH_ARGS="--pages 100" for a quick bench-crawl (see tools/bench_crawl.py --help)
BENCH_ARGS ?=

.PHONY: setup tools test lint demo crawl serve mirror quality quality-floor bench bench-search bench-memory bench-cluster reliability bench-crawl clean

$(STAMP): pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	# A current pip: old ones (23.x) resolve trafilatura without lxml_html_clean.
	$(BIN)/python -m pip install --quiet --disable-pip-version-check "pip==26.3"
	@# pip is --quiet: without this line the first `make demo` looks stuck for a minute or two.
	@echo "installing arshif's pinned dependencies into $(VENV) (a minute or two, only once)"
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c requirements.lock -e ".[dev]"
	touch $(STAMP)

setup: $(STAMP)  ## create .venv and install pinned dependencies

# Tools that check arshif's output from outside (WACZ validation, pywb replay),
# in their own venv: pywb pins versions that must not reach arshif's.
TOOLS_STAMP := .venv-tools/.installed-stamp
$(TOOLS_STAMP): tools/requirements-check.lock
	$(PYTHON) -m venv .venv-tools
	.venv-tools/bin/python -m pip install --quiet --disable-pip-version-check "pip==26.3"
	.venv-tools/bin/python -m pip install --quiet --disable-pip-version-check -r tools/requirements-check.lock
	touch $(TOOLS_STAMP)

tools: $(TOOLS_STAMP)  ## the checking tools' venv

lint: setup
	$(BIN)/ruff check archive crawler mirror tests tools
	$(BIN)/ruff format --check archive crawler mirror tests tools

test: setup tools lint  ## unit and end-to-end tests, offline
	ARSHIF_REQUIRE_TOOLS=1 $(BIN)/python -m pytest

demo: setup  ## crawl the bundled offline mirror into $(DATA), then browse it
	$(BIN)/arshif demo --data $(DATA)
	$(BIN)/arshif serve --data $(DATA) --port $(PORT)

crawl: setup  ## crawl the registered sites (SITES="a b" for some) into $(DATA)
	$(BIN)/arshif crawl --data $(DATA) $(SITES)

serve: setup  ## browse $(DATA)/archive.db in Datasette
	$(BIN)/arshif serve --data $(DATA) --port $(PORT)

mirror: setup  ## serve the bundled mirror as a proxy on 127.0.0.1:8899
	$(BIN)/arshif mirror serve --port 8899

quality: setup  ## extraction quality beside plain trafilatura: our pages, then ../shared/real-pages
	$(BIN)/python tools/quality.py
	$(BIN)/python tools/realpages.py

quality-floor: setup  ## fail when arshif loses ground on ../shared/real-pages (skips without it)
	$(BIN)/python tools/realpages.py --floor --worst 10

bench: setup  ## extraction speed against plain trafilatura
	$(BIN)/python tools/bench_extract.py

bench-search: setup  ## search latency on a million synthetic articles (builds ~5 GB in /tmp once)
	$(BIN)/python tools/bench_search.py --articles 1000000

bench-memory: setup  ## peak crawl memory at 2,000 and 20,000 articles (about 5 minutes)
	$(BIN)/python tools/bench_crawl_memory.py --sizes 2000 20000

bench-cluster: setup  ## pages/s with 1 and 2 cluster workers on bench-crawl's sites (needs redis-server; about 5 minutes)
	$(BIN)/python tools/bench_cluster.py --sites 4 --articles 200

reliability: setup  ## 20 SIGKILLs over a 3,000-article crawl, then the fault matrix (about 10 minutes; root mounts a 3 MB tmpfs)
	$(BIN)/python tools/reliability.py $(if $(SEED),--seed $(SEED))

bench-crawl: setup  ## crawl and reextract speed on 4 sites x 500 real-weight pages (13 minutes on 2 cores)
	$(BIN)/python tools/bench_crawl.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .venv-tools .pytest_cache .ruff_cache *.egg-info
