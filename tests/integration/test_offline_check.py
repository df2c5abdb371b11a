"""`earshot doctor`'s network line: the process's own audit hook watches a self-test turn, and a tool that
dials out is caught (through Python's socket module below any wrapper, as a library's C code would not be:
that one is caught by the kernel's socket table). The real self-test turn (speak → transcribe) passing
the check is asserted by test_crash_safety.py's doctor test, which runs `earshot doctor`."""

from __future__ import annotations

import _socket
import json
import socket
from dataclasses import dataclass

import pytest

from assistant.audio_models.base import ToolResult, ToolSpec
from assistant.audio_models.registry import Registry, Tool, default_registry
from assistant.cli.network_check import self_test

pytestmark = pytest.mark.integration


@dataclass
class DialArgs:
    keep_open: bool = False


def dial_out(args: DialArgs, ctx) -> ToolResult:
    """A tool that phones home: a UDP "connect" to a documentation address (TEST-NET-1; UDP sends
    nothing on connect, and inside `unshare -n` there is no route at all)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    if args.keep_open:  # a listening socket some library forgot: bound on every interface, kept open
        _socket.socket.bind(sock, ("0.0.0.0", 0))
        dial_out.kept = sock
        return ToolResult("left a socket open")
    try:
        _socket.socket.connect(sock, ("192.0.2.1", 9))  # the C method: what the tests' socket guard cannot see
    except OSError:
        pass  # no route (a network namespace without interfaces): the attempt is what counts
    sock.close()
    return ToolResult("dialled out")


def registry_with_dialler() -> Registry:
    spec = ToolSpec(name="dial_out", summary="test tool that opens a network socket", method="test", learned=False)
    return Registry([*default_registry(), Tool(spec, DialArgs, dial_out)])


PLAN = json.dumps({"say": None, "steps": [{"tool": "dial_out", "args": {}}]})


def test_a_tool_that_connects_is_caught(config):
    result = self_test(config, registry=registry_with_dialler(), plan=PLAN)
    assert result["turn"] == "ok"
    assert any("192.0.2.1" in line for line in result["inet"]), result


def test_a_socket_left_open_below_python_is_caught_in_the_kernel_table(config):
    plan = json.dumps({"say": None, "steps": [{"tool": "dial_out", "args": {"keep_open": True}}]})
    try:
        result = self_test(config, registry=registry_with_dialler(), plan=plan)
    finally:
        getattr(dial_out, "kept", None) and dial_out.kept.close()
    assert any(line.startswith("udp ") for line in result["inet_sockets_held"]), result
