## Reading the book:
##   make site                    render the committed notebooks to _build/html (seconds once .venv
##                                exists; runs nothing), then open _build/html/index.html
##   make lab                     JupyterLab on book/, the .md chapters opening as notebooks (jupytext)
## The book's two commands:
##   make book [PROFILE=full|ci]  set up .venv, execute every chapter (full: about 40 min on 2 cores),
##                                render the site to _build/html
##   make test                    unit tests, nbval over tests/notebooks, strict site build, staleness,
##                                every page checked in headless Chromium (installed with apt if missing)
## One chapter, and checks:
##   make chapter NB=01_jepa_basics [PROFILE=ci]
##   make mac-check               platform line, unit tests, Chapter 1 at ci compared with the Linux record
##                                (written for Apple-silicon Macs; runs anywhere); paste its output in an issue
##   make portability             nbval on another OpenBLAS kernel family
## Maintainers:
##   make lock                    re-resolve the pinned dependencies, re-execute the book, show the diff
##   make venv                    only the environment (.venv, or VENV=...; needs Python >= 3.11)
##   make help                    this text (also what a bare `make` prints)

SHELL := /bin/bash
.DEFAULT_GOAL := help
# The interpreter that creates .venv: the first of these on PATH (the pins need >= 3.11; 3.11 made them)
PYTHON ?= $(firstword $(foreach p,python3.11 python3.12 python3.13 python3,$(if $(shell command -v $(p) 2>/dev/null),$(p))) python3)
VENV ?= .venv
PROFILE ?= full
BIN := $(VENV)/bin
export PATH := $(abspath $(BIN)):$(PATH)
export PYDEVD_DISABLE_FILE_VALIDATION := 1
# Full-precision float32 matmuls in every process make starts (MLX >= 0.30 would use reduced-precision
# kernels on M5-class Macs); jepabook sets it too, on import and in its start-up hook (jepabook.blas).
export MLX_ENABLE_TF32 ?= 0
UNAME := $(shell uname -s)

# The exact versions that produced the committed notebooks, one file per platform (see `make lock`).
ifeq ($(UNAME),Darwin)
  CONSTRAINTS := constraints-macos.txt
else
  CONSTRAINTS := constraints-linux.txt
endif

CHAPTER_SOURCES := $(sort $(wildcard book/[0-9][0-9]_*.md))
CHAPTERS := $(notdir $(basename $(CHAPTER_SOURCES)))

ifeq ($(PROFILE),full)
  OUT := book/executed
  TOC := _toc.yml
else ifeq ($(PROFILE),ci)
  OUT := tests/notebooks
  TOC := _build/_toc_ci.yml
else
  $(error PROFILE must be 'full' or 'ci', got '$(PROFILE)')
endif

.PHONY: help book test venv venv-check platform-check execute chapter html unit nbval portability site \
        chromium browser mac-check lab bench lock clean

help:
	@sed -n 's/^## \{0,1\}//p' $(firstword $(MAKEFILE_LIST))

book: venv execute html

# venv-check first: it stops with a clear message when $(PYTHON) is too old, and deletes a .venv that
# an older Python made (so that the next prerequisite builds it again) -- src/jepabook/venvcheck.py
venv: venv-check $(VENV)/.installed

venv-check:
	@$(PYTHON) src/jepabook/venvcheck.py --venv "$(VENV)"; status=$$?; \
	if [ $$status -eq 3 ]; then rm -rf "$(VENV)"; elif [ $$status -ne 0 ]; then exit $$status; fi

# The published notebooks and records come from one kind of machine (see results/*-full.json's
# platform); re-executing on another kind (a Mac's GPU, a CUDA GPU) stops here with a message first.
# OTHER_PLATFORM=1 goes on (then do not commit what it writes).
platform-check: venv
	@test -n "$(OTHER_PLATFORM)" || $(BIN)/python -m jepabook.core.platforms check-overwrite

# On Linux the last step compiles jepabook's BLAS shim (src/jepabook/blas_shim.c) so that MLX's
# matmuls run on OpenBLAS instead of the reference BLAS its wheel bundles; without a C compiler it
# says so and the book runs, slower, on the reference BLAS.
$(VENV)/.installed: pyproject.toml $(CONSTRAINTS) src/jepabook/blas_shim.c
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c $(CONSTRAINTS) -e ".[distributed]"
	$(BIN)/python -m jepabook blas install
	touch $@

