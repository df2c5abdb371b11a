"""The library index and its queries, on rows written by hand (no audio, no models)."""

from __future__ import annotations

import numpy as np
import pytest

from assistant.errors import EarshotError
from assistant.library.descriptors import nearest
from assistant.library.index import Analysis, FileRow, LibraryIndex
from assistant.library.query import Query, count_query, normalise_key, run_query


def _row(path: str, **facts) -> FileRow:
    vector = facts.pop("vector", None)
    a = Analysis(**facts, vector=None if vector is None else np.asarray(vector, np.float32))
    folder, _, name = path.rpartition("/")
    return FileRow(f"/no-such-lib/{path}", "/no-such-lib", folder, name, 10, 1, "sha-" + path, a)


@pytest.fixture
def index(tmp_path):
    idx = LibraryIndex(tmp_path / "library.db")
    idx.add_root(__import__("pathlib").Path("/no-such-lib"))
    idx.upsert(_row("chords/a.wav", key="D minor", tempo_bpm=120.0, has_music=True, tags=["sustained", "music"]))
    idx.upsert(_row("chords/b.wav", key="D major", tempo_bpm=121.5, has_music=True, tags=["plucked", "music"]))
    idx.upsert(_row("chords/c.wav", key="F# minor", tempo_bpm=90.0, has_music=True, tags=["music"]))
    idx.upsert(_row("talk/d.wav", has_speech=True, transcript="We need to talk about the budgets.", tags=["speech"]))
    idx.upsert(_row("talk/e.wav", has_speech=True, transcript="The festival was fine.", has_clipping=True))
    idx.upsert(_row("broken/f.wav", status="error", error="not audio"))
    yield idx
    idx.close()


def _names(matches) -> list[str]:
    return [m.path.rsplit("/", 1)[1] for m in matches]


def test_a_row_written_twice_is_one_row_with_the_new_analysis(index):
    index.upsert(_row("chords/a.wav", key="E minor", tempo_bpm=100.0))
    assert index.count() == 6
    assert index.row("/no-such-lib/chords/a.wav").analysis.key == "E minor"
    assert _names(run_query(index, Query(words="budget"))) == ["d.wav"]  # FTS follows updates
    index.upsert(_row("talk/d.wav", transcript="nothing here"))
    assert run_query(index, Query(words="budget")) == []


def test_words_find_what_was_said_and_what_grows_from_it_not_a_shorter_stem(index):
    index.upsert(_row("talk/g.wav", has_speech=True, transcript="The market opens at nine."))
    index.upsert(_row("talk/h.wav", has_speech=True, transcript="Our marketing plan is late."))
    # the stemmed index alone found g.wav for "marketing" too (both are "market" to Porter)
    assert _names(run_query(index, Query(words="marketing"))) == ["h.wav"]
    assert _names(run_query(index, Query(words="market"))) == ["g.wav", "h.wav"]
    assert _names(run_query(index, Query(words="budget"))) == ["d.wav"]  # "budgets" grows from it
    assert count_query(index, Query(words="marketing plan")) == 1


@pytest.mark.parametrize(
    "text, expected",
    [
        ("D minor", ("D", "minor")),
        ("d min", ("D", "minor")),
        ("F#m", ("F#", "minor")),
        ("F sharp minor", ("F#", "minor")),
        ("E flat major", ("Eb", "major")),
        ("Db", ("C#", None)),
        ("minor", (None, "minor")),
        ("any", (None, None)),  # the planner's "no key" (it read as A)
        ("F sharpminor", ("F#", "minor")),  # a planner's spelling
        ("Bbm", ("Bb", "minor")),
    ],
)
def test_keys_are_read_the_way_people_say_them(text, expected):
    assert normalise_key(text) == expected


@pytest.mark.parametrize("text", ["drums", "speech", "H minor"])
def test_a_word_that_is_no_key_is_an_error_not_a_guess(text):
    with pytest.raises(EarshotError, match="is not a key"):  # "drums" used to search D major and D minor
        normalise_key(text)


