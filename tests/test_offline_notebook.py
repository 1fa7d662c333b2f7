"""A chapter runs top to bottom with no network: its kernel may not open an outbound socket.

The kernel starts with a ``sitecustomize`` module on a temporary ``PYTHONPATH`` that
patches Python's ``socket`` module before anything else is imported: connecting or
sending to any address that is not loopback, and looking up any host name other than
``localhost`` (a DNS query), raises ``ConnectionRefusedError`` and is written to a log. The kernel's
own messages go over 127.0.0.1, so loopback stays open. A first cell, added to the
notebook for the run, proves the guard is active in that kernel; afterwards the log must
hold only that cell's deliberate attempts, so a refusal that the notebook caught and
hid would still fail the test. (Code that opens sockets from C, bypassing Python's
``socket`` module, is not covered.)
"""

import json
import os
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = ROOT / "book" / "03_gradients.ipynb"  # the shortest chapter to run

GUARD = '''
"""Refuse every non-loopback connection and host lookup (loaded by the test's kernel)."""
import ipaddress
import json
import os
import socket

_LOG = os.environ["NETWORK_GUARD_LOG"]


def _is_loopback(host):
    if isinstance(host, bytes):
        host = host.decode()
    if host is None or host == "localhost":
        return True
    try:
        return ipaddress.ip_address(str(host).split("%")[0]).is_loopback
    except ValueError:
        return False


def _refuse(what, address):
    with open(_LOG, "a") as log:
        log.write(json.dumps([what, repr(address)]) + "\\n")
    raise ConnectionRefusedError(f"network refused by the test: {what} {address!r}")


def _guarded(method):
    def guarded(self, *args):
        address = args[-1]
        if self.family in (socket.AF_INET, socket.AF_INET6) and not _is_loopback(address[0]):
            _refuse(method.__name__, address)
        return method(self, *args)

    return guarded


for _name in ("connect", "connect_ex", "sendto"):
    setattr(socket.socket, _name, _guarded(getattr(socket.socket, _name)))

_getaddrinfo = socket.getaddrinfo


def _is_address(host):
    try:
        ipaddress.ip_address(host.decode() if isinstance(host, bytes) else str(host))
    except ValueError:
        return False
    return True


def getaddrinfo(host, *args, **kwargs):
    if not (_is_loopback(host) or _is_address(host)):  # a name would need a DNS query
        _refuse("getaddrinfo", host)
    return _getaddrinfo(host, *args, **kwargs)


socket.getaddrinfo = getaddrinfo
socket.NETWORK_GUARD = True
'''

PROOF = """
import socket

assert getattr(socket, "NETWORK_GUARD", False), "the network guard is not loaded"
for attempt in (
    lambda: socket.create_connection(("192.0.2.1", 80), timeout=2),  # TEST-NET-1
    lambda: socket.socket().connect(("198.51.100.1", 53)),  # TEST-NET-2
    lambda: socket.getaddrinfo("example.invalid", 443),
):
    try:
        attempt()
    except ConnectionRefusedError as error:
        assert "network refused by the test" in str(error), error
    else:
        raise AssertionError("a connection to another host was allowed")
server = socket.create_server(("127.0.0.1", 0))  # loopback stays open
client = socket.create_connection(server.getsockname(), timeout=2)
client.close()
server.close()
"""


def test_a_chapter_runs_clean_with_outbound_sockets_refused(tmp_path):
    (tmp_path / "sitecustomize.py").write_text(GUARD)
    log = tmp_path / "refused.jsonl"
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    notebook.cells.insert(0, nbformat.v4.new_code_cell(PROOF))
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(tmp_path), env.get("PYTHONPATH", "")) if p)
    env.update(NETWORK_GUARD_LOG=str(log), OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    client = NotebookClient(
        notebook,
        timeout=300,
        kernel_name="python3",
        resources={"metadata": {"path": str(NOTEBOOK.parent)}},
    )
    client.execute(env=env)  # raises CellExecutionError on the first failing cell
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert all(cell.execution_count for cell in code), "a code cell did not run"
    errors = [o for cell in code for o in cell.outputs if o.output_type == "error"]
    assert errors == []
    refused = [json.loads(line) for line in log.read_text().splitlines()]
    assert [what for what, _ in refused] == ["connect", "connect", "getaddrinfo"], (
        f"the notebook tried to reach the network: {refused[3:]}"
    )
