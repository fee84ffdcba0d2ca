"""Whether this process writes protocol messages of its own beside asyncpg's (issue #21's round-trip shortcuts).

``tenants.begin`` sends BEGIN with a transaction's first statement and a NOTIFY with its COMMIT;
``tenants.commit`` sends an audit statement and COMMIT with a carrier statement, and a fast write's statement
with COMMIT and the NOTIFY after it (``write_and_commit``). All of them write extended
query protocol messages straight to asyncpg's transport and then let asyncpg read the answers, relying on
how asyncpg keeps its transaction and statement cache (``Connection._top_xact``, ``_stmt_cache``,
``_transport``, ``_protocol``) and reads a pipeline's answers. Those are asyncpg's internals, not its API: they
are tested on the asyncpg release constraints.txt pins, and a different release may keep them otherwise — a
protocol out of step is a connection that answers the wrong statement, far worse than a round trip.

So the shortcuts run only where both hold: the installed asyncpg is a release they were tested on
(``TESTED``), and every internal they touch is there (``probe``). Anywhere else — or with
``GONGZHI_DB_WIRE_SHORTCUTS=0`` — every statement takes asyncpg's own path: BEGIN, the statement, COMMIT each
in its round trip, the same transactions and the same answers, one or two round trips more per request.
``create_app`` decides once (``configure``) and logs why when they are off against the setting.
"""

from __future__ import annotations

import ctypes
import importlib
import socket
from typing import Any

# asyncpg releases (major, minor) whose internals the shortcuts were tested on: constraints.txt's pin. Adding
# one means running tests/tenants (test_begin_with_first_statement, test_commit_then, test_commit_with_audit,
# test_wire_shortcuts, test_write_with_commit) and tests/faults/test_driver_paths against it first.
TESTED = ((0, 32),)

_CONNECTION_SLOTS = ("_protocol", "_transport", "_top_xact", "_stmt_cache")
_TRANSACTION_SLOTS = ("_state", "_nested")


def _release(version: str) -> tuple[int, int] | None:
    parts = version.split(".")
    try:
        return int(parts[0]), int(parts[1])
    except (IndexError, ValueError):
        return None


def probe(version: str | None = None) -> str | None:
    """Why the shortcuts cannot run with this asyncpg (a sentence for the log), or None: they can. ``version``:
    the installed release's unless given (tests)."""
    if version is None:
        import asyncpg
        version = str(asyncpg.__version__)
    if _release(version) not in TESTED:
        tested = ", ".join(f"{a}.{b}" for a, b in TESTED)
        return f"asyncpg {version} is not a release the round-trip shortcuts were tested on ({tested})"
    try:
        from asyncpg import connection, protocol, transaction
        slots = set(connection.Connection.__slots__)
        missing = [s for s in _CONNECTION_SLOTS if s not in slots]
        missing += [s for s in _TRANSACTION_SLOTS if s not in set(transaction.Transaction.__slots__)]
        missing += [s for s in ("STARTED", "COMMITTED", "FAILED") if not hasattr(transaction.TransactionState, s)]
        missing += [s for s in ("get", "get_max_size") if not hasattr(connection._StatementCache, s)]
        if not hasattr(protocol.Protocol, "get_record_class"):
            missing.append("Protocol.get_record_class")
        if not hasattr(protocol.Protocol, "queries_count"):  # tenants.commit.Writing
            missing.append("Protocol.queries_count")
        if not hasattr(protocol.protocol.PreparedStatementState, "_get_parameters"):  # tenants.commit.parameter_types
            missing.append("PreparedStatementState._get_parameters")
        if not hasattr(connection.Connection, "_get_statement"):  # tenants.begin.commit_then, tenants.commit.Writing
            missing.append("Connection._get_statement")
    except (ImportError, AttributeError) as e:
        return f"asyncpg {version}: {e}"
    if missing:
        return f"asyncpg {version} lacks what the round-trip shortcuts use: {', '.join(missing)}"
    return None


_PROBED = probe()
enabled = _PROBED is None  # read by tenants.begin and tenants.commit at every use


def configure(allowed: bool) -> str | None:
    """The process's choice (``GONGZHI_DB_WIRE_SHORTCUTS``): on only where allowed and ``probe`` found nothing
    against. Returns why they are off although allowed (for the log), else None."""
    global enabled
    enabled = allowed and _PROBED is None
    return _PROBED if allowed else None



def _sender() -> Any:
    """libc's ``send(2)`` (Linux: ``MSG_MORE``), or None: ``ahead`` writes through the transport."""
    if not hasattr(socket, "MSG_MORE"):
        return None
    try:
        send = ctypes.CDLL(None, use_errno=True).send
    except (OSError, AttributeError):
        return None
    send.argtypes = (ctypes.c_int, ctypes.c_char_p, ctypes.c_size_t, ctypes.c_int)
    send.restype = ctypes.c_ssize_t
    return send


_SEND = _sender()
_MORE = getattr(socket, "MSG_MORE", 0)
def _plain_transports() -> frozenset[type]:
    """Transports whose bytes go to their socket as they are (no TLS: a TLS transport's socket carries records):
    uvloop's TCP and Unix ones (``gongzhi serve``'s loop), asyncio's selector one (the tests')."""
    found: list[type] = []
    for module, names in (("uvloop.loop", ("TCPTransport", "UnixTransport")),
                          ("asyncio.selector_events", ("_SelectorSocketTransport",))):
        try:
            loaded = importlib.import_module(module)
        except ImportError:  # pragma: no cover - both are there
            continue
        found += [t for t in (getattr(loaded, n, None) for n in names) if isinstance(t, type)]
    return frozenset(found)


_PLAIN = _plain_transports()


def ahead(transport: Any, data: bytes) -> None:
    """Write ``data`` — a shortcut's messages (BEGIN ahead of a transaction's first statement, a write and COMMIT
    ahead of the NOTIFY) — so that it leaves with the transport's next write, which the caller makes at once
    (asyncpg's Bind/Execute/Sync): one segment and one wake-up of the server's backend, not two (issue #21: a
    report's two round trips were four sends, four wake-ups of its backend).

    ``data`` goes into the socket's send queue with ``MSG_MORE`` (Linux: queued in order, held until the next send
    without it) when the transport is a plain one (no TLS) with nothing queued itself — else its queued bytes
    would come after; then, and anywhere else, the transport writes it as before. A partial or refused send leaves
    the rest to the transport, in order. Held bytes are not lost: they leave with the next write on the socket,
    whatever it is (a ROLLBACK's too), at its close, or after TCP's probe timer (≈ 0.2 s) if nothing follows."""
    if _SEND is not None and type(transport) in _PLAIN and transport.get_write_buffer_size() == 0:
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sent = _SEND(sock.fileno(), data, len(data), _MORE)
            if sent == len(data):
                return
            if sent > 0:
                data = data[sent:]
    transport.write(data)
