"""Phone calls across nodes (issue 12): Kamailio with deploy/kamailio/kamailio.cfg in front of two real
`helpline serve` nodes, each with its phone line; sipp callers dial the proxy's one address.

What a business relies on: calls are spread over both nodes; each is answered by a node (its Contact and the
SDP name that node, so the audio flows to it directly, not through the proxy) and the caller's ACK, re-INVITE
(hold) and BYE reach the node that holds the call through the proxy's Record-Route (a BYE reaching the other
node would get 481 and fail the sipp run; the node holding the call records that the caller hung up). A node
drained with kamcmd gets no new calls; with one node killed, the next calls are all answered by the other.

Skipped when /usr/sbin/kamailio (Debian package kamailio) or sipp is missing, unless HELPLINE_REQUIRE_KAMAILIO
is set (then it fails). Two nodes load the models on start: most of the time is their start-up.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import socket
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from helpline.channels.phone import PhoneCall, TransferFailed
from helpline.channels.phone.sdp import SessionDescription
from helpline.channels.phone.sip import SipRequest, SipResponse, new_branch, new_tag, parse_message
from helpline.store.db import Database
from helpline.store.models import AuditEntry, Conversation
from tests.channels.phone.peers import (
    SIPP,
    PortBlock,
    Sipp,
    free_port_block,
    free_tcp_port,
    free_udp_port,
    user_agent,
)
from tests.ops.conftest import START_TIMEOUT, Cli, helpline, wait_until

KAMAILIO = Path("/usr/sbin/kamailio")
KAMCMD = "/usr/sbin/kamcmd"
DEPLOY = Path(__file__).resolve().parents[2] / "deploy" / "kamailio"
SCENARIO = Path(__file__).parent / "scenarios" / "uac_through_proxy.xml"
TRANSFERRED = Path(__file__).parent / "scenarios" / "uac_transferred_through_proxy.xml"
TRANSFER_TARGET = "sip:carol@example.test"
PING_SECONDS = 1
FIRST_CALLS = 6
AFTER_KILL_CALLS = 3


def _missing_reason() -> str | None:
    missing = [
        name
        for name, found in (
            ("/usr/sbin/kamailio (apt kamailio)", KAMAILIO.exists()),
            ("sipp (apt sip-tester)", SIPP is not None),
        )
        if not found
    ]
    if not missing:
        return None
    if os.environ.get("HELPLINE_REQUIRE_KAMAILIO"):
        pytest.fail(f"HELPLINE_REQUIRE_KAMAILIO is set but {' and '.join(missing)} is missing")
    return f"no {' and '.join(missing)}; set HELPLINE_REQUIRE_KAMAILIO=1 to make this fail"


@pytest.fixture()
def tools() -> None:
    reason = _missing_reason()
    if reason:
        pytest.skip(reason)


@dataclass
class Node:
    name: str
    cli: Cli
    sip_port: int
    rtp: PortBlock
    http_port: int
    db_url: str

    @property
    def uri(self) -> str:
        return f"sip:127.0.0.1:{self.sip_port}"

    def healthy(self) -> bool:
        if self.cli.process.poll() is not None:
            raise AssertionError(f"node {self.name} exited:\n{self.cli.text()[-3000:]}")
        try:
            return httpx.get(f"http://127.0.0.1:{self.http_port}/api/v1/health", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def calls(self) -> dict[str, bool]:
        """The phone conversations this node holds: the caller's number → whether the caller hung up on it
        (the node received the call's BYE: `phone:caller` closes the conversation)."""
        database = Database(self.db_url)
        try:
            with database.session() as session:
                conversations = session.query(Conversation).filter(Conversation.channel == "phone").all()
                hung_up = {
                    entry.entity_id
                    for entry in session.query(AuditEntry).filter(
                        AuditEntry.actor == "phone:caller", AuditEntry.entity == "conversation"
                    )
                }
                return {
                    str(c.state.get("known", {}).get("phone", "")): c.status == "ended" and c.id in hung_up
                    for c in conversations
                }
        finally:
            database.dispose()


@contextlib.contextmanager
def nodes(tmp_path: Path, names: tuple[str, ...]) -> Iterator[list[Node]]:
    """`helpline serve` nodes with their phone line on loopback (demo pack, each its own SQLite file, the light
    recogniser and voice), started together and ready when their health check answers."""
    with contextlib.ExitStack() as stack:
        started = []
        for name in names:
            sip_port, rtp, http_port = free_udp_port(), free_port_block(40), free_tcp_port()
            db_url = f"sqlite:///{tmp_path / f'{name}.db'}"
            cli = stack.enter_context(
                helpline(
                    [
                        "serve",
                        "--db",
                        db_url,
                        "--port",
                        str(http_port),
                        "--no-worker",
                        "--sip-host",
                        "127.0.0.1",
                        "--sip-port",
                        str(sip_port),
                        "--rtp-ports",
                        f"{rtp.first}-{rtp.last}",
                        "--recognizer",
                        "sphinx",
                        "--voice",
                        "espeak",
                    ],
                    tmp_path / f"{name}.log",
                )
            )
            started.append(Node(name, cli, sip_port, rtp, http_port, db_url))
        for node in started:
            wait_until(node.healthy, START_TIMEOUT, f"node {node.name}")
        yield started


@dataclass
class Kamailio:
    process: subprocess.Popen[bytes]
    port: int
    log: Path
    control: str  # its ctl socket, for kamcmd

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def command(self, *words: str) -> str:
        """A kamcmd command, as an operator runs it (docs/deployment.md)."""
        done = subprocess.run([KAMCMD, "-s", self.control, *words], capture_output=True, text=True, timeout=10)
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout


@contextlib.contextmanager
def kamailio(tmp_path: Path, destinations: list[str]) -> Iterator[Kamailio]:
    """deploy/kamailio/kamailio.cfg as shipped, on a free loopback port, with its dispatcher list naming
    `destinations` and pings every PING_SECONDS. Its own process group, ended by id whatever happens."""
    folder = tmp_path / "kamailio"
    folder.mkdir()
    listing = folder / "dispatcher.list"
    listing.write_text("".join(f"1 {uri} 0 0 duid=node-{i}\n" for i, uri in enumerate(destinations)))
    port = free_udp_port()
    log = folder / "kamailio.log"
    control = f"unix:{folder / 'ctl.sock'}"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                str(KAMAILIO),
                "-f",
                str(DEPLOY / "kamailio.cfg"),
                "-l",
                f"udp:127.0.0.1:{port}",
                "-DD",
                "-E",
                "-n",
                "2",
                "-m",
                "32",
                "-M",
                "4",
                "-Y",
                str(folder),
                "-P",
                str(folder / "kamailio.pid"),
                "-w",
                str(folder),
                "-A",
                f'DISPATCHER_LIST="{listing}"',
                "-A",
                f"DS_PING_SECONDS={PING_SECONDS}",
                "-A",
                f'CTL_SOCKET="{control}"',
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    proxy = Kamailio(process, port, log, control)
    try:

        def answers() -> bool:
            if process.poll() is not None:
                raise AssertionError(f"kamailio exited {process.returncode}:\n{proxy.text()[-3000:]}")
            return ping(port) == 200

        wait_until(answers, 15, "kamailio to answer OPTIONS")
        yield proxy
    finally:
        if process.poll() is None:
            process.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=10)
        with contextlib.suppress(ProcessLookupError):  # its children, if the main process left any
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


