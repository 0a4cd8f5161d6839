"""Our user agent against itself on loopback: the behaviours no external peer is needed for."""

from __future__ import annotations

import asyncio
import time

import pytest

from helpline.channels.phone import CallFailed, PhoneCall, SipConfig, SipUserAgent, bridge, parse_port_range
from helpline.voice.frames import AudioIn, KeypadDigit
from tests.channels.phone.conftest import run
from tests.channels.phone.peers import Recorder, free_port_block, free_udp_port, tone, tone_share, user_agent


def test_port_range_parsing() -> None:
    assert parse_port_range("10000-10999") == (10000, 10999)
    assert parse_port_range("12000") == (12000, 12000)
    for bad in ["", "a-b", "9-3", "0-10", "1-70000"]:
        with pytest.raises(ValueError):
            parse_port_range(bad)


def test_binds_only_where_configured_and_reports_its_address() -> None:
    async def scenario() -> None:
        async with user_agent(user="desk") as ua:
            host, port = ua.address
            assert host == "127.0.0.1" and port > 0
            assert ua.uri == f"sip:desk@127.0.0.1:{port}"

    run(scenario())


def test_nobody_answers_is_a_timeout_and_costs_nothing() -> None:
    async def scenario() -> None:
        silent = free_udp_port()
        async with user_agent(t1=0.05) as ua:
            started = time.monotonic()
            with pytest.raises(CallFailed) as failure:
                await ua.call(f"sip:nobody@127.0.0.1:{silent}", timeout=10)
            assert failure.value.reason == "timeout"
            assert time.monotonic() - started < 4  # 64 * T1
            with pytest.raises(CallFailed) as failure:
                await ua.call(f"sip:nobody@127.0.0.1:{silent}", timeout=0.3)
            assert failure.value.reason == "timeout"
            assert ua.ports.in_use == 0 and not ua.calls

    run(scenario())


def test_busy_beyond_max_calls_and_503_without_a_handler() -> None:
    async def scenario() -> None:
        async with user_agent(Recorder(), max_calls=1) as callee, user_agent() as caller, \
                user_agent(busy_status=503, max_calls=0) as full, user_agent() as no_handler:
            first = await caller.call(callee.uri, timeout=5)
            with pytest.raises(CallFailed) as failure:
                await caller.call(callee.uri, timeout=5)
            assert (failure.value.reason, failure.value.status) == ("busy", 486)
            with pytest.raises(CallFailed) as failure:
                await caller.call(full.uri, timeout=5)
            assert (failure.value.reason, failure.value.status) == ("rejected", 503)
            with pytest.raises(CallFailed) as failure:
                await caller.call(no_handler.uri, timeout=5)
            assert failure.value.status == 503
            await first.hang_up()
            await first.hang_up()  # twice is harmless
            assert first.end_reason == "local"

    run(scenario())


def test_the_handler_returning_or_failing_hangs_up() -> None:
    async def returns(call: PhoneCall) -> None:
        await call.play(tone(440, 0.2))
        await call.wait_played()

    async def fails(call: PhoneCall) -> None:
        raise RuntimeError("the pipeline broke")

    async def scenario() -> None:
        for handler in (returns, fails):
            async with user_agent(handler) as callee, user_agent() as caller:
                call = await caller.call(callee.uri, timeout=5)
                await call.wait_ended(timeout=5)
                assert call.end_reason == "hangup"  # the callee sent BYE
                await asyncio.sleep(0.05)
                assert callee.ports.in_use == 0 and caller.ports.in_use == 0

    run(scenario())


def test_stop_hangs_up_every_call_and_ends_the_handlers() -> None:
    async def scenario() -> None:
        recorder = Recorder()
        async with user_agent() as caller:
            block = free_port_block(20)
            callee = SipUserAgent(SipConfig(port=0, rtp_ports=(block.first, block.last)), recorder)
            await callee.start()
            calls = [await caller.call(f"sip:helpline@127.0.0.1:{callee.address[1]}", timeout=5) for _ in range(3)]
            await recorder.answered.wait()
            await callee.stop()
            for call in calls:
                await call.wait_ended(timeout=5)
                assert call.end_reason == "hangup"
            assert callee.ports.in_use == 0 and not callee.calls
            assert all(record.call.end_reason == "stopped" for record in recorder.records)
            assert recorder.finished.is_set()

    run(scenario())


