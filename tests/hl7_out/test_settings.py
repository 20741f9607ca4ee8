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
    assert [d.name for d in out.subscribed("ORU")] == ["ehr", "ris2"]
    assert [d.name for d in out.subscribed("SIU")] == ["ris2"]
    assert out.destination("ris2") is not None and out.destination("nope") is None
    ris2 = out.destination("ris2")
    assert ris2 is not None and (ris2.no_show, ris2.order_status) == ("SIU^S26", "ORM^O01")


def test_a_destination_may_take_the_practice_over_the_standard(tmp_path: Path) -> None:
    practice = 'no_show = "SIU^S15"\norder_status = "OMI^O23"\n'
    (tmp_path / "lysbord.toml").write_text(TOML + practice)
    ris2 = load_settings(data_dir=tmp_path).hl7_out.destination("ris2")
    assert ris2 is not None
    assert [ris2.sent_as(t) for t in ("SIU^S26", "ORM^O01", "SIU^S12")] == [
        "SIU^S15",
        "OMI^O23",
        "SIU^S12",
    ]


def test_omi_is_refused_before_v25(tmp_path: Path) -> None:
    old = TOML.replace("max_attempts = 3", 'max_attempts = 3\nversion = "2.4"')
    (tmp_path / "lysbord.toml").write_text(old + 'order_status = "OMI^O23"\n')
    with pytest.raises(ConfigError) as err:
        load_settings(data_dir=tmp_path)
    assert "'ris2' wants OMI^O23, which HL7 defines from v2.5" in err.value.reason


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
