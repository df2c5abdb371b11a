"""Mixdown: sample-accurate placement and summing against an independent reference mixer, stems
that add up to the mix, the master limiter's ceiling, and "more relaxed" measured on a rendered loop."""

from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf
from project_signals import drum_loop, noise, reference_mix, spectral_centroid_hz, tail_s, tempo_bpm, write

from assistant.audio.files import load_audio
from assistant.project import Project, mixdown
from assistant.project.model import clip_end_s

pytestmark = pytest.mark.integration
RATE = 44100


def load(source):
    return load_audio(source["path"], mono=False)


def _sources(session, rng):
    files = {}
    srcs = []
    for n, (seconds, ch) in enumerate([(1.3, 1), (0.7, 2), (2.1, 1)], 1):
        path = session.workspace / f"src{n}.wav"
        x = noise(seconds, RATE, ch, seed=int(rng.integers(1 << 30)), level=0.05)
        write(path, x, RATE)
        files[str(path)] = x
        srcs.append(
            {
                "artifact": n,
                "path": str(path),
                "name": path.name,
                "sha256": "",
                "duration_s": seconds,
                "sample_rate_hz": RATE,
                "channels": ch,
            }
        )
    return srcs, files


@pytest.mark.parametrize("seed", range(6))
def test_mixdown_equals_the_independent_sum(session, seed):
    rng = np.random.default_rng(seed)
    srcs, files = _sources(session, rng)
    p = Project(session)
    p.apply("set_tempo", bpm=float(rng.integers(70, 160)) + 0.5)
    tracks = []
    for k in range(3):
        tracks.append(p.apply("add_track", name=f"T{k}").ref)
        p.apply(
            "set_track",
            track_id=tracks[-1],
            gain_db=float(rng.integers(-12, 4)),
            pan=round(float(rng.uniform(-1, 1)), 3),
            mute=bool(seed % 3 == 0 and k == 1),
            solo=bool(seed % 4 == 1 and k == 2),
        )
    for _ in range(7):
        unit = str(rng.choice(["beats", "seconds"]))
        p.apply(
            "place_clip",
            track_id=str(rng.choice(tracks)),
            start=round(float(rng.uniform(0, 8)), 3),
            unit=unit,
            source=srcs[int(rng.integers(3))],
        )
    for cid in list(p.state()["clips"])[:5]:
        if rng.random() < 0.5:
            p.apply("trim_clip", clip_id=cid, length=round(float(rng.uniform(0.2, 1.0)), 3))
        if rng.random() < 0.5:
            p.apply("loop_clip", clip_id=cid, length=round(float(rng.uniform(1, 4)), 3))
        if rng.random() < 0.6:
            c = p.state()["clips"][cid]
            length_s = clip_end_s(p.state(), c) - mixdown.clip_start_s(p.state(), c)
            p.apply(
                "set_clip",
                clip_id=cid,
                gain_db=float(rng.integers(-9, 4)),
                fade_in_s=round(length_s * 0.3, 3),
                fade_out_s=round(length_s * 0.2, 3),
            )
    cid = list(p.state()["clips"])[-1]
    p.apply("split_clip", clip_id=cid, at=p.state()["clips"][cid]["start"] + p.state()["clips"][cid]["length"] / 3)
    state = p.state()
    render = mixdown.render(state, load)
    ref = reference_mix(state, files, RATE)
    n = min(len(ref), len(render.audio))
    err = float(np.max(np.abs(render.audio[:n] - ref[:n])))
    beyond = float(np.max(np.abs(render.audio[n:]), initial=0.0))
    print(f"seed {seed}: max |render - reference| = {err:.2e} over {n} samples")
    assert np.max(np.abs(ref)) > 0.01  # the test has something to compare
    assert err <= 1e-4 and beyond <= 1e-4


