# Two commands for a newcomer: `make run` and `make test`. Everything installs into .venv,
# pinned by constraints.txt.
VENV := .venv
BIN := $(VENV)/bin
PYTHON ?= python3

.PHONY: install browser tools run test bench lint clean

$(BIN)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -c constraints.txt -e '.[dev]'
	touch $@

install: $(BIN)/.installed

# The browser tests drive Debian's Chromium (not a browser downloaded by Playwright).
browser:
	@command -v chromium >/dev/null 2>&1 || { apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

# The C2SP checkpoint tests cross-check our encoding with Go's golang.org/x/mod/sumdb/note and
# sumdb/tlog, from Debian's packages, built offline (GOPATH mode over /usr/share/gocode).
tools:
	@{ command -v go >/dev/null 2>&1 && test -d /usr/share/gocode/src/golang.org/x/mod/sumdb/note; } || \
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
			golang-go golang-golang-x-mod-dev >/dev/null; }

run: install
	$(BIN)/minhbach demo
	$(BIN)/minhbach serve --host 127.0.0.1 --port 8000 --demo-witnesses

test: install browser tools
	$(BIN)/ruff check domain projections ledger adapters api migrations tests bench tools
	$(BIN)/mypy domain projections ledger adapters api
	$(BIN)/pytest -q --durations=15

bench: install
	$(BIN)/minhbach bench

lint: install
	$(BIN)/ruff check .
	$(BIN)/mypy domain projections ledger adapters api

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache .hypothesis
