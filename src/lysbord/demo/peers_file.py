"""The demo's settings file: its scanners and DCMTK's default AE titles as known DICOM peers.

Unknown calling AE titles are refused (``dicom_allow_any_peer`` stays false, so the
demo does not teach an open door); these peers make ``echoscu``, ``storescu``,
``findscu``, ``getscu`` and ``movescu -aem STORESCP`` work against ``make run``.
"""

from __future__ import annotations

import os
from pathlib import Path

from lysbord.services.operations.region import SiteView

HEADER = """\
# Written by `lysbord demo`. Settings: flags > LYSBORD_* environment > this file.
dicom_allow_any_peer = false
"""
DCMTK_CLIENTS = ("ECHOSCU", "STORESCU", "FINDSCU", "MOVESCU", "GETSCU")
STORESCP = ("STORESCP", 11113)  # `storescp 11113`, the C-MOVE destination


def _peer(ae_title: str, port: int, site: str | None = None, **flags: bool) -> str:
    lines = ["[[dicom_peers]]", f'ae_title = "{ae_title}"', 'host = "127.0.0.1"', f"port = {port}"]
    if site:
        lines.append(f'site = "{site}"')
    lines += [f"{name} = {str(value).lower()}" for name, value in flags.items()]
    return "\n".join(lines) + "\n"


def write_peers_file(path: Path, sites: list[SiteView]) -> bool:
    """Write ``path`` unless it exists (a person's own settings win); True if written."""
    if path.exists():
        return False
    scanners = [
        _peer(room.ae_title, 104, site.code, query=False, retrieve=False)
        for site in sites
        for room in site.rooms
    ]
    tools = [_peer(ae, 104) for ae in DCMTK_CLIENTS] + [_peer(*STORESCP)]
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)  # settings: ours only
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write("\n".join([HEADER, *tools, *scanners]))
    return True
