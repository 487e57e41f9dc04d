# Livefeed: `make run` for a first look, `make test` for the whole suite, `make bench` and
# `make soak` before a release.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
READERS ?= 5000

# Every server, worker and test process imports some 1,500 modules: keep their compiled bytecode
# (some environments set PYTHONDONTWRITEBYTECODE), or each one spends seconds compiling them again.
unexport PYTHONDONTWRITEBYTECODE

.PHONY: run test test-core test-sqlite test-postgres test-postgres-1 test-postgres-2 test-browser test-browser-1 test-browser-2 test-containers test-images lint audit lock bench bench-http bench-crowd soak screenshots

# pip itself comes from the lock too (pip-audit needs it): no unpinned upgrade first.
$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# The installer: uv, at the version and hashes the dev lock pins, installed by pip. It installs the
# locks below in seconds where pip takes minutes (parallel downloads, no per-package builds).
$(BIN)/uv: requirements-dev.txt | $(BIN)/python
	awk '/^uv==/{p=1} p{print; if ($$0 !~ /\\$$/) exit}' requirements-dev.txt > $(VENV)/uv-lock.txt
	$(BIN)/python -m pip install --quiet --require-hashes --no-deps -r $(VENV)/uv-lock.txt
	touch $@

# Installed from the locks only: every package, indirect ones included, pinned with its hashes.
UV_INSTALL = $(BIN)/uv pip install --quiet --python $(BIN)/python --require-hashes --no-config \
	--compile-bytecode --index-url https://pypi.org/simple
$(VENV)/.runtime: requirements.txt | $(BIN)/uv
	$(UV_INSTALL) -r requirements.txt
	touch $@

$(VENV)/.dev: requirements.txt requirements-dev.txt | $(BIN)/uv
	$(UV_INSTALL) -r requirements-dev.txt
	touch $@ $(VENV)/.runtime

# requirements*.in are the lists people edit; this writes the locks from them, from PyPI alone
# (versions already locked are kept unless an .in file asks for another).
# Resolved for Debian bookworm's Python 3.11.2, the oldest the project runs on (the image's): a
# package only older 3.11s need (async-timeout) is in the lock, and newer ones install it too.
UV_COMPILE = $(BIN)/uv pip compile --quiet --generate-hashes --python-version 3.11.2 --no-config \
	--index-url https://pypi.org/simple --custom-compile-command "make lock"
lock: $(VENV)/.dev
	$(UV_COMPILE) -o requirements.txt requirements.in
	$(UV_COMPILE) -o requirements-dev.txt requirements-dev.in

# DEBUG is off unless set; a first look on a laptop runs with it on.
run: export DEBUG ?= true
run: $(VENV)/.runtime
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py loaddemo
	@echo
	@echo "  Livefeed is starting on http://$(HOST):$(PORT)/"
	@echo "  Demo feed (reader page): http://$(HOST):$(PORT)/feeds/harbor-city-200/"
	@echo "  Editor admin:            http://$(HOST):$(PORT)/admin/"
	@echo "  $$($(BIN)/python manage.py ensureadmin)"
	@echo "  Open a feed in the admin, then its live desk, and watch entries appear on the reader page."
	@echo "  The background worker (scheduled entries, timing sources, webhooks) runs alongside. Ctrl+C stops both."
	@echo
	@$(BIN)/python manage.py db_worker --queue-name '*' --no-reload & worker=$$!; \
	trap 'kill $$worker 2>/dev/null; wait $$worker 2>/dev/null' EXIT INT TERM; \
	$(BIN)/python -m livefeed.serve --host $(HOST) --port $(PORT)

test: $(VENV)/.dev
	$(MAKE) --no-print-directory lint
	$(MAKE) --no-print-directory audit
	./scripts/install-test-packages.sh
	npm ci --no-audit --no-fund
	$(MAKE) --no-print-directory -j5 --output-sync=target test-core test-sqlite \
		test-postgres-1 test-postgres-2 test-browser-1 test-browser-2

# Quality gates: lint and formatting, types, and migrations that match the models.
LINTED := feeds livefeed tests bench scripts manage.py
lint: $(VENV)/.dev
	$(BIN)/ruff check $(LINTED)
	$(BIN)/ruff format --check $(LINTED)
	$(BIN)/mypy
	DEBUG=true $(BIN)/python manage.py makemigrations --check --dry-run

