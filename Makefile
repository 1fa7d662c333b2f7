# The CSE4261 training companion.
#   make book       build the website into _build/html (creates .venv on first use)
#                   REPO_URL=https://github.com/ORG/REPO adds Binder/Colab/repository buttons
#   make test       lint + unit tests + every notebook (nbval) + the built site in Chromium
#   make slides     every chapter as an offline reveal.js deck + PDF in _build/slides
#   make lab        JupyterLab on the book's notebooks
#   make benchmark  time and memory of every chapter, against the budgets in DESIGN §7
#   make clean      remove build outputs (make distclean also removes .venv)

SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
NPM_STAMP := slides/node_modules/.installed
BOOK_BUILD := $(BIN)/jupyter-book build . --warningiserror --nitpick --keep-going

.PHONY: book test lint browser lab benchmark clean distclean slides node

$(INSTALLED): requirements.txt pyproject.toml
	@[ -n "$(PYTHON)" ] || { echo "error: no python3.11 on PATH; install Python 3.11 or pass PYTHON=/path/to/python3.11"; exit 1; }
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' || \
	  { echo "error: $(PYTHON) is Python $$($(PYTHON) -c 'import platform; print(platform.python_version())'), the book needs 3.11; pass PYTHON=/path/to/python3.11"; exit 1; }
	[ -x $(BIN)/python ] || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $@

# jupyter-cache re-executes a notebook only when the notebook changes, and Sphinx re-reads
# only changed sources; when lecturelib changes, every chapter's outputs may change too,
# so both caches are cleared.
LIB_STAMP := _build/.lecturelib-stamp
$(LIB_STAMP): $(wildcard lecturelib/*.py)
	rm -rf _build/.jupyter_cache _build/.doctrees
	mkdir -p _build && touch $@

book: $(INSTALLED) $(LIB_STAMP)
	$(BOOK_BUILD)
	@echo "Open _build/html/index.html"

lint: $(INSTALLED)
	$(BIN)/ruff check lecturelib tests benchmarks book _ext slides
	$(BIN)/ruff format --check lecturelib tests benchmarks book _ext slides

# The browser test needs Chromium: as root we install Debian's package, otherwise we stop
# and say how (the test never skips silently).
browser:
	@[ -n "$$CHROMIUM" ] || command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "Installing Chromium for the browser test (apt-get install chromium)"; \
	    DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else \
	    echo "error: the browser test needs Chromium at /usr/bin/chromium."; \
	    echo "Install it with: sudo apt-get install chromium (Debian/Ubuntu), or set CHROMIUM=/path/to/chromium."; \
	    exit 1; \
	  fi; }

# Two workers, a notebook never split across them, one torch thread per kernel.
test: $(INSTALLED) lint browser $(NPM_STAMP)
	OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 $(BIN)/python -m pytest -n 2 --dist loadfile \
	  --nbval-lax --nbval-current-env --durations=10

lab: $(INSTALLED)
	$(BIN)/jupyter lab book/

benchmark: $(INSTALLED)
	$(BIN)/python benchmarks/notebooks.py --nbval --rebuild

clean:
	rm -rf _build .pytest_cache .ruff_cache
	find . -name __pycache__ -not -path './$(VENV)/*' -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV)

# Slides: reveal.js 4, require.js, jQuery, MathJax 2 and decktape, pinned in
# slides/package-lock.json, installed into slides/node_modules (no browser download:
# decktape prints with the system Chromium). The slides test uses them too.
node:
	@command -v npm >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "Installing Node.js and npm for the slides (apt-get install nodejs npm)"; \
	    DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null; \
	  else \
	    echo "error: the slides need Node.js >= 18 and npm."; \
	    echo "Install them with: sudo apt-get install nodejs npm (Debian/Ubuntu)."; \
	    exit 1; \
	  fi; }

$(NPM_STAMP): slides/package.json slides/package-lock.json | node
	cd slides && PUPPETEER_SKIP_DOWNLOAD=1 npm ci --no-audit --no-fund
	touch $@

# Every chapter, executed in a fresh kernel, as _build/slides/<chapter>.slides.html + .pdf
slides: $(INSTALLED) $(NPM_STAMP) browser
	OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 $(BIN)/python slides/export.py --out _build/slides --pdf
	@echo "Open _build/slides/<chapter>.slides.html (press s for the speaker notes)"
