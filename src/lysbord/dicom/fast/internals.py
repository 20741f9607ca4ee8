"""The pynetdicom internals ``dicom/fast/`` relies on: one list for the package docstring
and for tests/unit/test_pynetdicom_seam.py, which checks each against the installed
pynetdicom (its presence, a callable's parameter names, text its source must hold)."""

from __future__ import annotations

from dataclasses import dataclass

PINNED = "3.0.4"  # pyproject.toml pins it; the fast paths apply to this version only


@dataclass(frozen=True, slots=True)
class Internal:
    """One piece of pynetdicom used beyond its documented API."""

    name: str  # dotted path below ``pynetdicom``
    params: tuple[str, ...] | None  # a callable's parameter names; None for a value
    why: str  # what for
    users: str  # what in dicom/fast/ to re-check when it changes
    instance: bool = False  # set by __init__: only instances have it
    needs: str = ""  # text its source must still contain (what the change relies on)


def _method(name: str, params: str, why: str, users: str, needs: str = "") -> Internal:
    return Internal(name, tuple(params.split()), why, users, needs=needs)


def _value(name: str, why: str, users: str, instance: bool = False) -> Internal:
    return Internal(name, None, why, users, instance=instance)


_DUL = "dul.DULServiceProvider"
_ASSOC = "association.Association"
_SERVER = "transport.AssociationServer"
_OURS = "acceptor.LysbordAssociationServer"
INTERNALS: tuple[Internal, ...] = (
    _method("transport.AssociationSocket.recv", "self nr_bytes",
            "replaced: reads a whole PDU with recv_into, not 4 KB at a time",
            "path.recv_whole, reading.receive"),
    _method(f"{_DUL}.run_reactor", "self",
            "runs as the DUL thread's target (Thread.run, wrapped for a wake-up pipe); its "
            "idle sleep is time.sleep(self._run_loop_delay)", "path.wrap_dul_run, path.DulTime",
            needs="time.sleep(self._run_loop_delay)"),
    _value("dul.time", "replaced: the DUL's idle sleep waits on its socket and pipe",
           "path.DulTime"),
    _method(f"{_DUL}.send_pdu", "self primitive",
            "wrapped: a queued PDU wakes the DUL thread at once", "path.wrap_send_pdu"),
    _method(f"{_DUL}._read_pdu_data", "self",
            "wrapped: in Sta6 a P-DATA-TF is read as bytes and C-STORE-RQs served there",
            "store.read_pdu", needs='self.event_queue.put("Evt17")'),
    _method(f"{_DUL}._decode_pdu", "self bytestream",
            "decodes a PDU read as bytes that the store path does not take", "store._decode"),
    _value(f"{_DUL}._recv_pdu", "queue the decoded PDU goes on, as _read_pdu_data does",
           "store._decode", instance=True),
    _value(f"{_DUL}.event_queue", "state machine events put directly (Evt17, Evt19)",
           "store.read_pdu, store._decode, store._abort", instance=True),
    _value(f"{_DUL}.to_provider_queue", "empty: an answer may go straight to the socket",
           "store._serve", instance=True),
    _value(f"{_DUL}.to_user_queue", "put() pokes the reactor (a release or abort)",
           "path.wrap_reactor", instance=True),
    _value("fsm.StateMachine.current_state", "'Sta6' (data transfer): the store path's state",
           "store.read_pdu", instance=True),
    _method(f"{_ASSOC}.__init__", "self ae mode",
            "wrapped: each association's reactor pause becomes a Checkpoint",
            "checkpoint.wrap_init"),
    _method(f"{_ASSOC}._run_reactor", "self",
            "wrapped: an acceptor's reactor is poked by puts on its queues; its 1 ms pass and "
            "its pause (_is_paused, _reactor_checkpoint.wait()) are what path and checkpoint "
            "replace", "path.wrap_reactor, path.REACTOR_PASS, checkpoint.Checkpoint",
            needs="time.sleep(0.001)"),
    _value("association.time", "replaced: the acceptor reactor's 1 ms pass waits for a poke",
           "path.ReactorTime"),
    _method(f"{_ASSOC}.kill", "self", "wrapped: pokes the reactor so that it leaves at once",
            "path.wrap_kill"),
    _value(f"{_ASSOC}._reactor_checkpoint", "the reactor's pause (an Event) replaced",
           "checkpoint", instance=True),
    _value(f"{_ASSOC}._is_paused", "unset by the Checkpoint inside its wait", "checkpoint",
           instance=True),
    _value(f"{_ASSOC}._accepted_cx", "context ID -> accepted context, checked per C-STORE-RQ",
           "store._start, store._serve", instance=True),
    _value("dimse.DIMSEServiceProvider.msg_queue", "put() pokes the reactor (a request)",
           "path.wrap_reactor", instance=True),
    _value("dimse.DIMSEServiceProvider.message", "not None: pynetdicom assembles a message",
           "store._start", instance=True),
    _method("dimse.DIMSEServiceProvider.send_msg", "self primitive context_id",
            "wrapped: the messages we send are encoded by hand", "dimse.wrap_send_msg"),
    _value("dimse._RQ_TO_MESSAGE", "primitive class -> request message class", "dimse"),
    _value("dimse._RSP_TO_MESSAGE", "primitive class -> response message class", "dimse"),
    _value("dimse_messages._MESSAGE_TYPES", "Command Field -> message name", "dimse"),
    _value("dimse_messages._COMMAND_SET_KEYWORDS", "each message's command set elements",
           "dimse._layout (and test_fastdimse: the same bytes as pynetdicom)"),
    _value("dimse_messages._DATASET_KEYWORDS", "each message's data set parameter",
           "dimse._data_set"),
    _value("dimse_primitives.DIMSEPrimitive._dataset_path",
           "set: a data set sent from a file, left to pynetdicom", "dimse._data_set"),
    _method("service_class.encode", "ds is_implicit_vr is_little_endian deflated",
            "wrapped: C-FIND answers built as bytes (encoding.Prebuilt) pass as they are",
            "dimse.wrap_encode"),
    _method("service_class.StorageServiceClass.SCP", "self req context",
            "0xC211 is its answer when the C-STORE handler raises", "store._EXCEPTION_IN_HANDLER",
            needs="0xC211"),
    _value("transport.deepcopy", "replaced: new associations copy the AE's contexts cheaply",
           "path.copy_contexts"),
    _value("presentation.PresentationContext._transfer_syntax",
           "the one mutable field of a context, copied by copy_contexts", "path.copy_contexts",
           instance=True),
    _method("transport.RequestHandler._create_association", "self",
            "copies the AE's contexts with the module's deepcopy; takes the address from local",
            "path.copy_contexts, path.listener_address", needs="deepcopy(self.server.contexts)"),
    _method("transport.RequestHandler.local", "self",
            "replaced: the listener's address resolved once per server",
            "path.listener_address"),
    _value("_config.LOG_HANDLER_LEVEL", "'none': no per-PDU log formatting", "switch"),
    _value("_config.LOG_REQUEST_IDENTIFIERS", "False: identifiers not formatted", "switch"),
    _value("_config.LOG_RESPONSE_IDENTIFIERS", "False: identifiers not formatted", "switch"),
    _value("ae.ApplicationEntity._servers", "our server appended, as start_server does, so "
           "that ae.shutdown() and server.shutdown() find it", "acceptor.start", instance=True),
    _method(f"{_SERVER}.shutdown", "self", "removes the server from ae._servers: it must be in",
            "acceptor.start", needs="ae._servers.remove"),
    _method(f"{_SERVER}.__init__",
            "self ae address ae_title contexts ssl_context evt_handlers request_handler",
            "subclassed: make_server passes our own keyword on",
            f"{_OURS}.__init__"),
    _method(f"{_SERVER}.server_bind", "self", "overridden: a shared socket is not bound",
            f"{_OURS}.server_bind"),
    _method(f"{_SERVER}.server_close", "self",
            "overridden: a shared socket is closed, never shut down",
            f"{_OURS}.server_close"),
    _method(f"{_SERVER}.get_request", "self", "overridden: TCP_NODELAY, and the least busy "
            "worker takes the next association", f"{_OURS}.get_request"),
    _method(f"{_SERVER}.service_actions", "self",
            "overridden: also publishes finished associations", _OURS),
)  # fmt: skip


def describe() -> str:
    """The list as the package docstring shows it: one line each."""
    lines = []
    for item in INTERNALS:
        called = f"({', '.join(item.params)})" if item.params is not None else ""
        lines.append(f"- ``pynetdicom.{item.name}{called}``: {item.why} [{item.users}]")
    return "\n".join(lines)
