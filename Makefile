# xenlab: `make demo` builds the lab-in-a-box and the lab on it, and leaves an HTML
# report; `make test` runs the project's own tests (CI runs it via .ci/run).
# Both install what is missing (Debian packages, the venv in .venv). Run as root.

VENV   := .venv
PY     := $(VENV)/bin/python
REPORT := reports/latest/lab-report.html

.PHONY: setup demo test verify box-up box-down clean

$(VENV)/.installed: pyproject.toml
	@command -v python3 >/dev/null || (apt-get update -qq && apt-get install -y -qq python3)
	@python3 -m venv $(VENV) 2>/dev/null || (apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv && python3 -m venv $(VENV))
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $@

# The report in Chinese (--report-lang=zh_CN) needs a font with CJK glyphs: WenQuanYi Micro
# Hei, a small one of Debian's (1.6 MB to fetch, 5 MB installed) that has every glyph the
# catalog uses (tests/test_i18n.py checks it in Chromium).
CJK_FONT := fonts-wqy-microhei

setup: $(VENV)/.installed
	@fc-list :lang=zh-cn 2>/dev/null | grep -q . || (apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(CJK_FONT))
	$(PY) -m xenlab box setup

# The main job: the lab-in-a-box (built if needed), the lab built on it stage by
# stage, the migration there and back, and an HTML report.
demo: setup
	$(PY) -m xenlab box up
	$(PY) -m pytest --lab-mode=build --allow-destructive -v
	@echo "report: $(REPORT)"

# Read-only check of the running lab-in-a-box (the migration goes there and back).
verify: setup
	$(PY) -m pytest -v
	@echo "report: $(REPORT)"

# The report tests look at the HTML report in a real browser (Debian's chromium), the
# Chinese one with the font setup installs. The tests without the box first, on both
# cores (~2 min); then the box's, one after another on one box (they build on each other).
test: setup
	@command -v chromium >/dev/null || (apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium)
	$(PY) -m pytest tests -m "not box" -n 2 -p no:cacheprovider --durations=10
	$(PY) -m pytest tests -m box -v -p no:cacheprovider --durations=25

box-up: setup
	$(PY) -m xenlab box up

box-down: setup
	$(PY) -m xenlab box down

clean: box-down
	rm -rf reports
