import asyncio

from helpline.voice.frames import AgentSpeech, Direction, Frame, Interruption, Transcript
from helpline.voice.pipeline import Pipeline, Processor
from tests.voice.fakes import Collect


class Upper(Processor):
    async def process(self, frame: Frame, direction: Direction) -> None:
        if isinstance(frame, Transcript):
            await self.push(AgentSpeech(frame.text.upper()), direction)
        else:
            await self.push(frame, direction)


class Slow(Processor):
    async def process(self, frame: Frame, direction: Direction) -> None:
        if isinstance(frame, AgentSpeech):
            await asyncio.sleep(0.05)
        await self.push(frame, direction)


def test_frames_flow_through_processors_in_order() -> None:
    async def scenario() -> list[Frame]:
        sink = Collect()
        pipeline = Pipeline([Upper(), sink])
        await pipeline.start()
        await pipeline.send(Transcript("where is my order"))
        await pipeline.send(Transcript("thanks"))
        await pipeline.idle()
        await pipeline.stop()
        return sink.seen

    assert asyncio.run(scenario()) == [AgentSpeech("WHERE IS MY ORDER"), AgentSpeech("THANKS")]


def test_an_interruption_overtakes_and_drops_queued_frames() -> None:
    async def scenario() -> list[Frame]:
        sink = Collect()
        pipeline = Pipeline([Slow(), sink])
        await pipeline.start()
        for n in range(5):
            await pipeline.send(AgentSpeech(f"sentence {n}"))
        await asyncio.sleep(0.01)
        await pipeline.send(Interruption())
        await pipeline.idle()
        await asyncio.sleep(0.1)
        await pipeline.stop()
        return sink.seen

    seen = asyncio.run(scenario())
    assert seen[0] == Interruption()  # it did not wait behind the slow queue
    assert len([f for f in seen if isinstance(f, AgentSpeech)]) <= 1  # at most the one already in hand