def test_keypad_both_ways_between_two_of_ours() -> None:
    async def scenario() -> None:
        recorder = Recorder()
        async with user_agent(recorder) as callee, user_agent() as caller:
            call = await caller.call(callee.uri, timeout=5)
            call.send_digits("*0#")
            await asyncio.sleep(0.8)
            await call.hang_up()
            await recorder.wait_calls(1)
        assert recorder.records[0].digits == ["*", "0", "#"]

    run(scenario())


def test_bridge_keeps_delay_bounded_and_ends_both_legs() -> None:
    async def scenario() -> None:
        async def speaker(call: PhoneCall) -> None:  # each far end keeps talking in its own tone
            frequency = 500 if call.caller.startswith("sip:left") else 900
            await call.play(tone(frequency, 4.0))
            async for _ in call.receive():
                pass

        async with user_agent(speaker) as far, user_agent(user="left") as left_ua, \
                user_agent(user="right") as right_ua:
            left = await left_ua.call(far.uri, timeout=5)
            right = await right_ua.call(far.uri, timeout=5)
            await asyncio.sleep(0.5)  # left's audio queues up unread meanwhile: it must not be replayed
            # the bridge sits between our two legs: what left hears goes to right and back
            relay = asyncio.create_task(bridge(left, right))
            await asyncio.sleep(1.2)
            assert left.queued_seconds() < 0.25 and right.queued_seconds() < 0.25
            left.send_digits("5")
            await asyncio.sleep(0.4)
            await left.hang_up()
            ended = await asyncio.wait_for(relay, 5)
            assert ended is left and right.ended
            assert right.stats.packets_sent > 40 and left.stats.packets_sent > 40

    run(scenario())


def test_bridge_between_two_callers_carries_each_ones_audio() -> None:
    async def scenario() -> None:
        captured: dict[str, bytearray] = {}
        digits: dict[str, list[str]] = {}
        legs: list[PhoneCall] = []
        both = asyncio.Event()

        async def agent(call: PhoneCall) -> None:
            legs.append(call)
            if len(legs) == 2:
                both.set()
                await bridge(legs[0], legs[1])
            else:
                await call.wait_ended()

        async def caller(ua: SipUserAgent, name: str, frequency: int, target: str) -> None:
            call = await ua.call(target, timeout=5)
            await both.wait()
            await asyncio.sleep(0.3)
            await call.play(tone(frequency, 1.5))
            if name == "a":
                call.send_digits("7", 80)
            captured[name] = bytearray()
            digits[name] = []
            deadline = time.monotonic() + 2.5
            async for frame in call.receive():
                if isinstance(frame, AudioIn):
                    captured[name] += frame.pcm
                elif isinstance(frame, KeypadDigit):
                    digits[name].append(frame.digit)
                if time.monotonic() > deadline:
                    break
            await call.hang_up()

        async with user_agent(agent) as desk, user_agent(user="a") as a, user_agent(user="b") as b:
            await asyncio.gather(caller(a, "a", 450, desk.uri), caller(b, "b", 1100, desk.uri))
        assert tone_share(bytes(captured["a"]), 1100) > 0.8  # a heard b
        assert tone_share(bytes(captured["b"]), 450) > 0.8  # b heard a
        assert digits["b"] == ["7"]

    run(scenario())


def test_requests_from_outside_allow_from_are_refused() -> None:
    async def scenario() -> None:
        recorder = Recorder()
        async with user_agent(recorder, allow_from=("10.0.0.0/8",)) as guarded, user_agent() as caller, \
                user_agent(recorder, allow_from=("127.0.0.1/32",)) as open_to_us:
            with pytest.raises(CallFailed) as failure:
                await caller.call(guarded.uri, timeout=5)
            assert failure.value.status == 403
            call = await caller.call(open_to_us.uri, timeout=5)
            await call.hang_up()
        assert len(recorder.records) == 1

    run(scenario())