# Known vulnerabilities in any locked package (PyPI's advisory data).
audit: $(VENV)/.dev
	$(BIN)/pip-audit --require-hashes --disable-pip -r requirements-dev.txt

# The core without any plug-in app installed (LIVEFEED_PLUGINS empty): a quick SQLite subset.
CORE_TESTS := tests/test_import_graph.py tests/test_roles.py tests/test_admin.py tests/test_desk.py \
	tests/test_housekeeping.py tests/test_commands.py tests/test_services.py tests/test_views.py \
	tests/test_syndication.py tests/test_api.py
test-core: $(VENV)/.dev
	LIVEFEED_PLUGINS= $(BIN)/python -m pytest --db=sqlite -q $(CORE_TESTS)

# The passes run side by side (each spends much of its time waiting on servers and browsers), each
# one's output printed whole when it ends. The server side runs on both databases; the browser tests
# (marked `browser`), which judge what a page does with what the server sends, run once, on
# PostgreSQL, the production path. The PostgreSQL and browser passes run as two interleaved halves
# each (`--shard=1/2`, `--shard=2/2`), five passes side by side on two cores: most tests spend more
# time waiting on servers, sockets and pages than computing. Random order where the seed is printed
# in the header: a failure that depends on order is repeated with
# `pytest -p randomly --randomly-seed=N` (and the same `--shard`).
test-sqlite: $(VENV)/.dev
	$(BIN)/python -m pytest --db=sqlite -p randomly -m "not browser"

test-postgres: $(VENV)/.dev
	$(BIN)/python -m pytest --db=postgres -m "not browser"

test-postgres-1 test-postgres-2: $(VENV)/.dev
	$(BIN)/python -m pytest --db=postgres -m "not browser" --shard=$(subst test-postgres-,,$@)/2

test-browser: $(VENV)/.dev
	$(BIN)/python -m pytest --db=postgres -p randomly -m browser

test-browser-1 test-browser-2: $(VENV)/.dev
	$(BIN)/python -m pytest --db=postgres -p randomly -m browser --shard=$(subst test-browser-,,$@)/2

# The compose stack run for real with Podman: build the images (the debootstrap base is cached in
# /var/cache/livefeed/), bring the stack up, follow a feed through nginx across a restart of the
# web containers, bring it down. deploy/containers/containers.conf holds the Podman settings.
test-containers: export CONTAINERS_CONF := $(CURDIR)/deploy/containers/containers.conf
test-containers: $(VENV)/.dev test-images
	podman images --filter reference='localhost/livefeed*'
	LIVEFEED_CONTAINERS=1 $(BIN)/python -m pytest tests/containers -p no:randomly -s -q

# The images alone (test-containers builds them first; Podman reuses unchanged layers).
test-images: export CONTAINERS_CONF := $(CURDIR)/deploy/containers/containers.conf
test-images:
	./scripts/install-container-packages.sh
	./deploy/containers/build-images.sh

screenshots: $(VENV)/.dev
	./scripts/install-test-packages.sh
	$(BIN)/python scripts/screenshots.py

bench: $(VENV)/.dev
	./scripts/install-test-packages.sh
	$(BIN)/python -m bench.fanout --readers $(READERS)
	$(BIN)/python -m bench.posting
	$(BIN)/python -m bench.participation
	$(MAKE) --no-print-directory bench-http
	$(MAKE) --no-print-directory bench-crowd

# Page loads, revalidations, events polls, widget and static files under wrk (bench/http.py).
bench-http: $(VENV)/.dev
	./scripts/install-test-packages.sh
	$(BIN)/python -m bench.http

# READERS readers arriving within a second, then resuming across a server restart (bench/crowd.py).
bench-crowd: $(VENV)/.dev
	./scripts/install-test-packages.sh
	$(BIN)/python -m bench.crowd --readers $(READERS)

# Long fault tests with thousands of readers (a server killed under 2,000 of them).
soak: $(VENV)/.dev
	./scripts/install-test-packages.sh
	LIVEFEED_SOAK=1 $(BIN)/python -m pytest tests/soak -s
