"""Render a project: clips placed to the sample, per-track pedalboard chains, gain and pan, the
master chain and limiter. Signal processing (pedalboard / JUCE, Rubber Band for warped clips,
FluidSynth for MIDI clips), much faster than real time; progress is reported per clip and track.

Conventions (what the tests recompute independently):
  * a clip starts at sample round(start_s · rate) and ends at round(end_s · rate);
  * content sample k of the clip is source sample round(offset_s · rate) + k, wrapped into the loop
    [round(a · rate), round(b · rate)) when the clip loops; past the file's end is silence;
  * fades are linear: gain n/fi over the first fi samples, (N − n)/fo over the last fo;
  * clip gain, then the track chain, then track gain, then pan (balance law: the centre is unity,
    the far side falls as cos(|pan|·π/2)); mono sources feed both channels equally;
  * the master sums the audible tracks (solo wins over the rest; mute always silences), runs its
    chain, its gain, then the look-ahead limiter at limiter_db when it is on (`limit`: bit-exact
    below the ceiling).
"""

from __future__ import annotations

import math
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .. import faults
from ..errors import EarshotError
from .effects import build_board, tail_s
from .model import clip_end_s, clip_length_s, clip_start_s, clips_in_order, effects_in_order, tracks_in_order

SOUNDFONT = Path("/usr/share/sounds/sf2/FluidR3_GM.sf2")
MIDI_RELEASE_S = 1.5  # a MIDI clip's notes ring on this long past the clip's end

Loader = Callable[[dict], tuple[np.ndarray, int]]  # source dict → (frames, channels) float32, rate
Progress = Callable[[float, str], None]


@dataclass
class Render:
    audio: np.ndarray  # (frames, 2) float32
    sample_rate_hz: int
    song_s: float  # where the last clip ends
    stems: dict[str, np.ndarray] = field(default_factory=dict)  # track id → (frames, 2), post-fader


def db(x: float) -> float:
    return 10.0 ** (x / 20.0)


def pan_gains(pan: float) -> tuple[float, float]:
    left = 1.0 if pan <= 0 else math.cos(pan * math.pi / 2)
    right = 1.0 if pan >= 0 else math.cos(-pan * math.pi / 2)
    return left, right


def audible_tracks(s: dict) -> list[dict]:
    tracks = tracks_in_order(s)
    soloed = any(t["solo"] for t in tracks)
    return [t for t in tracks if not t["mute"] and (t["solo"] or not soloed)]


def loop_indices(n: int, start: int, loop: tuple[int, int] | None) -> np.ndarray:
    """Source sample indices for n content samples from `start`, wrapped into [a, b) when looping."""
    idx = start + np.arange(n, dtype=np.int64)
    if loop is not None:
        a, b = loop
        if b > a:
            over = idx >= b
            idx[over] = a + (idx[over] - a) % (b - a)
    return idx


def take(source: np.ndarray, idx: np.ndarray) -> np.ndarray:
    out = np.zeros((len(idx), source.shape[1]), np.float32)
    ok = (idx >= 0) & (idx < source.shape[0])
    out[ok] = source[idx[ok]]
    return out


def _stereo(x: np.ndarray) -> np.ndarray:
    if x.shape[1] == 2:
        return x
    if x.shape[1] == 1:
        return np.repeat(x, 2, axis=1)
    return x[:, :2]


class SourceCache:
    """Each source file loaded and resampled once per render."""

    def __init__(self, load: Loader, rate: int) -> None:
        self.load, self.rate, self.cache = load, rate, {}

    def get(self, source: dict) -> np.ndarray:
        key = source.get("path") or source.get("name")
        if key not in self.cache:
            audio, rate = self.load(source)
            audio = audio.reshape(audio.shape[0], -1).astype(np.float32)
            if rate != self.rate:
                from ..audio.files import resample

                audio = np.stack([resample(audio[:, c], rate, self.rate) for c in range(audio.shape[1])], axis=1)
            self.cache[key] = _stereo(audio)
        return self.cache[key]