def ping(port: int) -> int:
    """The status of an OPTIONS sent to the proxy itself (0: no answer within a second)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        probe.settimeout(1.0)
        here = probe.getsockname()[1]
        probe.sendto(
            (
                f"OPTIONS sip:127.0.0.1:{port} SIP/2.0\r\n"
                f"Via: SIP/2.0/UDP 127.0.0.1:{here};branch={new_branch()}\r\nMax-Forwards: 70\r\n"
                f"From: <sip:probe@127.0.0.1:{here}>;tag={new_tag()}\r\nTo: <sip:127.0.0.1:{port}>\r\n"
                f"Call-ID: {new_tag()}@127.0.0.1\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
            ).encode(),
            ("127.0.0.1", port),
        )
        try:
            reply = parse_message(probe.recv(65535))
        except (TimeoutError, OSError):
            return 0
        return reply.status if isinstance(reply, SipResponse) else 0


@dataclass
class Answer:
    caller: str
    node_port: int  # the Contact of the node that answered
    media_port: int  # where that node takes the call's audio (its SDP)
    record_route: str


def trace(sipp: Sipp) -> list[SipRequest | SipResponse]:
    """Every SIP message sipp sent or received, from its message trace."""
    text = (sipp.workdir / "messages.log").read_bytes().decode(errors="replace")  # keeps the CRLFs
    return [
        parse_message(raw.encode())
        for raw in re.split(r"^-{20,} .*\n(?:UDP message \w+[^\n]*)\n\n", text, flags=re.M)[1:]
    ]


def answers(sipp: Sipp) -> list[Answer]:
    """Every 200 to a first INVITE that sipp received."""
    found = []
    for message in trace(sipp):
        if isinstance(message, SipResponse) and message.status == 200 and message.cseq == (1, "INVITE"):
            contact, audio = message.contact, SessionDescription.parse(message.body).audio()
            assert contact is not None and audio is not None, message
            found.append(
                Answer(
                    message.from_.uri.user, contact.uri.port or 5060, audio.port, message.headers.get("Record-Route")
                )
            )
    return found


def place_calls(tmp_path: Path, proxy: Kamailio, count: int, prefix: str) -> list[Answer]:
    """`count` sipp calls to the proxy's address, callers `prefix`1 … `prefix`N, each held 2 s; all must succeed
    (answered, re-INVITE and BYE answered 200)."""
    sipp = Sipp(
        str(SCENARIO),
        tmp_path,
        target=("127.0.0.1", proxy.port),
        calls=count,
        limit=count,
        rate=3,
        timeout=40,
        extra=["-d", "2000", "-key", "caller_prefix", prefix],
    )
    result = asyncio.run(sipp.run())
    result.check()
    found = answers(sipp)
    assert sorted(a.caller for a in found) == sorted(f"{prefix}{n}" for n in range(1, count + 1)), result.log
    return found


def node_of(answer: Answer, nodes: list[Node]) -> Node:
    matches = [node for node in nodes if node.sip_port == answer.node_port]
    assert len(matches) == 1, f"answered from port {answer.node_port}, not a node's"
    node = matches[0]
    assert node.rtp.first <= answer.media_port <= node.rtp.last, "the audio does not go to the answering node"
    return node


def wait_hung_up(node: Node, callers: set[str]) -> dict[str, bool]:
    """This node's calls once every one of `callers` it holds is closed (a call's pipeline closes it)."""

    def closed() -> bool:
        held = node.calls()
        return all(held[c] for c in callers if c in held)

    with contextlib.suppress(AssertionError):
        wait_until(closed, 20, f"the calls on node {node.name} to close")
    return node.calls()


@pytest.mark.timeout(600)
def test_calls_spread_over_two_nodes_stay_on_theirs_and_move_off_a_killed_node(tools: None, tmp_path: Path) -> None:
    with nodes(tmp_path, ("a", "b")) as (a, b), kamailio(tmp_path, [a.uri, b.uri]) as proxy:
        first = place_calls(tmp_path, proxy, FIRST_CALLS, "+1555111")
        landed = {answer.caller: node_of(answer, [a, b]) for answer in first}
        assert all(f"127.0.0.1:{proxy.port};lr" in answer.record_route for answer in first)
        # round robin: both nodes take calls
        assert {node.name for node in landed.values()} == {"a", "b"}, landed
        for node in (a, b):
            theirs = {caller for caller, holder in landed.items() if holder is node}
            held = wait_hung_up(node, theirs)
            # each call is on the node that answered it, not the other; the caller's BYE closed it there
            assert {c for c in held if c.startswith("+1555111")} == theirs, (node.name, held)
            assert all(held[c] for c in theirs), (node.name, held)

        # an operator drains node a (no new calls; kamcmd as in docs/deployment.md), then puts it back
        proxy.command("dispatcher.set_state", "d", "1", a.uri)
        drained = place_calls(tmp_path, proxy, 2, "+1555333")
        assert {node_of(answer, [a, b]).name for answer in drained} == {"b"}
        proxy.command("dispatcher.set_state", "a", "1", a.uri)

        a.cli.kill()  # SIGKILL: no goodbye, its port stops answering
        after = place_calls(tmp_path, proxy, AFTER_KILL_CALLS, "+1555222")
        assert {node_of(answer, [a, b]).name for answer in after} == {"b"}
        held = wait_hung_up(b, {answer.caller for answer in after})
        assert all(held.get(answer.caller) for answer in after), held
        wait_until(lambda: f"node {a.uri} down" in proxy.text(), 10, "the proxy to mark node a down")


class TransferringLine:
    """A node's phone line that hands every call it answers to carol by REFER (a cold transfer)."""

    def __init__(self) -> None:
        self.outcomes: list[str] = []

    async def __call__(self, call: PhoneCall) -> None:
        try:
            await call.refer(TRANSFER_TARGET, timeout=10)
        except TransferFailed as failure:
            self.outcomes.append(str(failure))
        else:
            self.outcomes.append("transferred and hung up" if call.ended else "transferred, still up")