# Re-resolve every dependency at its newest allowed version in a scratch environment, write the
# platform's constraints file, rebuild .venv from it, re-execute every chapter at both profiles and
# show what moved. Commit the constraints file with the notebooks and results it produced (on the
# platform that made the published records; platform-check stops elsewhere first).
lock: platform-check
	rm -rf _build/lockvenv && $(PYTHON) -m venv _build/lockvenv
	_build/lockvenv/bin/python -m pip install --quiet --upgrade pip
	_build/lockvenv/bin/python -m pip install --quiet -e ".[distributed,lab]"
	{ echo "# pip freeze of a fresh \`pip install -e .[distributed,lab]\` on $$(uname -sm), $$(date -u +%F); refresh with \`make lock\`"; \
	  _build/lockvenv/bin/python -m pip freeze --exclude-editable; } > $(CONSTRAINTS)
	rm -rf _build/lockvenv $(VENV)
	$(MAKE) --no-print-directory venv
	$(MAKE) --no-print-directory execute PROFILE=ci
	$(MAKE) --no-print-directory execute PROFILE=full
	git --no-pager diff --stat -- $(CONSTRAINTS) book/executed tests/notebooks results

# At ci the chapters' records are also copied to tests/records/: the committed CPU baselines that
# make mac-check and benchmarks/gpu_check.sh compare other platforms with (results/*-ci.json itself is
# rewritten, with new timings, by every nbval run, so it is not committed).
execute: venv
	@for nb in $(CHAPTERS); do $(MAKE) --no-print-directory chapter NB=$$nb PROFILE=$(PROFILE) || exit 1; done
