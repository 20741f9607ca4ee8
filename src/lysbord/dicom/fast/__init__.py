"""Everything of the DICOM door that reaches into pynetdicom 3.0.4's internals.

Why C-STORE here beats Orthanc (DOMAIN.md §8), and why a pynetdicom upgrade could
break the door silently: so it is all in this package, pinned (``internals.PINNED``),
and checked against the installed pynetdicom by tests/unit/test_pynetdicom_seam.py.

- ``switch``: the fast paths on or off for the process (setting ``dicom_fast_paths``);
- ``path``: whole-PDU reads, event-driven DUL and reactor waits, cheap association set-up;
- ``store``: C-STORE requests served on the DUL thread that reads them;
- ``dimse``: the messages we send, encoded by hand;
- ``checkpoint``: the reactor's pause without its race;
- ``acceptor``: the listener shared by worker processes. Not a fast path: the door
  listens this way with them off too.

Outside this package the door uses pynetdicom's documented API only.

The internals relied on (``internals.INTERNALS``; [what here uses each]):

"""

from lysbord.dicom.fast.internals import describe

__doc__ = (__doc__ or "") + describe() + "\n"