def clip_audio(s: dict, c: dict, rate: int, sources: SourceCache) -> tuple[int, np.ndarray]:
    """(first sample on the timeline, (frames, 2) audio) of one clip, before the track's chain."""
    first = int(round(clip_start_s(s, c) * rate))
    n = int(round(clip_end_s(s, c) * rate)) - first
    if n <= 0:
        return first, np.zeros((0, 2), np.float32)
    if c["kind"] == "midi":
        out = render_midi_clip(s, c, rate)
        body = out[:n]
    else:
        src = sources.get(c["source"])
        if c["content_unit"] == "seconds":
            loop = (int(round(c["loop"][0] * rate)), int(round(c["loop"][1] * rate))) if c.get("loop") else None
            out = take(src, loop_indices(n, int(round(c["offset"] * rate)), loop))
        else:
            s_per_beat = c["warp"][1] / c["warp"][0]
            speed = s_per_beat * s["tempo_bpm"] / 60.0  # file seconds per timeline second
            loop = (
                (int(round(c["loop"][0] * s_per_beat * rate)), int(round(c["loop"][1] * s_per_beat * rate)))
                if c.get("loop")
                else None
            )
            m = int(math.ceil(n * speed)) + 1
            content = take(src, loop_indices(m, int(round(c["offset"] * s_per_beat * rate)), loop))
            if abs(speed - 1.0) > 1e-9:
                import pedalboard

                content = pedalboard.time_stretch(content.T.copy(), rate, stretch_factor=speed).T
            out = np.zeros((n, 2), np.float32)
            k = min(n, content.shape[0])
            out[:k] = content[:k]
        body = out
    env = np.ones(n, np.float32)
    fi, fo = int(round(c["fade_in_s"] * rate)), int(round(c["fade_out_s"] * rate))
    if fi > 0:
        fi = min(fi, n)
        env[:fi] *= np.arange(fi, dtype=np.float32) / fi
    if fo > 0:
        fo = min(fo, n)
        env[n - fo :] *= (n - np.arange(n - fo, n, dtype=np.float32)) / fo
    gain = np.float32(db(c["gain_db"]))
    audio = body[:n] * (env * gain)[:, None]
    if c["kind"] == "midi" and out.shape[0] > n:
        # the notes' release rings past the clip's end (no fade: it is the instrument's own decay)
        audio = np.concatenate([audio, out[n:] * gain], axis=0)
    return first, audio.astype(np.float32)


def midi_events(s: dict, c: dict) -> list[tuple[int, float, float, int]]:
    """(pitch, start_s from the clip start, duration_s, velocity) of every note the clip plays."""
    spb = 60.0 / s["tempo_bpm"]
    total = clip_length_s(s, c) / spb  # the clip's length in content beats
    segments = []  # (content from, content to, clip beat)
    pos, at = c["offset"], 0.0
    loop = c.get("loop")
    while at < total - 1e-9 and len(segments) < 10_000:
        end = loop[1] if loop and pos < loop[1] else pos + (total - at)
        span = min(end - pos, total - at)
        if span <= 0:
            break
        segments.append((pos, pos + span, at))
        at += span
        pos = loop[0] if loop else pos + span
    events = []
    for a, b, clip_beat in segments:
        for pitch, start, dur, vel in c["notes"]:
            if a <= start < b:
                t = clip_beat + start - a
                events.append((pitch, t * spb, min(dur, total - t) * spb, vel))
    return events


def render_midi_clip(s: dict, c: dict, rate: int) -> np.ndarray:
    """The clip's notes through FluidSynth with the track's General MIDI program → (frames, 2)."""
    import soundfile as sf

    try:
        import pretty_midi
    except ImportError as exc:
        raise EarshotError("MIDI clips need pretty_midi", "pip install 'earshot[music]'") from exc
    exe = shutil.which("fluidsynth")
    if exe is None or not SOUNDFONT.exists():
        raise EarshotError(
            "MIDI clips need FluidSynth and the General MIDI soundfont",
            "apt-get install --no-install-recommends fluidsynth fluid-soundfont-gm",
        )
    track = s["tracks"][c["track"]]
    pm = pretty_midi.PrettyMIDI(initial_tempo=s["tempo_bpm"])
    program = int(track.get("program", 0))
    inst = pretty_midi.Instrument(program=min(program, 127), is_drum=program >= 128)
    for pitch, start, dur, vel in midi_events(s, c):
        inst.notes.append(
            pretty_midi.Note(velocity=int(vel), pitch=int(pitch), start=start, end=start + max(dur, 0.01))
        )
    pm.instruments.append(inst)
    n = int(round(clip_length_s(s, c) * rate)) + int(MIDI_RELEASE_S * rate)
    if not inst.notes:
        return np.zeros((n, 2), np.float32)
    with tempfile.TemporaryDirectory(prefix="earshot-midi-") as tmp:
        mid, wav = Path(tmp) / "clip.mid", Path(tmp) / "clip.wav"
        pm.write(str(mid))
        done = subprocess.run(
            [exe, "-ni", "-q", "-g", "0.8", "-r", str(rate), "-F", str(wav), str(SOUNDFONT), str(mid)],
            capture_output=True,
            text=True,
            timeout=300,
        )
        if done.returncode != 0 or not wav.exists():
            raise EarshotError(
                f"FluidSynth could not render {c['name']!r}: {done.stderr.strip()[:200]}",
                "check the fluidsynth installation",
            )
        audio, got_rate = sf.read(str(wav), dtype="float32", always_2d=True)
    out = np.zeros((n, 2), np.float32)
    audio = _stereo(audio)
    k = min(n, audio.shape[0])
    out[:k] = audio[:k]
    return out


