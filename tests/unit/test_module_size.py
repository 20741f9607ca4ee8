"""No module over 300 lines (migrations exempt): one that grows past it is split along its seams."""

from pathlib import Path

import lysbord

LIMIT = 300
SOURCE = Path(lysbord.__file__).parent


def test_no_module_is_over_the_limit() -> None:
    over = {
        str(path.relative_to(SOURCE)): lines
        for path in sorted(SOURCE.rglob("*.py"))
        if "migrations" not in path.parts
        and (lines := len(path.read_text(encoding="utf-8").splitlines())) > LIMIT
    }
    assert over == {}, f"modules over {LIMIT} lines: {over}"