@pytest.mark.timeout(120)
def test_a_cold_transfer_and_the_nodes_hang_up_go_through_the_proxy(tools: None, tmp_path: Path) -> None:
    """The node's REFER reaches the caller through the proxy, the caller's NOTIFY reaches the node that sent it,
    and so does the node's BYE once the transfer is done. The nodes are our SIP user agent in this process."""

    async def scenario() -> tuple[list[TransferringLine], list[int], Kamailio, Sipp]:
        lines = [TransferringLine(), TransferringLine()]
        async with user_agent(lines[0]) as a, user_agent(lines[1]) as b:
            ports = [a.address[1], b.address[1]]
            with contextlib.ExitStack() as stack:
                # kamailio starts in a thread, so the loop answers its pings meanwhile
                proxy = await asyncio.to_thread(
                    stack.enter_context, kamailio(tmp_path, [f"sip:127.0.0.1:{port}" for port in ports])
                )
                try:
                    sipp = Sipp(
                        str(TRANSFERRED),
                        tmp_path,
                        target=("127.0.0.1", proxy.port),
                        calls=2,
                        limit=2,
                        rate=2,
                        timeout=30,
                        extra=["-key", "caller_prefix", "+1555444"],
                    )
                    (await sipp.run()).check()
                    for _ in range(50):  # the handlers finish once their BYE is answered
                        if all(line.outcomes for line in lines):
                            break
                        await asyncio.sleep(0.1)
                finally:
                    await asyncio.to_thread(stack.close)
        return lines, ports, proxy, sipp

    lines, ports, proxy, sipp = asyncio.run(scenario())
    assert [line.outcomes for line in lines] == [["transferred and hung up"]] * 2  # one call each
    messages = trace(sipp)
    answered_by = {
        m.call_id: m.contact.uri.port or 5060
        for m in messages
        if isinstance(m, SipResponse) and m.cseq == (1, "INVITE") and m.status == 200 and m.contact is not None
    }
    assert sorted(answered_by.values()) == sorted(ports)
    from_nodes = [m for m in messages if isinstance(m, SipRequest) and m.method in ("REFER", "BYE")]
    assert sorted(m.method for m in from_nodes) == ["BYE", "BYE", "REFER", "REFER"]
    for request in from_nodes:  # each came through the proxy, from the node holding that call
        proxy_via, node_via = request.vias[:2]
        assert (proxy_via.port, node_via.port) == (proxy.port, answered_by[request.call_id]), request
