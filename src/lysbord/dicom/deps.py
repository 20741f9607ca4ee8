"""What every DICOM handler may need, built once per process and passed to each."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pynetdicom import AE

from lysbord.services.archive.storing import InstanceIds
from lysbord.services.core.context import Context
from lysbord.store.blobs import BlobStore

# (event, handler) or (event, handler, [extra args]), as pynetdicom binds them.
Handler = tuple[Any, ...]


@dataclass
class DoorDeps:
    ctx: Context
    blobs: BlobStore
    ids: InstanceIds = field(default_factory=InstanceIds)
    #: Set while the door listens: the Storage Commitment worker delivers only then.
    listening: threading.Event = field(default_factory=threading.Event)
    #: Called when the door stops, after it stopped listening: background workers end.
    on_stop: list[Callable[[], None]] = field(default_factory=list)


# Each DICOM service module offers one: add its presentation contexts, return its handlers.
Installer = Callable[[AE, DoorDeps], list[Handler]]