ifeq ($(PROFILE),ci)
	@mkdir -p tests/records && cp results/*-ci.json tests/records/ && echo "ci records copied to tests/records/"
endif

# jupytext turns the MyST source into a notebook; papermill injects the profile and, when one is
# known (REPOSITORY, below), the GitHub repository from which a copy launched on Colab installs the
# package; an unknown one is not injected, so the parameters cell's own line stays in force. Tidying
# comments the injected profile out, so a launched copy runs at the parameters cell's "ci", and
# records the repository in the notebook's metadata (the site turns Colab's button on only when every
# notebook names the repository it is built for). JEPABOOK_PROGRESS=off keeps the run's progress
# display out of the committed notebook. The output is written to a temporary file and
# moved into place, so a failed run leaves the last good notebook untouched.
chapter: venv platform-check
	@test -n "$(NB)" || { echo "NB must name a chapter, one of: $(CHAPTERS)"; exit 2; }
	@test -f book/$(NB).md || { echo "NB must be one of: $(CHAPTERS); got '$(NB)'"; exit 2; }
	@mkdir -p $(OUT) _build/tmp
	@echo "executing $(NB) at profile $(PROFILE) -> $(OUT)/$(NB).ipynb"
	@start=$$SECONDS; \
	$(BIN)/jupytext --quiet --to ipynb book/$(NB).md -o _build/tmp/$(NB).src.ipynb && \
	JEPABOOK_PROGRESS=off $(BIN)/papermill --no-progress-bar --log-level WARNING --cwd book -k python3 \
	  -p profile $(PROFILE) $(if $(REPOSITORY),-p repository "$(REPOSITORY)") _build/tmp/$(NB).src.ipynb _build/tmp/$(NB).out.ipynb && \
	$(BIN)/python -m jepabook.core.tidy --repository "$(REPOSITORY)" _build/tmp/$(NB).out.ipynb && \
	mv _build/tmp/$(NB).out.ipynb $(OUT)/$(NB).ipynb && \
	echo "  $(NB) ($(PROFILE)): $$((SECONDS - start)) s"

# The site from the committed book/executed notebooks. REPOSITORY=https://github.com/<owner>/<repo>
# (the Pages workflow passes its own; by default the GitHub URL of `git remote origin`, if it is
# one) adds the repository, issue and launch (Binder, Colab) buttons; without one the site has
# none, since no URL is written into the book.
REPOSITORY ?= $(shell $(BIN)/python -m jepabook.sphinx_site.config --guess-repository 2>/dev/null)
BRANCH ?= main

_build/_toc_ci.yml: _toc.yml
	@mkdir -p _build
	sed 's#book/executed/#tests/notebooks/#' _toc.yml > $@

html: venv $(TOC)
	$(BIN)/python -m jepabook.sphinx_site.config --repository "$(REPOSITORY)" --branch "$(BRANCH)" --notebooks $(OUT) -o _build/_config_site.yml
	$(BIN)/jupyter-book build . --config _build/_config_site.yml --toc $(TOC) --warningiserror --nitpick --keep-going

test: venv unit nbval site browser

unit: venv
	$(BIN)/python -m pytest tests --ignore=tests/notebooks --ignore=tests/browser -q

# The nbval baselines (tests/notebooks) were made on Linux's MLX CPU build with the pinned OpenBLAS.
# A Mac computes on Metal and Accelerate: other last bits in every kernel, so the ci cells cannot
# match there, and nbval is skipped with one line (`make mac-check` compares verdicts instead).

# what nbval masks before comparing: make portability masks numbers too (tests/nbval_portability.cfg)
NBVAL_SANITIZE ?= nbval_sanitize.cfg
ifeq ($(UNAME),Darwin)
nbval: venv
	@echo "nbval skipped on macOS: its baselines (tests/notebooks) are Linux MLX-CPU outputs, which Metal does not reproduce bit for bit; make mac-check compares Chapter 1's verdicts with the Linux record instead"
else
nbval: venv
	cd tests/notebooks && ../../$(BIN)/python -m pytest --nbval --nbval-current-env \
	  --nbval-sanitize-with ../$(NBVAL_SANITIZE) --nbval-cell-timeout 600 -q -p no:cacheprovider .
endif

# nbval again with NumPy's, SciPy's and MLX's OpenBLAS forced onto another kernel family than the
# pinned Haswell one (Prescott: SSE only, other last bits): what a CPU that cannot run the pinned
# kernels would compute. Training turns other last bits into whole points of a short run's accuracy,
# so this nbval masks numbers (tests/nbval_portability.cfg): every cell must still run and print the
# same words, verdicts and tables. PORTABILITY_CORETYPES="Prescott Sandybridge" also tries the AVX kernels.
PORTABILITY_CORETYPES ?= Prescott
portability: venv
ifeq ($(UNAME),Darwin)
	@echo "portability skipped on macOS: it plays other OpenBLAS kernels under the Linux baselines"
else
	@for ct in $(PORTABILITY_CORETYPES); do \
	  echo "nbval with OPENBLAS_CORETYPE=$$ct"; \
	  OPENBLAS_CORETYPE=$$ct $(MAKE) --no-print-directory nbval NBVAL_SANITIZE=nbval_portability.cfg || exit 1; \
	done
endif

site: venv
	$(BIN)/python -m jepabook.sphinx_site.config --repository "$(REPOSITORY)" --branch "$(BRANCH)" -o _build/_config_site.yml
	$(BIN)/jupyter-book build . --config _build/_config_site.yml --warningiserror --nitpick --keep-going

# Every page of _build/html (built by `site` or `html`) in headless Chromium, at a desktop and a
# 390 px phone width: math typeset, no console errors, images loaded, no sideways scrolling on the
# phone, every claims table's verdict on the phone's first screen. Screenshots: _build/browser/.
# Chromium is the system's: .ci/chromium installs Debian's or Ubuntu's package with apt-get when none
# is found and it can (root or sudo), and otherwise says what to install.
chromium:
	@.ci/chromium

browser: venv chromium
	$(BIN)/python -m pytest tests/browser -q -p no:cacheprovider

# JupyterLab from the same environment (the `lab` extra, installed on first use): the chapters'
# .md sources open as notebooks through jupytext. Set profile = "ci" in a chapter's first cell
# for a run of under a minute (it is the default there; `make chapter` injects the profile).
LAB_ARGS ?=  # e.g. --no-browser --port 8890
lab: venv
	$(BIN)/python -c "import jupyterlab" 2>/dev/null || $(BIN)/python -m pip install --quiet -c $(CONSTRAINTS) -e ".[lab,distributed]"
	$(BIN)/python -m jepabook.sphinx_site.config --lab-settings "$$($(BIN)/python -c 'import sys; print(sys.prefix)')/share/jupyter/lab/settings/overrides.json"
	$(BIN)/python -m jupyterlab --notebook-dir=book $(LAB_ARGS)

# What a Mac owner (or anyone on a new platform) can run in minutes and paste into an issue: the
# platform line (device, MLX version, matmul precision), the unit tests, Chapter 1 at ci (not saved
# into results/) and its claim-by-claim comparison with the committed Linux ci record,
# tests/records/basics-ci.json. The whole output is also kept in _build/mac-check/report.txt.
MAC_CHECK_TESTS ?= tests
mac-check: venv
	@mkdir -p _build/mac-check
	@set -o pipefail; { \
	  echo "== make mac-check, $$(date -u +%FT%TZ), commit $$(git rev-parse --short HEAD 2>/dev/null)"; \
	  $(BIN)/python -m jepabook.core.platforms line; \
	  echo "== unit tests"; \
	  $(BIN)/python -m pytest $(MAC_CHECK_TESTS) --ignore=tests/notebooks --ignore=tests/browser -q -p no:cacheprovider | tail -n 15; \
	  unit=$${PIPESTATUS[0]}; \
	  echo "== Chapter 1 at ci"; \
	  $(BIN)/python -m jepabook run basics --profile ci --no-save --json _build/mac-check/basics-ci.json | tail -n 3; \
	  echo "== against the Linux record (tests/records/basics-ci.json)"; \
	  $(BIN)/python -m jepabook compare tests/records/basics-ci.json _build/mac-check/basics-ci.json; \
	  same=$$?; \
	  echo "== unit tests $$([ $$unit -eq 0 ] && echo passed || echo FAILED); verdicts $$([ $$same -eq 0 ] && echo agree || echo DIFFER)"; \
	  [ $$unit -eq 0 ] && [ $$same -eq 0 ]; \
	} 2>&1 | tee _build/mac-check/report.txt

bench: venv
	$(BIN)/python benchmarks/bench_sigreg.py

clean:
	rm -rf _build