def test_a_tempo_is_matched_in_whole_bpm(index):
    # 121.5 rounds to 122 (inside 120 ± 2); measured estimates are ±0.3 BPM off the whole BPM played
    assert _names(run_query(index, Query(tempo_bpm=120, tempo_tolerance_bpm=2))) == ["a.wav", "b.wav"]
    assert _names(run_query(index, Query(tempo_bpm=124, tempo_tolerance_bpm=2))) == ["b.wav"]
    assert _names(run_query(index, Query(tempo_min_bpm=122, tempo_max_bpm=130))) == ["b.wav"]


def test_filters_and_order(index):
    assert _names(run_query(index, Query(key="D minor"))) == ["a.wav"]
    assert _names(run_query(index, Query(key="D"))) == ["a.wav", "b.wav"]
    assert _names(run_query(index, Query(key="minor"))) == ["a.wav", "c.wav"]
    # around a tempo: the closest first
    assert _names(run_query(index, Query(tempo_bpm=121, tempo_tolerance_bpm=2))) == ["b.wav", "a.wav"]
    assert _names(run_query(index, Query(tempo_min_bpm=85, tempo_max_bpm=95))) == ["c.wav"]
    assert _names(run_query(index, Query(tag="piano"))) == ["b.wav"]  # piano is the plucked family
    assert _names(run_query(index, Query(has_clipping=True))) == ["e.wav"]
    assert _names(run_query(index, Query(words="festival", folder="talk"))) == ["e.wav"]
    assert "f.wav" not in _names(run_query(index, Query()))  # unreadable files are not found …
    assert "f.wav" in _names(run_query(index, Query(include_errors=True)))  # … but listed
    with pytest.raises(EarshotError):
        run_query(index, Query(tag="kazoo"))


def test_a_file_whose_mode_could_not_be_told_is_found_by_its_tonic_only(index):
    index.upsert(_row("bass/line.wav", key="D", tempo_bpm=100.0, has_music=True, tags=["bass"]))
    assert _names(run_query(index, Query(key="D"))) == ["line.wav", "a.wav", "b.wav"]
    assert _names(run_query(index, Query(key="D major"))) == ["b.wav"]
    assert _names(run_query(index, Query(key="minor"))) == ["a.wav", "c.wav"]


def test_loops_have_a_beat_and_one_shots_are_single_short_sounds(index):
    index.upsert(_row("hits/kick.wav", duration_s=0.4, tags=["drums", "bass"]))
    index.upsert(_row("loops/beat.wav", duration_s=6.0, tempo_bpm=100.0, tags=["drums"]))
    index.upsert(_row("field/rain.wav", duration_s=30.0, tags=["drums", "ambience"]))  # percussive, no beat
    assert _names(run_query(index, Query(tag="drums", kind="loop"))) == ["beat.wav"]
    assert _names(run_query(index, Query(tag="drums", kind="one-shot"))) == ["kick.wav"]
    assert _names(run_query(index, Query(tag="drums"))) == ["rain.wav", "kick.wav", "beat.wav"]
    with pytest.raises(EarshotError):
        run_query(index, Query(kind="stems"))


def test_nearest_neighbours_rank_by_cosine_after_z_scoring():
    rng = np.random.default_rng(0)
    matrix = rng.standard_normal((50, 8)).astype(np.float32)
    target = matrix[7] + 0.01
    order, sims = nearest(matrix, target, 5)
    assert order[0] == 7 and sims[0] > 0.99 and list(sims) == sorted(sims, reverse=True)


def test_similar_to_excludes_the_file_itself(index):
    for name, v in (("chords/a.wav", [1, 0, 0]), ("chords/b.wav", [0.9, 0.1, 0]), ("chords/c.wav", [0, 0, 1])):
        row = index.row(f"/no-such-lib/{name}")
        row.analysis.vector = np.asarray(v, np.float32)
        index.upsert(row)
    found = _names(run_query(index, Query(similar_to=__import__("pathlib").Path("/no-such-lib/chords/a.wav"))))
    assert found[0] == "b.wav" and "a.wav" not in found
