# Entry points for people and CI. `make demo` deploys Spiff Arena onto sandbox
# VMs on this machine; `make test` runs every check CI runs. Both install what
# they need (Debian packages, .venv, collections, images) on first use.

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
VENV := $(CURDIR)/.venv
COLLECTIONS := $(VENV)/collections
export PATH := $(VENV)/bin:$(PATH)
export ANSIBLE_COLLECTIONS_PATH := $(CURDIR)/collections:$(COLLECTIONS)
export ANSIBLE_COLLECTIONS_SCAN_SYS_PATH := false
export ANSIBLE_FORCE_COLOR ?= false
export PY_COLORS ?= 0

SCENARIOS ?= $(sort $(notdir $(patsubst %/molecule.yml,%,$(wildcard molecule/*/molecule.yml))))
DEMO_SCENARIO ?= demo
# Scenarios `make molecule` does not run: the demo (`make demo`) and the
# benchmark's VMs (`make bench`). `make test` leaves out MATRIX_SCENARIO too:
# `make matrix` has run it under the oldest ansible-core (it tests the sandbox,
# not the collection).
NOT_TESTED := $(DEMO_SCENARIO) bench

.PHONY: help test demo demo-destroy bench bench-guard host venv images lint build unit unit-tests unit-images molecule clean matrix matrix-venvs matrix-oldest matrix-middle matrix-cores sanity changelog

help:
	@echo "make demo          deploy Spiff Arena onto sandbox VMs and print where it answers"
	@echo "make demo-destroy  remove the sandbox VMs of the demo"
	@echo "make test          lint, build the collection, unit tests, every Molecule scenario"
	@echo "make molecule SCENARIOS='smoke data'   run some scenarios only"
	@echo "make matrix        the tests under each older ansible-core, with the oldest collections"
	@echo "make sanity        ansible-test sanity on the built collection; make changelog: lint it"
	@echo "make bench         time deploys, no-op runs and a rolling upgrade on 8 sandbox VMs"
	@echo "                   (BENCH_ARGS='--sizes 2,4 --skip-upgrade --keep'; results in .cache/bench/)"
	@echo "make bench-guard   time the inventory checks (site.yml's first play) on 8, 50 and 200 hosts"

# Three jobs at first: the image builds, then the image and stand-in tests
# (their containers mostly wait); the matrix's venvs, then its middle cores
# (neither needs an image; on a bare machine the builds and venvs are mostly
# downloads: Debian packages and PyPI); lint, sanity (after build) and changelog.
# Then the unit and validation tests, the oldest core, and Molecule, one
# after the other; each step prints its time. Measured 2026-12-03: the
# checks run beside the scenarios took 24 min instead of 6 and slowed the
# first two scenarios (models 1291 s instead of 552: the 2 cores are the
# limit), so nothing runs beside Molecule.
test:
	@mkdir -p .cache
	@$(MAKE) --no-print-directory images unit-images > .cache/images.log 2>&1 & pid=$$!; \
	  $(MAKE) --no-print-directory matrix-venvs matrix-middle > .cache/matrix-middle.log 2>&1 & vpid=$$!; \
	  rc=0; for step in lint sanity changelog; do start=$$(date +%s); \
	    $(MAKE) --no-print-directory $$step || { rc=$$?; break; }; \
	    echo "=== make $$step: passed in $$(( $$(date +%s) - start )) s"; done; \
	  irc=0; wait $$pid || irc=$$?; vrc=0; wait $$vpid || vrc=$$?; \
	  echo "=== make images unit-images (beside lint, sanity and changelog), exit $$irc:"; cat .cache/images.log; \
	  echo "=== make matrix-venvs matrix-middle (beside them too), exit $$vrc:"; cat .cache/matrix-middle.log; \
	  [[ $$rc -eq 0 && $$irc -eq 0 && $$vrc -eq 0 ]]
	@start=$$(date +%s); $(MAKE) --no-print-directory unit-tests; \
	  echo "=== make unit-tests: passed in $$(( $$(date +%s) - start )) s"
	$(MAKE) --no-print-directory matrix-oldest
	$(MAKE) --no-print-directory molecule NOT_TESTED="$(NOT_TESTED) $(MATRIX_SCENARIO)"
	@echo "make test: all checks passed"

host:
	@tests/tools/host-setup.sh

# Under a lock, made again only if still stale: two jobs of `make test` may
# both need it at first.
$(VENV)/.done: requirements.txt requirements.yml tests/tools/install_collections.py
	@mkdir -p .cache
	flock .cache/venv.lock sh -c '[ -f $@ ] && [ -z "$$(find $^ -newer $@)" ] || { \
	  python3 -m venv $(VENV) && $(VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements.txt && \
	  $(VENV)/bin/python tests/tools/install_collections.py $(COLLECTIONS) && touch $@; }'

venv: $(VENV)/.done

# Under a lock: two makes run at once (make demo beside make test) build them once.
images: host
	@mkdir -p .cache
	flock .cache/images.lock python3 tests/images/build.py

lint: venv
	yamllint --strict .
	python3 tests/tools/check_argument_specs.py
	python3 tests/tools/docs.py --check
	ansible-lint --profile production

build: venv
	rm -rf .cache/dist && mkdir -p .cache/dist/collections
	ansible-galaxy collection build --force --output-path .cache/dist .
	ansible-galaxy collection install --force -p .cache/dist/collections .cache/dist/spiff-arena-*.tar.gz
	cd .cache/dist && ANSIBLE_COLLECTIONS_PATH=$(CURDIR)/.cache/dist/collections:$(COLLECTIONS) \
	  ansible-playbook -i localhost, spiff.arena.site --syntax-check

# The validation tests each run ansible-playbook on the controller: two at a
# time; the image and stand-in tests (random container names) four at a time:
# they mostly wait on their containers.
unit: unit-tests unit-images

unit-tests: venv
	pytest -q -n 2 tests/unit tests/validation

unit-images: venv images
	pytest -q -n 4 tests/images tests/standin

# Older ansible-core minors Python 3.11 runs (the newest, 2.19, is .venv's):
# each builds and syntax-checks the collection and runs the validation tests
# of good inventories, with galaxy.yml's oldest collection versions; the oldest
# runs the unit tests, every validation test and MATRIX_SCENARIO too
# (tests/tools/matrix.sh). meta/runtime.yml and the README state this range.
MATRIX_CORES ?= 2.16.19 2.17.14 2.18.19
MATRIX_SCENARIO ?= smoke

# The cores' venvs alone (downloads from PyPI), one after the other: `make
# test` makes them beside lint.
matrix-venvs:
	@$(MAKE) --no-print-directory matrix-cores MATRIX_ARGS=--venv-only

matrix: matrix-oldest matrix-middle

# The oldest core, with MATRIX_SCENARIO (it needs the images).
matrix-oldest: venv images
	@$(MAKE) --no-print-directory matrix-cores MATRIX_CORES="$(firstword $(MATRIX_CORES))"

# The cores after it: no scenario, no image.
matrix-middle:
	@$(MAKE) --no-print-directory matrix-cores MATRIX_CORES="$(wordlist 2,99,$(MATRIX_CORES))" MATRIX_SCENARIO=

# Each core in turn; MATRIX_SCENARIO goes to the first. MATRIX_ARGS=--venv-only
# makes their venvs only.
matrix-cores:
	@scenario=$(MATRIX_SCENARIO); for core in $(MATRIX_CORES); do start=$$(date +%s); \
	  tests/tools/matrix.sh $(MATRIX_ARGS) $$core $$scenario || exit 1; scenario=; \
	  echo "=== matrix ansible-core $$core: $(if $(MATRIX_ARGS),venv ready,passed) in $$(( $$(date +%s) - start )) s"; \
	done

# ansible-test sanity on the collection as built (tests/sanity/ignore-2.19.txt
# travels in it); ansible-test's pip bootstrap made offline first. Its
# virtual environments are kept in ~/.ansible/test/venv (first run ~2 min).
SANITY_ROOT := $(CURDIR)/.cache/sanity/ansible_collections/spiff/arena
sanity: build
	python3 tests/tools/ansible_test_offline.py
	rm -rf .cache/sanity && mkdir -p $(SANITY_ROOT)
	tar -xzf .cache/dist/spiff-arena-*.tar.gz -C $(SANITY_ROOT)
	@extra=$$(ls $(SANITY_ROOT)/tests | grep -vx sanity || true); [[ -z $$extra ]] || \
	  { echo "galaxy.yml: add tests/$$extra to build_ignore (only tests/sanity belongs in the collection)"; exit 1; }
	@# its own git repository: else ansible-test lists the files of this one's, where .cache/ is ignored
	cd $(SANITY_ROOT) && git init --quiet && echo /tests/output/ > .git/info/exclude && \
	  ansible-test sanity --venv --python 3.11 --color no

changelog: venv
	antsibull-changelog lint

# Two scenarios at a time (each has its own VMs and network), longest first:
# MOLECULE_JOBS=1 runs them one after the other.
MOLECULE_JOBS ?= 2
molecule: venv images
	python3 tests/tools/run_scenarios.py --jobs $(MOLECULE_JOBS) $(filter-out $(NOT_TESTED),$(SCENARIOS))

demo: venv images
	python3 tests/tools/demo_images.py --out .cache/demo-images.yml
	molecule converge -s $(DEMO_SCENARIO) -- -e @$(CURDIR)/.cache/demo-images.yml
	molecule verify -s $(DEMO_SCENARIO)

demo-destroy: venv
	molecule destroy -s $(DEMO_SCENARIO)

bench: venv images
	python3 bench/run.py $(BENCH_ARGS)

# The first play of site.yml alone on 8, 50 and 200 generated hosts (no VM).
bench-guard: venv
	python3 bench/guard.py $(BENCH_GUARD_ARGS)

clean: demo-destroy
	rm -rf .cache/dist
