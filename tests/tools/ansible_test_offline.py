#!/usr/bin/env python3
"""Let ansible-test make its virtual environments without ci-files.testing.ansible.com.

ansible-test bootstraps pip in each virtual environment it creates with a
get-pip script that it downloads once into ~/.ansible/test/cache/, named after
the pip version it wants. That host is not reachable from the build machines;
a cached script of the expected name is used as is. This writes one that runs
the interpreter's own ensurepip instead (ansible-test then installs its pinned
pip and the sanity requirements from PyPI as usual).
"""

import pathlib
import types

from ansible_test._internal.python_requirements import get_venv_packages

STUB = '''"""Written by spiff.arena's tests/tools/ansible_test_offline.py: pip from ensurepip."""
import ensurepip
import sys

sys.exit(ensurepip._main(["--upgrade", "--default-pip"]))
'''


def main():
    version = get_venv_packages(types.SimpleNamespace(version="3.11"))["pip"]
    path = pathlib.Path.home() / ".ansible/test/cache" / f"get_pip_{version.replace('.', '_')}.py"
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists() or path.read_text() != STUB:
        path.write_text(STUB)
    print(f"ansible-test: pip bootstrap from ensurepip at {path}")


if __name__ == "__main__":
    main()