def render(
    s: dict, load: Loader, progress: Progress | None = None, stems: bool = False, with_master: bool = True
) -> Render:
    """The mixdown of the audible tracks (and, with stems=True, each track's post-fader stem)."""
    rate = int(s["sample_rate_hz"])
    report = progress or (lambda f, m: None)
    tracks = audible_tracks(s)
    clips = [c for c in clips_in_order(s) if c["track"] in {t["id"] for t in tracks}]
    song_s = max((clip_end_s(s, c) for c in clips), default=0.0)
    if not clips:
        raise EarshotError("there is nothing to render: no audible clips", "place a file on a track (or unmute one)")
    master_fx = effects_in_order(s["master"]["effects"])
    tail = max((tail_s(effects_in_order(t["effects"])) for t in tracks), default=0.0) + tail_s(master_fx)
    tail += MIDI_RELEASE_S if any(c["kind"] == "midi" for c in clips) else 0.0
    total = int(math.ceil((song_s + tail) * rate)) + 1
    sources = SourceCache(load, rate)
    steps = len(clips) + len(tracks) + 1
    done = 0
    mix = np.zeros((total, 2), np.float32)
    out_stems: dict[str, np.ndarray] = {}
    for t in tracks:
        buf = np.zeros((total, 2), np.float32)
        for c in (c for c in clips if c["track"] == t["id"]):
            first, audio = clip_audio(s, c, rate, sources)
            k = min(audio.shape[0], total - first)
            if k > 0:
                buf[first : first + k] += audio[:k]
            done += 1
            report(done / steps, f"clip {c['id']} {c['name']}")
        chain = effects_in_order(t["effects"])
        if chain:
            board = build_board(chain, rate)
            buf = board(buf.T.copy(), rate).T[:total].astype(np.float32)
        left, right = pan_gains(t["pan"])
        buf *= np.array([left, right], np.float32) * np.float32(db(t["gain_db"]))
        if stems:
            out_stems[t["id"]] = buf
        mix += buf
        done += 1
        faults.point("mixdown")
        report(done / steps, f"track {t['name']}")
    if with_master:
        if master_fx:
            mix = build_board(master_fx, rate)(mix.T.copy(), rate).T[:total].astype(np.float32)
        mix *= np.float32(db(s["master"]["gain_db"]))
        if s["master"]["limiter_db"] is not None:
            mix = limit(mix, rate, s["master"]["limiter_db"])
    report(1.0, "master")
    end = _last_sound(mix, int(math.ceil(song_s * rate)))
    mix = mix[:end]
    out_stems = {k: v[:end] for k, v in out_stems.items()}
    return Render(np.ascontiguousarray(mix), rate, song_s, out_stems)


def limit(
    audio: np.ndarray, rate: int, ceiling_db: float, lookahead_ms: float = 5.0, hold_ms: float = 50.0
) -> np.ndarray:
    """A look-ahead brick-wall limiter (signal processing, scipy): no sample leaves above the ceiling,
    and below it the signal passes bit-exact (gain exactly 1).

    (pedalboard's Limiter is JUCE's, which adds make-up gain up to 0 dBFS: not what a master
    ceiling should do to a quiet mix.) The gain needed at each sample, min(1, ceiling/|peak|), is
    held over the next `hold_ms` and looked ahead over `lookahead_ms`, then smoothed by a moving
    average over the look-ahead: every averaged value is at most the gain its own sample needs, so
    the ceiling holds exactly, and the gain ramps down before a peak and back up after it."""
    from scipy.ndimage import minimum_filter1d

    ceiling = db(ceiling_db)
    peak = np.max(np.abs(audio), axis=1).astype(np.float64)
    need = np.minimum(1.0, ceiling / np.maximum(peak, 1e-12))
    if need.min() >= 1.0:
        return audio
    look = max(1, int(round(lookahead_ms * rate / 1000)))
    hold = max(0, int(round(hold_ms * rate / 1000)))
    if (hold + look) % 2:
        hold += 1
    padded = np.concatenate([np.ones(hold), need, np.ones(look)])
    held = minimum_filter1d(padded, size=hold + look + 1, mode="nearest")
    centre = (hold + look) // 2
    held = held[centre : centre + len(need)]  # held[n] = min(need[n - hold … n + look])
    # moving average of (1 − held) over the last `look` samples, exact zeros where nothing is limited
    short = np.concatenate([np.zeros(look - 1), 1.0 - held])
    sums = np.cumsum(short)
    window = sums[look - 1 :] - np.concatenate([[0.0], sums[:-look]])
    gain = 1.0 - window / look
    gain = np.minimum(gain, need)  # guards float rounding at the ceiling
    return (audio * gain[:, None]).astype(np.float32)


def _last_sound(audio: np.ndarray, at_least: int, floor: float = 1e-5) -> int:
    """The length that keeps every sample above -100 dBFS (the tail) and at least the song."""
    loud = np.flatnonzero(np.max(np.abs(audio), axis=1) > floor)
    end = int(loud[-1]) + 1 if loud.size else 0
    return max(min(audio.shape[0], max(end, at_least)), 1)
