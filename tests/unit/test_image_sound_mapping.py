"""image_to_audio's label → preset table and the vote between the top labels (pure logic: no model)."""

from __future__ import annotations

import json

import pytest

from assistant.runtime.onnx import default_exports_dir
from assistant.vision import sound_mapping as i2a
from assistant.vision.image_labels import Label

LABELS = json.loads((default_exports_dir() / "imagenet-labels.json").read_text())["labels"]
MAPPED_PRESETS = {p for _, p in i2a.RANGES} | {p for p, _ in i2a.KEYWORDS} | {i2a.FALLBACK_PRESET}
ALL = {p: "" for p in MAPPED_PRESETS}


def label(index: int, probability: float) -> Label:
    return Label(index, LABELS[index].split(",")[0], LABELS[index], probability)


@pytest.mark.parametrize(
    "index, preset",
    [
        (291, "lion_roar"),
        (207, "dog_bark"),
        (15, "birds"),
        (978, "sea_waves"),
        (407, "siren"),
        (555, "siren"),
        (751, "race_car"),
        (817, "race_car"),
        (665, "engine"),
        (717, "engine"),
        (705, "whoosh"),
        (657, "riser"),
        (409, "clock"),
        (530, "beeps"),
        (556, "fire"),
        (470, "fire"),
        (879, "rain"),
        (980, "thunder"),
        (967, "crowd"),
        (281, None),
    ],
)
def test_classes_map_to_presets(index, preset):
    assert i2a.preset_for(label(index, 0.5), ALL) == preset


def test_votes_pick_the_winner_and_layer_a_strong_second():
    choice = i2a.choose_layers([label(751, 0.4), label(817, 0.2), label(291, 0.3), label(281, 0.1)], ALL)
    assert choice.layers == ("race_car", "lion_roar") and not choice.fallback
    assert choice.votes == {"race_car": pytest.approx(0.6), "lion_roar": pytest.approx(0.3)}
    weak = i2a.choose_layers([label(751, 0.8), label(291, 0.05)], ALL)
    assert weak.layers == ("race_car",)


def test_nothing_mapped_falls_back_to_an_ambience():
    choice = i2a.choose_layers([label(281, 0.6), label(282, 0.3)], ALL)
    assert choice.layers == (i2a.FALLBACK_PRESET,) and choice.fallback


def test_a_faint_label_does_not_decide_the_sound():
    # A house cat whose fifth guess is "lynx" at 2 %: no roar, the ambience stands in.
    choice = i2a.choose_layers([label(282, 0.39), label(285, 0.36), label(281, 0.17), label(287, 0.02)], ALL)
    assert choice.fallback and choice.layers == (i2a.FALLBACK_PRESET,)


def test_presets_the_synthesiser_lacks_are_skipped():
    assert i2a.preset_for(label(291, 0.5), {"wind": ""}) is None
    assert i2a.choose_layers([label(291, 0.9)], {"wind": "", "rain": ""}).layers == ("wind",)


def test_every_mapped_preset_exists_in_generate_sound():
    from assistant.synth import presets as gs

    assert MAPPED_PRESETS <= set(gs.PRESETS), MAPPED_PRESETS - set(gs.PRESETS)
