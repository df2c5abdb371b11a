"""Standard MIDI files: reading a MIDI artifact into clip notes, and exporting the project's MIDI
tracks (pretty_midi, MIT). Beats are exact: a note's beat is its tick / the file's resolution."""

from __future__ import annotations

from pathlib import Path

from ..errors import EarshotError
from . import model
from .mixdown import midi_events


def _pretty_midi():
    try:
        import pretty_midi
    except ImportError as exc:
        raise EarshotError("MIDI files need pretty_midi", "pip install 'earshot[music]'") from exc
    return pretty_midi


def read_notes(path: Path) -> tuple[list[list], int, float | None]:
    """([[pitch, start_beats, duration_beats, velocity]], GM program (128 = drums), tempo or None)."""
    pm_mod = _pretty_midi()
    try:
        pm = pm_mod.PrettyMIDI(str(path))
    except Exception as exc:
        raise EarshotError(f"{Path(path).name} is not a readable MIDI file ({exc})", "export it again") from exc
    notes, program = [], 0
    for inst in pm.instruments:
        if not notes:
            program = 128 if inst.is_drum else inst.program
        for n in inst.notes:
            start = pm.time_to_tick(n.start) / pm.resolution
            end = pm.time_to_tick(n.end) / pm.resolution
            notes.append([int(n.pitch), model.qt(start), model.qt(max(end - start, 1e-3)), int(n.velocity)])
    if not notes:
        raise EarshotError(f"{Path(path).name} has no notes", "use a MIDI file with notes in it")
    _, tempi = pm.get_tempo_changes()
    return sorted(notes, key=lambda n: (n[1], n[0])), program, (float(tempi[0]) if len(tempi) else None)


def export_midi(s: dict) -> bytes:
    """A type-1 standard MIDI file with one instrument per MIDI track (audio tracks are left out)."""
    import io

    pm_mod = _pretty_midi()
    pm = pm_mod.PrettyMIDI(initial_tempo=s["tempo_bpm"], resolution=960)
    num, den = s["time_signature"]
    pm.time_signature_changes.append(pm_mod.TimeSignature(num, den, 0.0))
    found = False
    for t in model.tracks_in_order(s):
        if t["kind"] != "midi":
            continue
        program = int(t.get("program", 0))
        inst = pm_mod.Instrument(program=min(program, 127), is_drum=program >= 128, name=t["name"])
        for c in model.clips_in_order(s, t["id"]):
            origin = model.clip_start_s(s, c)
            for pitch, start, dur, vel in midi_events(s, c):
                inst.notes.append(
                    pm_mod.Note(
                        velocity=int(vel), pitch=int(pitch), start=origin + start, end=origin + start + max(dur, 1e-3)
                    )
                )
        inst.notes.sort(key=lambda n: (n.start, n.pitch))
        pm.instruments.append(inst)
        found = found or bool(inst.notes)
    if not found:
        raise EarshotError("the project has no MIDI notes to export", "add a MIDI clip (e.g. from compose) first")
    out = io.BytesIO()
    pm.write(out)
    return out.getvalue()
