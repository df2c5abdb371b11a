"""compose's score format: key parsing, the grammar (compiled by llama.cpp), parsing and MIDI."""

from __future__ import annotations

import re

import pytest

from assistant.music import score as compose

SCORE = """lead: flute
chords: guitar
style: arpeggio
bass: acoustic
drums: rock
1: I | 3:2 4:1 5:1 5:4
2: V | 2:2 7,:1 2:1 5':4
3: VI | r:2 1:6
4: I | 1:8
"""


@pytest.mark.parametrize(
    "text,expected",
    [
        ("D minor", (2, "minor")),
        ("Dm", (2, "minor")),
        ("F# major", (6, "major")),
        ("Bb", (10, "major")),
        ("E flat minor", (3, "minor")),
        ("c min", (0, "minor")),
    ],
)
def test_parse_key(text, expected):
    assert compose.parse_key(text) == expected


def test_bad_key_is_refused():
    from assistant.errors import EarshotError

    with pytest.raises(EarshotError):
        compose.parse_key("H major")


def test_grammar_compiles_and_fixes_bars():
    pytest.importorskip("llama_cpp")
    from assistant.llm.grammar_bound import max_output_chars
    from assistant.runtime.llm import LlmClient

    for key_given, tempo_given in ((True, True), (False, False)):
        gbnf = compose.score_grammar(4, key_given, tempo_given)
        LlmClient.compile_grammar(gbnf)
        # compile_grammar only stores the text (llama-cpp-python 0.3 parses it when a sampler is made,
        # and a rule name llama.cpp cannot read, such as one with '_', then crashes the process):
        # read it here with the GBNF reader whose names are llama.cpp's ([A-Za-z0-9-]).
        assert max_output_chars(gbnf) > 0
        # llama.cpp also refuses a rule that names an undefined one, reachable from root or not.
        rules = dict(line.split(" ::= ", 1) for line in gbnf.splitlines() if " ::= " in line)
        for body in rules.values():
            names = re.findall(r"[A-Za-z0-9-]+", re.sub(r'"(?:[^"\\]|\\.)*"|\[[^\]]*\]', " ", body))
            assert set(names) <= set(rules), set(names) - set(rules)
        assert gbnf.count("bar4 ::=") == 1 and "bar5" not in gbnf
        assert ('"key: "' in gbnf) is (not key_given)


def test_score_to_midi_keeps_every_note_in_the_key():
    score = compose.parse_score(SCORE, 9, "minor", 90)  # A minor
    assert len(score.bars) == 4 and score.bars[1][0] == 4
    midi = compose.score_to_midi(score)
    allowed = {(9 + s) % 12 for s in compose.MINOR} | {(9 + 11) % 12}  # + the raised leading tone (V)
    for inst in midi.instruments:
        if not inst.is_drum:
            assert {n.pitch % 12 for n in inst.notes} <= allowed
    lead = midi.instruments[0]
    assert [n.pitch for n in lead.notes][:4] == [72, 74, 76, 76]  # degrees 3 4 5 5 of A minor above A4
    assert max(n.end for n in lead.notes) <= 4 * 4 * 60 / 90


@pytest.mark.parametrize(
    "description,expected",
    [
        ("a calm piano loop", {"lead": ("piano",), "chords": ("piano",)}),
        (
            "an upbeat pop groove with drums and bass",
            {"drums": ("soft", "rock", "four"), "bass": ("acoustic", "electric", "synth")},
        ),
        (
            "a flute melody over electric guitar, no drums",
            {"lead": ("flute",), "chords": ("electric guitar",), "drums": ("none",)},
        ),
        ("something dreamy", {}),
    ],
)
def test_request_words_fix_header_fields(description, expected):
    assert compose.request_constraints(description) == expected


def test_fixed_fields_narrow_the_grammar():
    gbnf = compose.score_grammar(4, True, True, {"lead": ("flute",), "drums": ("none",)})
    assert '"lead: " ("flute")' in gbnf and '"drums: " ("none")' in gbnf
    assert '"chords: " ("piano" |' in gbnf


def test_bar_rules_allow_exactly_the_bars_that_fill_4_4_with_at_most_5_notes():
    import itertools
    import re

    rules = dict(r.split(" ::= ") for r in compose._bar_rules())

    def expand(sym: str) -> set[tuple[int, ...]]:  # duration sequences a rule can produce
        out = set()
        for alt in rules[sym].split(" | "):
            d = int(re.search(r'":(\d)"', alt).group(1))
            rest = re.search(r"(m\d-\d)$", alt)
            out |= {(d,) + tail for tail in expand(rest.group(1))} if rest else {(d,)}
        return out

    got = expand("m8-5")
    want = {seq for n in range(1, 6) for seq in itertools.product(compose.DURATIONS, repeat=n) if sum(seq) == 8}
    assert got == want
