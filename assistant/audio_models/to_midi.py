"""to_midi: audio → MIDI notes with Spotify's Basic Pitch (ICASSP 2022), its ONNX model on onnxruntime.

The model (nmp.onnx, 230 kB, Apache-2.0) comes from the basic-pitch wheel into the model store, pinned
by sha256 like every other model. Its note post-processing (onset/frame thresholds, the "melodia
trick", pitch bends) is basic-pitch's own Python code, so the package is needed too; it is installed
with `--no-deps` because its declared dependencies pull TensorFlow, which ONNX inference never uses.
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass, field

import numpy as np

from ..errors import EarshotError
from ..runtime.models import cached_model
from ..store.session import Artifact
from .base import ToolContext, ToolResult, ToolSpec, require_audio, stem_of

MODEL_NAME = "basic-pitch"
INSTALL_HINT = "pip install --no-deps basic-pitch==0.4.0 'resampy>=0.4.3' mir_eval (./install.sh does this)"
GATE_BELOW_PEAK_DB = 50.0  # a note must sound within this of the file's loudest moment
GHOST_RATIO = 0.6  # an overtone "note" weaker than this share of its fundamental is dropped
NOTE_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")


@dataclass
class Args:
    file: Artifact
    sensitivity: float = field(
        default=0.5, metadata={"min": 0, "max": 1, "doc": "higher finds quieter notes (and more false ones)"}
    )
    min_note_ms: int = field(
        default=128,
        metadata={"min": 20, "max": 1000, "doc": "drop notes shorter than this (128 = Basic Pitch's default)"},
    )


SPEC = ToolSpec(
    name="to_midi",
    doing="writing down the notes of {file}",
    summary="transcribe the notes of music or a melody into a MIDI file",
    examples=("convert song.wav to MIDI", "transcribe the piano in @a2 into notes", "make a MIDI file of the melody"),
    method="Basic Pitch (learned; Spotify's ICASSP 2022 note transcription model, ONNX)",
    licence="Apache-2.0",
    timeout_s=600,
    max_memory_mb=2048,
)


def _import_basic_pitch():
    # basic_pitch logs a warning for every optional backend it does not find (TensorFlow, CoreML,
    # TFLite); none is needed for ONNX, so keep them out of the user's terminal.
    previous = logging.root.manager.disable
    logging.disable(logging.WARNING)
    try:
        from basic_pitch import constants, inference, note_creation
    except ImportError as exc:
        raise EarshotError(f"basic-pitch is not installed ({exc})", INSTALL_HINT) from exc
    finally:
        logging.disable(previous)
    return constants, inference, note_creation


def _session(path):
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    return ort.InferenceSession(str(path), sess_options=opts, providers=["CPUExecutionProvider"])


def model_output(audio_22k: np.ndarray, model_path, progress=None) -> dict[str, np.ndarray]:
    """Frame-wise note, onset and contour activations, windowed exactly as basic-pitch's run_inference."""
    constants, inference, _ = _import_basic_pitch()
    session = cached_model(f"onnx:{model_path}", lambda: _session(model_path))
    n_overlap = 30
    overlap_len = n_overlap * constants.FFT_HOP
    hop = constants.AUDIO_N_SAMPLES - overlap_len
    padded = np.concatenate([np.zeros(overlap_len // 2, np.float32), audio_22k.astype(np.float32)])
    outputs: dict[str, list] = {"note": [], "onset": [], "contour": []}
    windows = list(inference.window_audio_file(padded, hop))
    for i, (window, _) in enumerate(windows):
        note, onset, contour = session.run(
            ["StatefulPartitionedCall:1", "StatefulPartitionedCall:2", "StatefulPartitionedCall:0"],
            {"serving_default_input_2:0": window[None].astype(np.float32)},
        )
        outputs["note"].append(note)
        outputs["onset"].append(onset)
        outputs["contour"].append(contour)
        if progress:
            progress((i + 1) / len(windows))
    return {k: inference.unwrap_output(np.concatenate(v), len(audio_22k), n_overlap) for k, v in outputs.items()}


def transcribe_notes(
    audio: np.ndarray, rate: int, model_path, sensitivity: float = 0.5, min_note_ms: int = 128, progress=None
):
    """(pretty_midi.PrettyMIDI, [(start_s, end_s, pitch, amplitude)]) of a mono signal."""
    from ..audio.files import resample

    constants, _, note_creation = _import_basic_pitch()
    y = resample(audio, rate, constants.AUDIO_SAMPLE_RATE)
    if len(y) < constants.AUDIO_SAMPLE_RATE // 2:
        # a very short file (one sample…) is padded with silence: the model needs whole frames
        y = np.concatenate([y, np.zeros(constants.AUDIO_SAMPLE_RATE // 2 - len(y), np.float32)])
    out = model_output(y, model_path, progress)
    # sensitivity 0.5 gives basic-pitch's defaults (onset 0.5, frame 0.3); higher lowers both thresholds.
    onset_thresh = float(np.clip(1.0 - sensitivity, 0.05, 0.95))
    frame_thresh = float(np.clip(0.6 * (1.0 - sensitivity), 0.05, 0.9))
    min_frames = max(1, int(round(min_note_ms / 1000 * constants.ANNOTATIONS_FPS)))
    midi, events = note_creation.model_output_to_notes(
        out,
        onset_thresh=onset_thresh,
        frame_thresh=frame_thresh,
        min_note_len=min_frames,
        include_pitch_bends=True,
        melodia_trick=True,
    )
    notes = sorted((float(s), float(e), int(p), float(a)) for s, e, p, a, _ in events)
    keep = clean_notes(notes, y, constants.AUDIO_SAMPLE_RATE)
    if len(keep) < len(notes):
        kept = {(round(s, 4), p) for s, _, p, _ in keep}
        for inst in midi.instruments:
            inst.notes = [n for n in inst.notes if (round(float(n.start), 4), n.pitch) in kept]
    return midi, keep


def clean_notes(notes: list[tuple[float, float, int, float]], y: np.ndarray, rate: int) -> list:
    """Drop two kinds of false notes Basic Pitch makes on clean recordings:

    - notes in near-silence (the model normalises each window, so a reverb tail or the noise floor
      can look like notes): the input must reach GATE_BELOW_PEAK_DB of the file's peak level during
      the note, and -70 dBFS;
    - harmonic ghosts: a note 12, 19 or 24 semitones above a note starting within 30 ms, at under
      GHOST_RATIO of its amplitude (the overtone of a bright instrument, not a played octave)."""
    import librosa

    if not notes:
        return notes
    hop = 256
    level = librosa.amplitude_to_db(librosa.feature.rms(y=y, frame_length=1024, hop_length=hop)[0], ref=1.0)
    gate = max(-70.0, float(level.max()) - GATE_BELOW_PEAK_DB)
    out = []
    for s, e, p, a in notes:
        lo, hi = int(s * rate / hop), max(int(s * rate / hop) + 1, int(e * rate / hop))
        if level[lo:hi].size == 0 or level[lo:hi].max() < gate:
            continue
        ghost = any(abs(s - s2) <= 0.03 and p - p2 in (12, 19, 24) and a < GHOST_RATIO * a2 for s2, _, p2, a2 in notes)
        if not ghost:
            out.append((s, e, p, a))
    return out


def note_name(pitch: int) -> str:
    return f"{NOTE_NAMES[pitch % 12]}{pitch // 12 - 1}"


def run(args: Args, ctx: ToolContext) -> ToolResult:
    require_audio(args.file, SPEC.name)
    audio, rate = ctx.load_audio(args.file)
    model_path = ctx.models.path_or_packaged(MODEL_NAME)
    midi, notes = transcribe_notes(
        audio,
        rate,
        model_path,
        args.sensitivity,
        args.min_note_ms,
        lambda f: ctx.progress(0.9 * f, "transcribing notes"),
    )
    buf = io.BytesIO()
    midi.write(buf)
    art = ctx.new_file_artifact(
        buf.getvalue(),
        f"{stem_of(args.file)}-notes",
        ".mid",
        "midi",
        parents=[args.file],
        meta={"notes": len(notes), "model": MODEL_NAME},
    )
    ctx.progress(1.0, "done")
    if notes:
        lo, hi = min(n[2] for n in notes), max(n[2] for n in notes)
        summary = (
            f"Transcribed {len(notes)} notes ({note_name(lo)} to {note_name(hi)}) from {args.file.name} "
            f"with Basic Pitch → {art.name}."
        )
    else:
        summary = f"Basic Pitch found no notes in {args.file.name}; {art.name} is empty. Try a higher sensitivity."
    shown = [{"start_s": round(s, 3), "end_s": round(e, 3), "pitch": p, "name": note_name(p)} for s, e, p, _ in notes]
    return ToolResult(summary, [art], {"notes": shown[:2000], "count": len(notes)})