def test_a_click_lands_on_its_sample(session):
    click = np.zeros(100, np.float32)
    click[0] = 0.5
    path = session.workspace / "click.wav"
    write(path, click, RATE)
    src = {
        "artifact": 1,
        "path": str(path),
        "name": "click.wav",
        "duration_s": 100 / RATE,
        "sample_rate_hz": RATE,
        "channels": 1,
    }
    p = Project(session)
    p.apply("set_tempo", bpm=97.3)
    tid = p.apply("add_track", name="Click").ref
    starts = [0.0, 1.0, 2.333, 7.125]
    for b in starts:
        p.apply("place_clip", track_id=tid, start=b, unit="beats", source=src)
    p.apply("place_clip", track_id=tid, start=3.14159, unit="seconds", source=src)
    audio = mixdown.render(p.state(), load).audio
    found = list(np.flatnonzero(np.abs(audio[:, 0]) > 0.25))
    expected = sorted([round(b * 60 / 97.3 * RATE) for b in starts] + [round(3.14159 * RATE)])
    assert found == expected


def test_stems_add_up_to_the_mix_and_the_limiter_holds_its_ceiling(session):
    rng = np.random.default_rng(7)
    srcs, _ = _sources(session, rng)
    p = Project(session)
    for k in range(3):
        p.apply("add_track", name=f"T{k}")
    for k, t in enumerate(sorted(p.state()["tracks"])):
        p.apply("place_clip", track_id=t, start=k * 0.5, unit="seconds", source=srcs[k])
        p.apply("add_effect", owner=t, kind="reverb" if k == 0 else "compressor")
    p.apply("set_master", limiter=False)
    render = mixdown.render(p.state(), load, stems=True)
    total = sum(render.stems.values())
    assert len(render.stems) == 3
    assert float(np.max(np.abs(total - render.audio))) <= 1e-4
    # 24 dB hotter: the limiter (on again, ceiling -1 dBFS) keeps every sample under the ceiling
    for t in p.state()["tracks"]:
        p.apply("set_track", track_id=t, gain_db=12.0)
    p.apply("set_master", gain_db=12.0, limiter_db=-1.0)
    loud = mixdown.render(p.state(), load)
    peak_db = 20 * np.log10(np.max(np.abs(loud.audio)))
    print(f"limited peak {peak_db:.3f} dBFS (ceiling -1)")
    assert peak_db <= -1.0 + 1e-3


def test_more_relaxed_is_slower_darker_and_longer_tailed(session, run_tool):
    bpm, bars = 120.0, 2
    path = session.workspace / "loop.wav"
    write(path, drum_loop(RATE, bpm, bars), RATE)
    info = sf.info(str(path))
    session.add_artifact(
        path,
        "audio",
        tool="compose",
        duration_s=info.frames / RATE,
        sample_rate_hz=RATE,
        channels=1,
        meta={"tempo_bpm": bpm},
    )
    run_tool("clip", op="place", file="@a1", track="drums")
    run_tool("clip", op="loop", clip="the drums", length=8, unit="bars")
    before = Project(session).state()
    a = run_tool("render_project")
    reply = run_tool("vibe", descriptor="relaxed")
    after = Project(session).state()
    b = run_tool("render_project")
    print(reply.summary)
    x, _ = sf.read(str(a.artifacts[0].path), dtype="float32", always_2d=True)
    y, _ = sf.read(str(b.artifacts[0].path), dtype="float32", always_2d=True)
    end_x = max(clip_end_s(before, c) for c in before["clips"].values())
    end_y = max(clip_end_s(after, c) for c in after["clips"].values())
    figures = {
        "centroid_hz": (
            spectral_centroid_hz(x[: int(end_x * RATE)], RATE),
            spectral_centroid_hz(y[: int(end_y * RATE)], RATE),
        ),
        "tempo_bpm": (tempo_bpm(x[: int(end_x * RATE)], RATE), tempo_bpm(y[: int(end_y * RATE)], RATE)),
        "tail_s": (tail_s(x, RATE, end_x), tail_s(y, RATE, end_y)),
    }
    print(json.dumps(figures))
    assert figures["centroid_hz"][1] < 0.8 * figures["centroid_hz"][0]
    assert abs(figures["tempo_bpm"][0] - 120) <= 2.4 and abs(figures["tempo_bpm"][1] - 108) <= 2.2
    assert figures["tail_s"][1] >= figures["tail_s"][0] + 0.5
    # the reply names every change with its number, so any one can be undone
    for change in reply.data["changes"]:
        assert f"#{change['seq']} {change['label']}" in reply.summary
    assert "tempo 120 → 108 BPM" in reply.summary
