#!/usr/bin/env bash
# One step of `make matrix`: the collection under an older ansible-core, with
# the oldest collection versions galaxy.yml declares.
#   tests/tools/matrix.sh CORE [SCENARIO]
#   tests/tools/matrix.sh --venv-only CORE [SCENARIO]
# CORE: an ansible-core version (2.16.19). SCENARIO: given for the oldest core,
# which runs the unit tests, the validation tests (good inventories, the
# batched bad values, the playbooks' refusals; not the 110 bad inventories
# of one site.yml run each, whose checks are the guard's Python, the same
# under every core: .venv's 2.19 runs them) and that Molecule scenario too;
# the cores between it and .venv's run only the validation tests of good
# inventories (they pass every check of the guard: the playbooks' first play
# and the plugins it loads, under that core), to keep `make test` within CI's
# time. --venv-only: only make the core's venv (`make test` makes them beside
# the image builds: downloads). Everything lives under .cache/matrix/ and is rebuilt from PyPI when
# missing or stale: a venv per core (ansible-core, and the pytest/Molecule
# tools pinned in requirements.txt), and one collections tree shared by all
# cores (tests/tools/install_collections.py --oldest).
set -euo pipefail
cd "$(dirname "$0")/../.."
venv_only=
[[ ${1:-} == --venv-only ]] && { venv_only=1; shift; }
core=$1 scenario=${2:-}
repo=$PWD matrix=$PWD/.cache/matrix
venv=$matrix/core-$core collections=$matrix/collections
step() { echo "=== matrix ansible-core $core: $*"; }

mkdir -p "$matrix"
# requirements.txt without ansible-core (nor extras, which pip refuses in
# constraints): the same pins for the tools.
grep -v '^ansible-core==' requirements.txt | sed 's/\[[^]]*\]//' > "$matrix/constraints.txt"
packages=("ansible-core==$core" pytest pytest-xdist)
[[ -n $scenario ]] && packages+=(molecule pytest-testinfra docker)
key="${packages[*]} $(sha256sum "$matrix/constraints.txt" | cut -c1-16)"
if [[ ! -f $venv/.done || $(cat "$venv/.done") != "$key" ]]; then
  step "venv (${packages[*]})"
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -c "$matrix/constraints.txt" "${packages[@]}"
  echo "$key" > "$venv/.done"
fi
# Shared by the cores: the first step extracts it, the others find it up to date.
"$venv/bin/python" tests/tools/install_collections.py "$collections" --oldest
[[ -z $venv_only ]] || exit 0

export PATH=$venv/bin:$PATH
export ANSIBLE_COLLECTIONS_PATH=$repo/collections:$collections
export ANSIBLE_COLLECTIONS_SCAN_SYS_PATH=false
version=$(ansible --version)
[[ $version == *"core $core]"* ]] || { echo "$(command -v ansible) is not ansible-core $core: $version"; exit 1; }

step "build, install, syntax-check every playbook"
dist=$venv/dist
rm -rf "$dist" && mkdir -p "$dist/collections"
ansible-galaxy collection build --force --output-path "$dist" . >/dev/null
ansible-galaxy collection install --force -p "$dist/collections" "$dist"/spiff-arena-*.tar.gz >/dev/null
for playbook in playbooks/*.yml; do
  name=$(basename "$playbook" .yml)
  (cd "$dist" && ANSIBLE_COLLECTIONS_PATH=$dist/collections:$collections \
    ansible-playbook -i localhost, "spiff.arena.$name" --syntax-check >/dev/null) \
    || { echo "syntax-check of spiff.arena.$name failed under ansible-core $core"; exit 1; }
done

if [[ -n $scenario ]]; then
  step "unit tests and validation tests but the bad inventories"
  pytest -q -p no:cacheprovider -n 2 tests/unit tests/validation -k "not test_bad_inventory_stops_in_the_guard"
else
  step "validation tests of good inventories"
  pytest -q -p no:cacheprovider -n 2 tests/validation -k good_inventory
fi

if [[ -n $scenario ]]; then
  step "molecule test -s $scenario"
  start=$(date +%s)
  # The same lock as tests/tools/run_scenarios.py: `make test` runs both at once.
  mkdir -p .cache/molecule
  flock ".cache/molecule/$scenario.lock" molecule test -s "$scenario"
  echo "=== matrix ansible-core $core: molecule test -s $scenario: passed in $(( $(date +%s) - start )) s"
fi
