"""The [hl7_out] settings: read from TOML, refused with the field named."""

from __future__ import annotations

from pathlib import Path

import pytest

from lysbord.config import load_settings
from lysbord.domain.errors import ConfigError

TOML = """
[hl7_out]
max_attempts = 3
[[hl7_out.destinations]]
name = "ehr"
host = "10.0.0.1"
port = 6661
messages = ["ORU"]
[[hl7_out.destinations]]
name = "ris2"
host = "10.0.0.2"
port = 6662
"""


def test_destinations_from_toml(tmp_path: Path) -> None:
    (tmp_path / "lysbord.toml").write_text(TOML)
    out = load_settings(data_dir=tmp_path).hl7_out
    assert out.max_attempts == 3
    assert out.subscribers("ORU") == ["ehr", "ris2"]
    assert out.subscribers("SIU") == ["ris2"]
    assert out.destination("ris2") is not None and out.destination("nope") is None


DUPLICATE = '[[hl7_out.destinations]]\nname = "ehr"\nhost = "h"\nport = 1\n'
UNKNOWN = '[[hl7_out.destinations]]\nname = "x"\nhost = "h"\nport = 1\nmessages = ["ADT"]\n'


@pytest.mark.parametrize(
    ("extra", "field", "reason"),
    [
        (DUPLICATE, "hl7_out", "'ehr' is listed twice"),
        (UNKNOWN, "hl7_out.destinations.2.messages.0", "'SIU', 'ORM' or 'ORU'"),
    ],
)
def test_bad_settings_name_the_field(tmp_path: Path, extra: str, field: str, reason: str) -> None:
    (tmp_path / "lysbord.toml").write_text(TOML + extra)
    with pytest.raises(ConfigError) as err:
        load_settings(data_dir=tmp_path)
    assert err.value.field == field
    assert reason in err.value.reason
