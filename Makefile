# The two commands of the README:
#   make demo   - a demo course in ./demo-course: deploy, start, submit as several students, grade, report
#   make test   - install what the tests need (Python packages, Docker engine, podman...) and run them all
# The checks CI runs before the tests (.ci/run):
#   make lint       - ruff check + ruff format --check over the tree (rules in pyproject.toml)
#   make typecheck  - mypy --strict over ipynb_tools (config in pyproject.toml)
# Translations (docs/languages.md):
#   make messages   - extract the messages, merge them into every catalogue (.po), compile the .mo files
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
DEMO_DIR ?= demo-course

.PHONY: demo test test-fast bench venv system-deps lint typecheck clean messages catalogues labextension

# The install builds the limit notices' JupyterLab extension with npm (pyproject.toml, hatch-jupyter-builder):
# on a fresh machine as root (CI) the system packages, npm among them, come first. Without npm the
# install still succeeds, without that extension (a warning; tests/hub/test_limits_browser.py fails).
$(VENV)/.installed: pyproject.toml
	command -v npm >/dev/null 2>&1 || [ "$$(id -u)" != 0 ] || bash scripts/install-system-deps.sh
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test,hub,dev,lms,console]'
	touch $@

venv: $(VENV)/.installed

# Rebuild the JupyterLab extension after editing labextension/ and reinstall it into the venv
# (an editable install copies shared data: a rebuild alone does not reach the venv).
labextension: venv
	cd labextension && npm install --no-audit --no-fund && npm run build:prod
	$(PY) -m pip install --quiet --no-deps -e .

system-deps:
	bash scripts/install-system-deps.sh

demo: venv
	$(PY) -m ipynb_tools.demo $(DEMO_DIR)

test: venv system-deps catalogues
	$(PY) -m pytest $(PYTEST_ARGS)

# Unit tests only (no engine, no real containers): for the edit-test loop.
test-fast: venv catalogues
	$(PY) -m pytest -m "not slow and not engine and not database" $(PYTEST_ARGS)

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: venv
	$(VENV)/bin/mypy

# Domain ipynb_tools: the package without the console; domain console: the console's code and templates;
# domain click: click's own messages (Usage:, Error: No such option ...), extracted from the INSTALLED click,
# so after a click upgrade `make messages` shows its new/changed messages (ipynb_tools/cli/scripts.py binds it).
# After `make messages`, translate the new/changed entries (empty or "#, fuzzy") in each .po, then
# run it again (or `python hatch_build.py`) to compile; tests/test_i18n.py fails on an untranslated one.
LOCALE := ipynb_tools/locale
# The .mo files of the .po files as they are now (a pull or rebase brings new .po text; the
# editable install compiled the old one): what hatch_build.py does at install, in a second.
catalogues: venv
	$(PY) hatch_build.py >/dev/null

messages: venv
	$(VENV)/bin/pybabel -q extract -F babel.cfg --ignore-dirs '.* _* console locale' \
		--no-location --sort-output --project ipynb-tools -o $(LOCALE)/ipynb_tools.pot ipynb_tools
	$(VENV)/bin/pybabel -q update --no-wrap --ignore-pot-creation-date -D ipynb_tools -i $(LOCALE)/ipynb_tools.pot -d $(LOCALE)
	$(if $(wildcard ipynb_tools/console),$(VENV)/bin/pybabel -q extract -F babel.cfg --no-location --sort-output \
		--project ipynb-tools -o $(LOCALE)/console.pot ipynb_tools/console && \
		$(VENV)/bin/pybabel -q update --no-wrap --ignore-pot-creation-date -D console -i $(LOCALE)/console.pot -d $(LOCALE))
	$(VENV)/bin/pybabel -q extract -F babel.cfg --no-location --sort-output --project click \
		-o $(LOCALE)/click.pot "$$($(PY) -c 'import click, os; print(os.path.dirname(click.__file__))')"
	$(VENV)/bin/pybabel -q update --no-wrap --ignore-pot-creation-date -D click -i $(LOCALE)/click.pot -d $(LOCALE)
	$(PY) hatch_build.py

bench: venv
	$(PY) benchmarks/run_all.py

clean:
	rm -rf $(VENV) $(DEMO_DIR) build *.egg-info .pytest_cache .mypy_cache .ruff_cache
