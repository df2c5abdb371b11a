"""`earshot listen`: the voice loop on the microphone and speaker, or headless on a recording (--input)."""

from __future__ import annotations

import asyncio
import sys
import threading

from ..errors import EarshotError
from ..events import (
    BargeInDismissed,
    Event,
    InputLevel,
    Interrupted,
    PartialTranscript,
    SpeechDiscarded,
    SpeechEnded,
    SpeechStarted,
    TurnTiming,
    VoiceState,
    WakeDetected,
)
from .common import config_for, human_printer, json_printer, open_session, progress_console

QUIET = (InputLevel, VoiceState)  # 10 events a second: for UIs, not for a log


def voice_printer(console, base):
    def show(event: Event) -> None:
        if isinstance(event, PartialTranscript):
            console.print(f"[dim]… {event.text}[/]")
        elif isinstance(event, SpeechStarted):
            console.print("[dim]🎙 listening…[/]")
        elif isinstance(event, SpeechDiscarded) and event.reason != "transient":
            console.print(f"[dim](ignored: {event.reason}{': ' + event.text if event.text else ''})[/]")
        elif isinstance(event, WakeDetected):
            console.print(f"[green]wake phrase[/] ({event.score:.2f})")
        elif isinstance(event, BargeInDismissed):
            what = "my own voice coming back" if event.reason == "own_voice" else "only noise"
            console.print(f"[dim](going on: that was {what})[/]")
        elif isinstance(event, Interrupted):
            console.print(f"[yellow]⏹ interrupted[/] — heard: {event.heard or '(nothing)'}")
        elif isinstance(event, (SpeechEnded, TurnTiming)):
            pass
        else:
            base(event)

    return show


def run(args) -> int:
    from ..audio import io
    from ..pipeline import Assistant
    from ..voice.loop import VoiceLoop
    from ..voice.warm_up import greet, warm_up

    if args.list_devices:
        for d in io.list_devices():
            kinds = ("in" if d["max_input_channels"] else "") + ("/out" if d["max_output_channels"] else "")
            print(f"{d['index']:3d}  {d['name']}  ({kinds.strip('/')}, {int(d['default_samplerate'])} Hz)")
        return 0
    config = config_for(args)
    voice = config.voice
    if args.mode:
        voice.listen.mode = args.mode
    if args.wake_phrase:
        voice.listen.wake_phrase = args.wake_phrase
    if args.input_device is not None:
        voice.input_device = args.input_device
    if args.output_device is not None:
        config.speech.output_device = args.output_device
    session = open_session(config, args)
    console = progress_console()
    if args.json:

        def emit(event: Event) -> None:
            if args.all_events or not isinstance(event, QUIET):
                json_printer(event)
    else:
        emit = voice_printer(console, human_printer(console))
    assistant = Assistant(config, session, emit=emit, llm_name=args.llm)
    source, sink = _devices(io, args, config)
    loop = VoiceLoop(assistant, source, assistant.speaker(sink) if sink is not None else None, voice, emit)
    committed_before = len(session.turns())

    async def main() -> None:
        if not args.json:
            console.print(
                f"[bold]Earshot[/] listening ({loop.mode}"
                + (f", say \"{voice.listen.wake_phrase}\"" if loop.mode == "wake" else "")
                + (", press Enter to talk and Enter to stop" if loop.mode == "push_to_talk" else "")
                + f") — session {session.id}. Ctrl+C to quit. Loading models…"
            )
        await warm_up(loop)
        if loop.mode == "push_to_talk" and args.input is None:
            _enter_toggles_talk(loop, asyncio.get_running_loop())
        runner = asyncio.create_task(loop.run())
        await asyncio.sleep(0.3)
        await greet(loop)
        await runner

    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        loop.stop()
    # Only the turns of this run count, never a resumed session's older ones.
    new_turns = session.turns()[committed_before:]
    if args.input is not None and not new_turns:
        raise EarshotError(
            f"no request was heard in {args.input.name}",
            "check the recording has speech (earshot listen --input FILE --json shows what was heard)",
        )
    return 0 if all(t["status"] in ("ok", "interrupted") for t in new_turns) else 1


def _devices(io, args, config):
    """The microphone (or --input) and the speaker (or --output, or nothing with --no-speak). Device
    problems are found now, before seconds of model loading."""
    from ..voice.speaker import device_output

    voice = config.voice
    speak = config.speech.speak_replies
    if args.input is not None:
        source = io.FileSource(args.input)
        sink = io.FileSink(args.output) if (speak and args.output) else None
        if speak and sink is None:
            # A file in, the speaker out: play the replies (headless machines use --output or --no-speak).
            sink = device_output(config.speech.output_device, voice)
    else:
        source = io.MicStream(voice.input_device)
        sink = (
            (io.FileSink(args.output) if args.output else device_output(config.speech.output_device, voice))
            if speak
            else None
        )
    if isinstance(source, io.MicStream):
        io.resolve_device(voice.input_device, "input")
    if isinstance(sink, io.Speaker):
        io.resolve_device(config.speech.output_device, "output")
    return source, sink


def _enter_toggles_talk(loop, aloop) -> None:
    """Push-to-talk in a terminal: Enter starts the utterance, Enter again ends it (no key-up there)."""
    pressed = [False]

    def keys() -> None:
        for _ in sys.stdin:
            pressed[0] = not pressed[0]
            aloop.call_soon_threadsafe(loop.push_to_talk, pressed[0])

    threading.Thread(target=keys, daemon=True).start()
