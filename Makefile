# The book's two commands:
#   make book [PROFILE=full|ci]   set up .venv, execute every chapter, render the site to _build/html
#   make test                     unit tests, nbval over tests/notebooks, strict site build, staleness,
#                                 every page checked in headless Chromium
# and for one chapter:
#   make chapter NB=01_jepa_basics [PROFILE=ci]
# and for reading and running the chapters as notebooks:
#   make lab                      JupyterLab on book/, the .md chapters opening as notebooks (jupytext)
# and for maintainers:
#   make lock                     re-resolve the pinned dependencies, re-execute the book, show the diff

SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PROFILE ?= full
BIN := $(VENV)/bin
export PATH := $(abspath $(BIN)):$(PATH)
export PYDEVD_DISABLE_FILE_VALIDATION := 1

# The exact versions that produced the committed notebooks, one file per platform (see `make lock`).
ifeq ($(shell uname -s),Darwin)
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

.PHONY: book test venv execute chapter html unit nbval portability site browser lab bench lock clean

book: venv execute html

venv: $(VENV)/.installed

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
# show what moved. Commit the constraints file with the notebooks and results it produced.
lock:
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

execute: venv
	@for nb in $(CHAPTERS); do $(MAKE) --no-print-directory chapter NB=$$nb PROFILE=$(PROFILE) || exit 1; done

# jupytext turns the MyST source into a notebook; papermill injects the profile (and the GitHub
# repository, from which a copy launched on Colab installs the package) and runs it. Tidying
# comments the injected profile out, so a launched copy runs at the parameters cell's "ci".
# JEPABOOK_PROGRESS=off keeps the run's progress display out of the committed notebook.
# The output is written to a temporary file and moved into place, so a failed run leaves the
# last good notebook untouched.
chapter: venv
	@test -n "$(NB)" || { echo "NB must name a chapter, one of: $(CHAPTERS)"; exit 2; }
	@test -f book/$(NB).md || { echo "NB must be one of: $(CHAPTERS); got '$(NB)'"; exit 2; }
	@mkdir -p $(OUT) _build/tmp
	@echo "executing $(NB) at profile $(PROFILE) -> $(OUT)/$(NB).ipynb"
	@start=$$SECONDS; \
	$(BIN)/jupytext --quiet --to ipynb book/$(NB).md -o _build/tmp/$(NB).src.ipynb && \
	JEPABOOK_PROGRESS=off $(BIN)/papermill --no-progress-bar --log-level WARNING --cwd book -k python3 \
	  -p profile $(PROFILE) -p repository "$(REPOSITORY)" _build/tmp/$(NB).src.ipynb _build/tmp/$(NB).out.ipynb && \
	$(BIN)/python -m jepabook.core.tidy _build/tmp/$(NB).out.ipynb && \
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
	$(BIN)/python -m jepabook.sphinx_site.config --repository "$(REPOSITORY)" --branch "$(BRANCH)" -o _build/_config_site.yml
	$(BIN)/jupyter-book build . --config _build/_config_site.yml --toc $(TOC) --warningiserror --nitpick --keep-going

test: venv unit nbval site browser

unit: venv
	$(BIN)/python -m pytest tests --ignore=tests/notebooks --ignore=tests/browser -q

nbval: venv
	cd tests/notebooks && ../../$(BIN)/python -m pytest --nbval --nbval-current-env \
	  --nbval-sanitize-with ../nbval_sanitize.cfg --nbval-cell-timeout 600 -q -p no:cacheprovider .

# nbval again with NumPy's, SciPy's and MLX's OpenBLAS forced onto another kernel family than the
# pinned Haswell one (Prescott: SSE only, other last bits): what a CPU that cannot run the pinned
# kernels would compute. The committed ci outputs survive it; PORTABILITY_CORETYPES="Prescott
# Sandybridge" also tries the AVX kernels, on which 1 of 77 cells differs (see the README).
PORTABILITY_CORETYPES ?= Prescott
portability: venv
	@for ct in $(PORTABILITY_CORETYPES); do \
	  echo "nbval with OPENBLAS_CORETYPE=$$ct"; \
	  OPENBLAS_CORETYPE=$$ct $(MAKE) --no-print-directory nbval || exit 1; \
	done

site: venv
	$(BIN)/python -m jepabook.sphinx_site.config --repository "$(REPOSITORY)" --branch "$(BRANCH)" -o _build/_config_site.yml
	$(BIN)/jupyter-book build . --config _build/_config_site.yml --warningiserror --nitpick --keep-going

# Every page of _build/html (built by `site` or `html`) in headless Chromium, at a desktop and a
# 390 px phone width: math typeset, no console errors, images loaded, no sideways scrolling on the
# phone, every claims table's verdict on the phone's first screen. Screenshots: _build/browser/.
# Chromium is the system's (Debian: apt-get install chromium; .ci/run installs it when missing).
browser: venv
	$(BIN)/python -m pytest tests/browser -q -p no:cacheprovider

# JupyterLab from the same environment (the `lab` extra, installed on first use): the chapters'
# .md sources open as notebooks through jupytext. Set profile = "ci" in a chapter's first cell
# for a run of under a minute (it is the default there; `make chapter` injects the profile).
LAB_ARGS ?=  # e.g. --no-browser --port 8890
lab: venv
	$(BIN)/python -c "import jupyterlab" 2>/dev/null || $(BIN)/python -m pip install --quiet -c $(CONSTRAINTS) -e ".[lab,distributed]"
	$(BIN)/python -m jepabook.sphinx_site.config --lab-settings "$$($(BIN)/python -c 'import sys; print(sys.prefix)')/share/jupyter/lab/settings/overrides.json"
	$(BIN)/python -m jupyterlab --notebook-dir=book $(LAB_ARGS)

bench: venv
	$(BIN)/python benchmarks/bench_sigreg.py

clean:
	rm -rf _build
