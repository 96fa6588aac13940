# Two commands: `make run` serves the app, `make test` runs every test. Both install what is
# missing first (Debian packages, the Python venv, front-end assets) and skip what is there.
PORT ?= 5000
VENV := .venv
PY := $(VENV)/bin/python
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
APT_RUN := postgresql-15 postgresql-15-postgis-3 fonts-noto-cjk
APT_TEST := chromium

.PHONY: run test test-citus citus bench system system-test translations clean
MO := webmap/translations/en/LC_MESSAGES/messages.mo
SETUP := system $(VENV)/.installed node_modules/.installed $(MO)
PEER := var/bench-peer/.installed

run: $(SETUP)
	$(PY) -m webmap.serve

test: $(SETUP) system-test
	$(VENV)/bin/pytest

# The database-touching tests on a Citus coordinator with two workers (docs/scaling.md): not
# part of `make test`, since CI has no Citus. Citus must be installed, or CITUS_SRC name its
# source tree to build and install it from.
CITUS_TESTS = $(filter-out %_browser.py,$(wildcard tests/test_*.py))
CITUS_APT := postgresql-server-dev-15 libkrb5-dev libcurl4-openssl-dev liblz4-dev libzstd-dev

test-citus: system $(VENV)/.installed $(MO) citus
	GRIDMAP_CITUS=1 $(VENV)/bin/pytest $(CITUS_TESTS)

citus: system
	@if $(PY) -c 'import sys; from layers.citus_cluster import installed; sys.exit(not installed())'; then \
		echo "Citus: installed"; \
	elif [ -n "$(CITUS_SRC)" ]; then \
		$(SUDO) apt-get update -q && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q $(CITUS_APT) && \
		$(SUDO) layers/citus_build.sh "$(CITUS_SRC)"; \
	else \
		echo "Citus is not installed: set CITUS_SRC to its source tree (docs/scaling.md)"; exit 2; \
	fi

# CITY=1: the synthetic city at full scale (50,000 compounds, 10^6 issues).
# CITUS=1: one node and a Citus coordinator with two workers, side by side (needs Citus, above).
# LOAD=1: the load test instead (50 Locust users for 60 s; nothing lost, no 5xx).
bench: $(SETUP) $(PEER) $(if $(CITUS),citus)
	$(if $(LOAD),$(PY) -m bench.load,$(PY) -m bench $(if $(CITY),--city) $(if $(CITUS),--citus))

# The peer server `make bench` measures /ogc beside (tipg), in a venv of its own: its pins
# (FastAPI, pydantic, asyncpg) are not the app's.
$(PEER):
	python3 -m venv var/bench-peer
	var/bench-peer/bin/pip install -q tipg==1.6.1 uvicorn==0.54.0
	touch $@

# Debian packages: installed only when something is missing (apt-get update runs once then).
system:
	@missing=$$(for p in $(APT_RUN); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing: $$missing"; \
		$(SUDO) apt-get update -q && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q $$missing; \
	fi

system-test:
	@missing=$$(for p in $(APT_TEST); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing: $$missing"; \
		$(SUDO) apt-get update -q && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q $$missing; \
	fi

$(VENV)/.installed: requirements.txt
	[ -x $(PY) ] || python3 -m venv $(VENV)
	$(PY) -m pip install -q -r requirements.txt
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

# Translations: compiled from the committed .po files.
$(MO): webmap/translations/en/LC_MESSAGES/messages.po $(VENV)/.installed
	$(VENV)/bin/pybabel compile -d webmap/translations

# After adding messages: refresh the catalog, then translate the new entries in the .po.
translations: $(VENV)/.installed
	$(VENV)/bin/pybabel extract -F webmap/babel.cfg -k _ -k gettext --no-location -o var/messages.pot webmap
	$(VENV)/bin/pybabel update -i var/messages.pot -d webmap/translations

clean:
	rm -rf $(VENV) node_modules
