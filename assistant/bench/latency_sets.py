"""What `earshot bench latency` says into the microphone: short chat requests, and spoken commands on the
files of a bench workspace (single tools, chains, references to the last result, project edits). The
commands are phrased as people say them, not copied from the labelled routing set."""

from __future__ import annotations

from pathlib import Path

import numpy as np

CHAT = (
    "What can you do?",
    "Thanks a lot!",
    "Hello there!",
    "Thank you very much.",
    "Good morning!",
    "What is your name?",
    "Are you there?",
    "Can you hear me?",
    "How are you today?",
    "Do you work offline?",
    "Goodbye!",
    "Nice work, thanks!",
    "Can you help me?",
    "Great, thank you.",
    "What are you?",
    "Hi, how is it going?",
    "Who made you?",
    "Thanks, that's all.",
    "Good evening!",
    "Are you listening?",
    "What do you do?",
    "Cheers, thanks!",
    "Good night!",
    "Is anyone there?",
)

# In order: later ones refer to what earlier ones made ("it", "that", the drums track).
COMMANDS = (
    "Describe memo dot wav.",
    "Make memo dot wav three decibels louder.",
    "Remove the noise from memo dot wav.",
    "Transcribe it.",
    "Add reverb to loop dot wav.",
    "Normalize loop dot wav to minus sixteen LUFS.",
    "What key is loop dot wav in?",
    "Find the silences in memo dot wav.",
    "Fade out loop dot wav over two seconds.",
    "Trim voice dot wav to the first two seconds.",
    "Put loop dot wav on a new track called drums.",
    "Add reverb to the drums track.",
    "Make the song more relaxed.",
    "Set the tempo to ninety BPM.",
    "Undo that.",
    "Mute the drums track.",
    "Render the song.",
    "Denoise voice dot wav and then transcribe it.",
    "Make five seconds of rain.",
    "Shift loop dot wav up two semitones.",
    "How loud is voice dot wav?",
    "Split loop dot wav into drums and harmony.",
)


def prepare_workspace(workspace: Path, tts) -> list[str]:
    """The files the commands name: memo.wav (speech with hiss), voice.wav (speech), loop.wav (a
    four-bar A-minor chord loop with a kick), all made here; returns their names."""
    import soundfile as sf

    from ..audio.files import resample

    workspace.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(7)
    memo = resample(tts.synthesize("Call me back about the mix before Friday.", seed=3), tts.sample_rate_hz, 16_000)
    sf.write(workspace / "memo.wav", (memo * 0.6 + 0.02 * rng.standard_normal(len(memo))).astype(np.float32), 16_000)
    voice = resample(
        tts.synthesize("The second take of the vocal is the one we keep.", seed=4), tts.sample_rate_hz, 16_000
    )
    sf.write(workspace / "voice.wav", (voice * 0.7).astype(np.float32), 16_000)
    rate, bpm = 44_100, 100.0
    beat = 60.0 / bpm
    t = np.arange(int(16 * beat * rate)) / rate
    loop = np.zeros_like(t)
    for bar, root in enumerate((57, 53, 48, 55)):  # Am F C G
        for semis in (0, 3 if bar == 0 else 4, 7):
            f = 440.0 * 2 ** ((root + semis - 69) / 12)
            seg = (t >= bar * 4 * beat) & (t < (bar + 1) * 4 * beat)
            loop[seg] += 0.12 * np.sin(2 * np.pi * f * t[seg])
    for k in range(16):  # a kick on every beat
        i = int(k * beat * rate)
        n = min(int(0.15 * rate), len(loop) - i)
        tt = np.arange(n) / rate
        loop[i : i + n] += 0.5 * np.sin(2 * np.pi * (50 + 60 * np.exp(-tt * 30)) * tt) * np.exp(-tt * 20)
    sf.write(workspace / "loop.wav", (loop / np.max(np.abs(loop)) * 0.8).astype(np.float32), rate)
    return ["memo.wav", "voice.wav", "loop.wav"]
