# diaodu — one command to try it, one to test it.
VENV   ?= .venv
PY     := $(VENV)/bin/python
DIAODU := $(VENV)/bin/diaodu

.PHONY: install fonts test demo run upgrade bench clean

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	@# An editable install compiles none of the project: the first `diaodu run` would spend a second on it.
	$(PY) -m compileall -q bot handlers jobs storage
	touch $@

install: $(VENV)/.installed

## make fonts: the Chinese font the bulletin charts are drawn with (Debian package fonts-wqy-microhei)
CJK_FONT := /usr/share/fonts/truetype/wqy/wqy-microhei.ttc
fonts:
	@if [ -f $(CJK_FONT) ] || fc-list :lang=zh 2>/dev/null | grep -q .; then exit 0; fi; \
	if ! command -v apt-get >/dev/null; then \
	    echo "No Chinese font found: install fonts-wqy-microhei (or another CJK font) for the charts" >&2; exit 1; fi; \
	SUDO=; [ "$$(id -u)" -eq 0 ] || SUDO=sudo; \
	$$SUDO apt-get update && $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y fonts-wqy-microhei

## make test: install what is needed and run every test (PostgreSQL too when TEST_DATABASE_URL is set),
## in TEST_WORKERS processes at once (pytest-xdist; TEST_WORKERS=0 runs them all in one process)
TEST_WORKERS ?= 3
test: fonts install
	$(PY) -m pytest -q -n $(TEST_WORKERS) --dist worksteal

## make demo: build a demo database from the bundled sample ledger and chat with the bot in the terminal
demo: install
	$(DIAODU) demo

## make run: migrate the configured database and serve Telegram and/or WeCom (TELEGRAM_BOT_TOKEN, WECOM_*)
run: fonts install
	$(DIAODU) db upgrade
	$(DIAODU) run

bench: install
	$(PY) bench/report_throughput.py

clean:
	rm -rf $(VENV) data/demo.sqlite3* .pytest_cache
