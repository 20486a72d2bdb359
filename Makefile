# make run: start the app; make test: set everything up and run the tests. Nothing else is needed
# on a fresh machine than python3 (3.11 or newer) with pip.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# Extra pip arguments (an index, a cache folder) for machines that need them.
PIP_ARGS ?=
PIP := $(PY) -m pip install -q $(PIP_ARGS)

export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: venv test-deps run test lint clean distclean

venv: $(VENV)/.stamp-run

# Some distributions ship python3 without ensurepip: borrow the system's pip in that case.
$(PY):
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
		|| { echo "SGCond Studio needs Python 3.11 or newer; set PYTHON=..." >&2; exit 1; }
	$(PYTHON) -m venv $(VENV) || { rm -rf $(VENV); $(PYTHON) -m venv --without-pip --system-site-packages $(VENV); }

# Stamps make a second `make run` or `make test` start at once; they are redone when the
# requirements change.
$(VENV)/.stamp-run: requirements.txt | $(PY)
	$(PIP) -r requirements.txt
	@touch $@

$(VENV)/.stamp-test: requirements-dev.txt $(VENV)/.stamp-run
	$(PIP) -r requirements-dev.txt
	@touch $@

# The browser test drives Debian's Chromium (Playwright's own browser download does not work offline).
CHROMIUM := /usr/bin/chromium
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

$(CHROMIUM):
	$(SUDO) apt-get install -y -q chromium >/dev/null \
		|| { $(SUDO) apt-get update -q >/dev/null && $(SUDO) apt-get install -y -q chromium >/dev/null; }

run: venv
	$(PY) app.py

test-deps: $(VENV)/.stamp-test $(CHROMIUM)

test: test-deps
	$(PY) -m pytest -q

lint: test-deps
	$(PY) -m ruff check .

clean:
	rm -rf .pytest_cache .ruff_cache .gradio test-artifacts sgcond_app/ui/*.pyi
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV)
