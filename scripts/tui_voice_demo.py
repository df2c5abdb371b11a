#!/usr/bin/env python3
"""Drive `earshot` (the terminal UI) in tmux with a spoken request, as a new user would, on a private
PulseAudio server (null-sink speaker, pipe-source microphone: no audio hardware needed), and save
screenshots of what the terminal showed as SVG.

    python scripts/tui_voice_demo.py --out docs/ [--llm qwen2.5-coder-1.5b] [--text "..."]

What it does:
1. starts a private PulseAudio (assistant/audio/pulse.py) and a workspace with `memo.wav` in it;
2. starts `earshot --workspace WS` in a detached tmux session (its own tmux socket) pointed at that
   server, and waits until the planner is loaded and the listening line shows the microphone;
3. speaks the request into the virtual microphone (hibari's voice, or `--voice espeak`);
4. captures the pane (with colours) while it hears, thinks and answers, and renders three frames to
   SVG with Rich: hearing (partial transcript), thinking (the spoken turn), speaking (tool card, answer);
5. records the speaker (the sink's monitor) and transcribes what was played, so the output says what
   the user would have heard; then quits the UI with Ctrl+Q and stops tmux and the server.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SOCKET = "earshot-voice-demo"
SESSION = "earshot"


def tmux(*args: str, check: bool = True) -> str:
    return subprocess.run(["tmux", "-L", SOCKET, *args], capture_output=True, text=True, check=check).stdout


def capture() -> str:
    return tmux("capture-pane", "-e", "-p", "-t", SESSION)


def plain(ansi: str) -> str:
    return re.sub(r"\x1b\[[0-9;:]*[A-Za-z]", "", ansi)


def wait_screen(pred, timeout_s: float, step_s: float = 0.25) -> str | None:
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        screen = capture()
        if pred(plain(screen)):
            return screen
        time.sleep(step_s)
    return None


def to_svg(ansi: str, path: Path, title: str, width: int) -> None:
    from rich.console import Console
    from rich.text import Text

    console = Console(
        record=True, width=width, force_terminal=True, color_system="truecolor", file=open(os.devnull, "w")
    )
    for line in ansi.rstrip("\n").split("\n"):
        console.print(Text.from_ansi(line), overflow="crop", no_wrap=True)
    console.save_svg(str(path), title=title)


def speech(text: str, voice: str):
    import numpy as np

    from assistant.audio.files import resample

    if voice == "espeak":
        import soundfile as sf

        with tempfile.TemporaryDirectory() as tmp:
            wav = Path(tmp) / "s.wav"
            subprocess.run(["espeak-ng", "-v", "en-us", "-s", "150", "-w", str(wav), text], check=True)
            audio, rate = sf.read(str(wav), dtype="float32")
        audio = resample(audio, rate, 16_000)
        return (audio / (np.max(np.abs(audio)) + 1e-9) * 0.7).astype(np.float32)
    from assistant.config import EarshotConfig
    from assistant.runtime.models import ModelStore
    from assistant.runtime.tts import get_tts

    tts = get_tts(ModelStore(EarshotConfig().paths))
    return (resample(tts.synthesize(text, seed=5), tts.sample_rate_hz, 16_000) * 0.7).astype(np.float32)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=ROOT / "docs")
    ap.add_argument("--llm", default=None, help="planner model (default: the configured one, Qwen2.5-Coder-1.5B)")
    ap.add_argument("--text", default="Describe memo dot wav.", help="the spoken request")
    ap.add_argument("--voice", choices=["hibari", "espeak"], default="hibari")
    ap.add_argument("--size", default="120x36")
    ap.add_argument("--timeout", type=float, default=600.0)
    args = ap.parse_args()
    cols, rows = (int(x) for x in args.size.split("x"))

    import numpy as np
    import soundfile as sf

    from assistant.audio.pulse import VirtualAudioServer

    work = Path(tempfile.mkdtemp(prefix="earshot-voice-demo-"))
    home, workspace = work / "home", work / "mix"
    workspace.mkdir(parents=True)
    memo = speech("Call me back about the mix before Friday.", "hibari")
    sf.write(
        workspace / "memo.wav",
        np.concatenate([np.zeros(4000, np.float32), memo, np.zeros(4000, np.float32)]),
        16_000,
        subtype="PCM_16",
    )
    request = speech(args.text, args.voice)

    server = VirtualAudioServer()
    server.start()
    env = {
        "EARSHOT_HOME": str(home),
        "PULSE_SERVER": server.env["PULSE_SERVER"],
        "PULSE_RUNTIME_PATH": server.env["PULSE_RUNTIME_PATH"],
        "TERM": "xterm-256color",
        "COLORTERM": "truecolor",
        "ORT_DISABLE_TELEMETRY": "1",
        "HF_HUB_OFFLINE": "1",
    }
    for key in ("EARSHOT_MODELS", "NUMBA_CACHE_DIR", "PYTHONPATH", "EARSHOT_CACHE"):
        if key in os.environ:
            env[key] = os.environ[key]
    cmd = [sys.executable, "-m", "assistant", "--workspace", str(workspace), "--new-session"]
    if args.llm:
        cmd += ["--llm", args.llm]
    shots: dict[str, str] = {}
    frames: list[tuple[float, str]] = []
    try:
        tmux("kill-server", check=False)
        tmux(
            "new-session",
            "-d",
            "-s",
            SESSION,
            "-x",
            str(cols),
            "-y",
            str(rows),
            "-c",
            str(ROOT),
            *[a for k, v in env.items() for a in ("-e", f"{k}={v}")],
            " ".join(_quote(c) for c in cmd),
        )
        # Ready: the planner is loaded (the status line no longer says "loading") and the listening
        # line shows the microphone's meter (▮▯), not the no-microphone banner (🎤✗).
        ready = wait_screen(lambda s: "loading" not in s and "🎤✗" not in s and ("▯" in s or "▮" in s), args.timeout)
        if ready is None:
            print(plain(capture()), file=sys.stderr)
            raise SystemExit("the UI did not become ready (planner loaded, microphone open)")
        # The voice loop greets once its models are warm (the greeting adapts the echo canceller):
        # wait for it to be said, then for the listening line to be idle again.
        wait_screen(lambda s: "Earshot is listening" in s, args.timeout)
        wait_screen(lambda s: "🔊" not in s and "speaking" not in s and "idle" in s, 120)
        time.sleep(1.0)
        shots["ready"] = capture()
        said_at = time.monotonic()
        server.feeder.play(request)
        end = time.monotonic() + args.timeout
        while time.monotonic() < end:
            screen = capture()
            frames.append((time.monotonic() - said_at, screen))
            text = plain(screen)
            listening = next((line for line in reversed(text.split("\n")) if "F2" in line and "🎤" in line), "")
            if (
                "hearing" in listening
                and "“" in listening
                and listening.count("▮") >= plain(shots.get("hearing", "")).count("▮")
            ):
                shots["hearing"] = screen  # a partial transcript, the meter up
            if "thinking" in listening and "🎤 you" in text:
                shots.setdefault("thinking", screen)  # the transcript became a spoken turn
            if "speaking" in listening and "🎤 you" in text:
                shots["speaking"] = screen  # the answer, spoken (tool card above it)
            if "speaking" in shots and "idle" in listening:
                break
            time.sleep(0.2)
        played, _ = server.monitor.audio(server.monitor.index_at(said_at)), None
        heard = _transcribe(played)
        print(f"spoken request: {args.text!r}")
        print(f"the speaker played (Whisper on the monitor recording): {heard!r}")
        tmux("send-keys", "-t", SESSION, "C-q", check=False)
        time.sleep(2.0)
    finally:
        tmux("kill-server", check=False)
        server.stop()
    args.out.mkdir(parents=True, exist_ok=True)
    names = {
        "hearing": "hearing a spoken request (partial transcript on the listening line)",
        "thinking": "the transcript is a spoken turn; planning",
        "speaking": "the tool ran; the answer is spoken aloud",
    }
    written = []
    for key, title in names.items():
        if key in shots:
            path = args.out / f"tui-voice-{key}-{cols}x{rows}.svg"
            to_svg(shots[key], path, f"earshot — {title}", cols)
            written.append(path)
    (work / "frames.txt").write_text("\n\n".join(f"--- t={t:.2f} s\n{plain(s)}" for t, s in frames))
    print("frames:", work / "frames.txt")
    for p in written:
        print("wrote", p)
    missing = [k for k in names if k not in shots]
    if missing:
        print("not captured:", ", ".join(missing), file=sys.stderr)
    shutil.rmtree(home / "sessions", ignore_errors=True)
    return 0 if not missing else 1


def _transcribe(audio) -> str:
    from assistant.config import EarshotConfig
    from assistant.runtime.asr import get_recognizer
    from assistant.runtime.models import ModelStore

    if audio is None or len(audio) < 1600:
        return ""
    return get_recognizer(ModelStore(EarshotConfig().paths), "whisper-tiny.en").transcribe(audio).text


def _quote(s: str) -> str:
    import shlex

    return shlex.quote(s)


if __name__ == "__main__":
    raise SystemExit(main())
