"""The domain imports only the standard library (STYLE.md rule 1)."""

from __future__ import annotations

import json
import subprocess
import sys

FORBIDDEN = ("sqlalchemy", "pynetdicom", "pydicom", "fastapi", "pydantic", "hl7")

SCRIPT = """
import importlib, json, pkgutil, sys
import lysbord.domain as domain
names = [m.name for m in pkgutil.walk_packages(domain.__path__, "lysbord.domain.")]
for name in names:
    importlib.import_module(name)
print(json.dumps({"modules": names, "loaded": sorted(sys.modules)}))
"""


def test_domain_imports_no_framework() -> None:
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, check=True, timeout=60
    )
    result = json.loads(out.stdout)
    assert {"lysbord.domain.cpr", "lysbord.domain.workflow"} <= set(result["modules"])
    leaked = [
        m for m in result["loaded"] if any(m == f or m.startswith(f + ".") for f in FORBIDDEN)
    ]
    assert leaked == []
