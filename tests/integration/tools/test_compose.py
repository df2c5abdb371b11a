"""compose: the rendered audio's key and tempo, measured by `tag`, match the request; the MIDI holds
exactly the asked bars at the asked tempo. Uses the default planner model (Qwen2.5-Coder-1.5B)."""

from __future__ import annotations

import io

import pytest

pytestmark = pytest.mark.integration


@pytest.fixture
def planner_model():
    from tests.conftest import require_models

    require_models("qwen2.5-coder-1.5b")


@pytest.mark.parametrize(
    "description,key,tempo,bars",
    [
        ("a calm piano loop", "D minor", 80, 8),
        ("an upbeat pop groove with drums and bass", "A major", 124, 8),
    ],
)
def test_rendered_key_and_tempo_match_the_request(session, run_tool, planner_model, description, key, tempo, bars):
    import pretty_midi

    result = run_tool("compose", description=description, key=key, tempo_bpm=tempo, bars=bars)
    wav, mid, score = result.artifacts
    print(result.data["score"])
    midi = pretty_midi.PrettyMIDI(io.BytesIO(mid.path.read_bytes()))
    _, tempi = midi.get_tempo_changes()
    assert list(tempi) == pytest.approx([tempo], rel=1e-4)  # MIDI stores whole microseconds per beat
    bar_s = 4 * 60 / tempo
    assert max(n.start for i in midi.instruments for n in i.notes) < bars * bar_s
    assert min(n.start for i in midi.instruments for n in i.notes) < bar_s
    assert score.path.read_text().count("\n") >= bars

    tags = run_tool("tag", file=wav.ref).data
    print(f"asked {key} at {tempo} BPM → measured {tags['key']} at {tags['tempo_bpm']} BPM")
    assert tags["key"] == key
    assert tags["tempo_bpm"] is not None and abs(tags["tempo_bpm"] - tempo) / tempo <= 0.02


def test_the_model_may_choose_key_and_tempo(session, run_tool, planner_model):
    import pretty_midi

    result = run_tool("compose", description="a short happy tune for a children's game, 4 bars", bars=4)
    wav, mid, _ = result.artifacts
    midi = pretty_midi.PrettyMIDI(io.BytesIO(mid.path.read_bytes()))
    assert list(midi.get_tempo_changes()[1]) == pytest.approx([result.data["tempo_bpm"]], rel=1e-4)
    assert result.data["key"] in result.summary
    tags = run_tool("tag", file=wav.ref).data
    print(f"model chose {result.data['key']} at {result.data['tempo_bpm']} BPM → measured {tags['key']}")
    assert tags["key"] == result.data["key"]
