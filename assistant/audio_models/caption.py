"""caption: a one-paragraph description of a clip, composed from measurements.

No audio-captioning model can be had offline (the learned captioners download their weights), so the
paragraph is a template filled with facts that other tools measure, and it says so:

    tag         content (speech / music / ambience), tempo, key, loudness, instrument-family guesses
    detect      where the speech, singing, music, noise, silences, hits and clipping are
    transcribe  the words, when there is a voice (Whisper, the one learned part)

It never states what the signal cannot show (who is speaking, where, the mood, the genre), and its
last sentence says what it is.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import EarshotError
from ..store.session import Artifact
from .base import ToolContext, ToolResult, ToolSpec, require_audio, stem_of

MAX_WORDS_CHARS = 300


@dataclass
class Args:
    file: Artifact


SPEC = ToolSpec(
    name="caption",
    doing="describing {file}",
    summary="describe a clip in one paragraph (what it contains, tempo, key, loudness, words)",
    examples=("describe what's in song.wav", "caption @a2", "what does take2.wav sound like?"),
    method="signal processing template filled from tag, detect and transcribe (Whisper, learned) measurements",
    learned=False,
    licence="ISC / MIT",
    timeout_s=1200,
    max_memory_mb=4096,
)


def _duration_text(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f}-second"
    m, s = divmod(int(round(seconds)), 60)
    return f"{m}:{s:02d}-long"


def _loudness_text(lufs: float | None) -> str:
    if lufs is None:
        return "too short to measure its loudness"
    word = "loud" if lufs > -12 else "moderately loud" if lufs > -20 else "quiet" if lufs > -30 else "very quiet"
    return f"{word} ({lufs:.0f} LUFS integrated)"


def _span(events, label: str) -> tuple[int, float, float, float] | None:
    """(count, first start, last end, total seconds) of the events with this label."""
    chosen = [e for e in events if e.label == label]
    if not chosen:
        return None
    return len(chosen), chosen[0].start_s, chosen[-1].end_s, sum(e.duration_s for e in chosen)


def compose_caption(
    name: str, duration_s: float, channels: int, facts: dict, events, words: str | None, words_note: str = ""
) -> str:
    """The paragraph: every clause comes from a measured fact; nothing is guessed without saying so."""
    from .detect import clock

    content = facts["content"]
    kind = {"speech": "speech", "music": "music", "ambience": "ambient sound or noise", "silence": "near silence"}[
        content
    ]
    layout = "mono" if channels == 1 else "stereo" if channels == 2 else f"{channels}-channel"
    sentences = [f"A {_duration_text(duration_s)} {layout} clip of mostly {kind}"]
    if content == "music":
        bits = []
        if facts.get("tempo_bpm"):
            bits.append(f"at about {facts['tempo_bpm']:.0f} BPM")
        else:
            bits.append("without a steady beat")
        if facts.get("key"):
            bits.append(f"in {facts['key']}")
        sentences[0] += " " + " ".join(bits)
    sentences[0] += "."
    speech, singing = _span(events, "speech"), _span(events, "singing")
    music, noise = _span(events, "music"), _span(events, "noise")
    voice_bits = []
    if speech:
        voice_bits.append(
            f"speech in {speech[0]} stretch{'es' if speech[0] > 1 else ''} "
            f"({clock(speech[1])}–{clock(speech[2])}, {speech[3]:.1f} s in all)"
        )
    if singing:
        voice_bits.append(f"singing ({clock(singing[1])}–{clock(singing[2])})")
    if voice_bits:
        sentences.append("There is " + " and ".join(voice_bits) + ".")
    elif content != "silence":
        sentences.append("No voice was detected.")
    if content != "music" and music:
        sentences.append(f"Music or tonal sound plays for {music[3]:.1f} s.")
    if content != "ambience" and noise and noise[3] >= 0.5:
        sentences.append(f"Noise-like sound fills {noise[3]:.1f} s.")
    if words:
        shown = words if len(words) <= MAX_WORDS_CHARS else words[: MAX_WORDS_CHARS - 1] + "…"
        shown = shown.replace('"', "'")  # file words stay inside one pair of quotes (llm/prompts.py)
        sentences.append(f'The words, as transcribed: "{shown}"')
    elif words_note:
        sentences.append(words_note)
    guesses = [g for g in facts.get("instruments_guess", []) if "timbre" not in g and "voice" not in g]
    if guesses:
        sentences.append(
            "It sounds like it has " + ", ".join(guesses) + " (instrument families guessed from spectral features)."
        )
    hits = [e for e in events if e.label == "hits"]
    if hits and content != "music":
        sentences.append(
            f"There {'are' if len(hits) > 1 else 'is'} {len(hits)} sharp percussive hit{'s' if len(hits) > 1 else ''}."
        )
    level = _loudness_text(facts.get("integrated_lufs"))
    sentences.append(
        f"It is {level}, peaking at {facts['true_peak_dbtp']:.1f} dBTP"
        + (
            f", and it clips in {len([e for e in events if e.label == 'clipping'])} place(s)."
            if any(e.label == "clipping" for e in events)
            else "."
        )
    )
    silence = _span(events, "silence")
    if silence and silence[3] >= 1.0 and content != "silence":
        sentences.append(f"About {silence[3]:.0f} s of it is silence.")
    sentences.append(
        "I cannot tell from the signal who is speaking or playing, where it was recorded, or its mood "
        "or genre; this caption is a signal-processing template filled from measurements, not a "
        "learned captioning model."
    )
    return " ".join(sentences)


def run(args: Args, ctx: ToolContext) -> ToolResult:
    from ..audio.files import resample
    from .detect import detect_events
    from .tag import tag_audio

    require_audio(args.file, SPEC.name)
    audio, rate = ctx.load_audio(args.file, mono=False)
    channels = audio.shape[1]
    signal = audio if channels > 1 else audio[:, 0]
    facts = tag_audio(signal, rate, lambda f: ctx.progress(0.45 * f, "measuring"))
    events, _ = detect_events(signal, rate, lambda f: ctx.progress(0.45 + 0.25 * f, "finding events"))
    words, note = None, ""
    voiced = sum(e.duration_s for e in events if e.label in ("speech", "singing"))
    if voiced >= 0.5:
        from ..runtime.asr import transcribe_any

        ctx.progress(0.75, "transcribing the words")
        try:
            result = transcribe_any(
                ctx.models, ctx.config.models.asr, resample(audio.mean(axis=1), rate, 16_000), language="auto"
            )
            words = result.text.strip() or None
            if words is None:
                note = "Whisper heard no clear words."
        except EarshotError as exc:  # no speech model installed: describe the rest, say what is missing
            note = f"(The words are not given: {exc.message}.)"
    text = compose_caption(args.file.name, audio.shape[0] / rate, channels, facts, events, words, note)
    art = ctx.new_file_artifact(text + "\n", f"{stem_of(args.file)}-caption", ".txt", "text", parents=[args.file])
    ctx.progress(1.0, "done")
    data = {
        "text": text,
        "content": facts["content"],
        "tempo_bpm": facts["tempo_bpm"],
        "key": facts["key"],
        "integrated_lufs": facts["integrated_lufs"],
        "words": words,
        "speech_s": round(float(sum(e.duration_s for e in events if e.label == "speech")), 2),
    }
    return ToolResult(text, [art], data)
