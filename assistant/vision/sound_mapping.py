"""Which procedural sound fits a picture: ImageNet labels → synth presets (a fixed table, no model).

The top labels vote with their probabilities; a second preset is layered in when it gets at least
40 % of the winner's vote. Used by the image_to_audio tool.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..synth.presets import PRESETS
from .image_labels import Label

TOP_K = 5
SECOND_LAYER_SHARE = 0.4  # a second preset joins when its vote is ≥ 40 % of the winner's…
SECOND_LAYER_MIN = 0.08  # …and at least 8 % probability in absolute terms
MIN_VOTE = 0.1  # a preset needs 10 % of the probability: a 2 % "lynx" must not make a cat roar
FALLBACK_PRESET = "wind"  # nothing in the picture has a sound of its own: an outdoor ambience


# ImageNet class index ranges (the dataset's own order groups animals by kind).
RANGES: tuple[tuple[range, str], ...] = (
    (range(0, 7), "sea_waves"),  # fish, sharks, rays
    (range(7, 25), "birds"),  # cock … great grey owl
    (range(80, 101), "birds"),  # grouse … black swan
    (range(107, 110), "sea_waves"),  # jellyfish, sea anemone, brain coral
    (range(118, 126), "sea_waves"),  # crabs, lobsters, hermit crab
    (range(127, 147), "birds"),  # stork … albatross
    (range(147, 151), "sea_waves"),  # whales, dugong, sea lion
    (range(151, 281), "dog_bark"),  # dog breeds, wolves, foxes
    (range(286, 298), "lion_roar"),  # big cats and bears
    (range(327, 330), "sea_waves"),  # starfish, sea urchin, sea cucumber
    (range(389, 398), "sea_waves"),  # barracouta … puffer
)

# Objects and scenes: a word of the class's synonyms (whole words, lower case) → preset.
# Most specific first: "passenger car" is a train (whoosh), not an engine; "fire screen" is fire.
KEYWORDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("siren", ("ambulance", "fire engine", "police van", "police wagon", "fireboat")),
    ("race_car", ("racer", "race car", "racing car", "sports car", "go-kart", "formula")),
    ("riser", ("missile", "projectile", "space shuttle", "rocket")),
    (
        "whoosh",
        (
            "warplane",
            "airliner",
            "airship",
            "wing",
            "parachute",
            "bullet train",
            "passenger car",
            "electric locomotive",
            "steam locomotive",
            "freight car",
            "bobsled",
            "bobsleigh",
            "ski",
            "skateboard",
            "swing",
            "roller coaster",
        ),
    ),
    (
        "engine",
        (
            "car",
            "jeep",
            "limousine",
            "minivan",
            "cab",
            "taxi",
            "pickup",
            "truck",
            "tractor",
            "minibus",
            "bus",
            "trolleybus",
            "moped",
            "motor scooter",
            "snowmobile",
            "forklift",
            "golfcart",
            "harvester",
            "lawn mower",
            "chain saw",
            "tank",
            "half track",
            "convertible",
            "beach wagon",
            "model t",
            "recreational vehicle",
            "moving van",
            "police car",
            "speedboat",
            "amphibian",
            "motorcycle",
            "mountain bike",
        ),
    ),
    ("clock", ("analog clock", "wall clock", "stopwatch", "hourglass", "sundial", "metronome")),
    ("fire", ("candle", "torch", "matchstick", "lighter", "fire screen", "stove", "fireplace")),
    (
        "beeps",
        (
            "digital clock",
            "digital watch",
            "cellular telephone",
            "dial telephone",
            "pay-phone",
            "ipod",
            "desktop computer",
            "laptop",
            "notebook",
            "computer keyboard",
            "mouse",
            "monitor",
            "screen",
            "remote control",
            "modem",
            "hand-held computer",
            "oscilloscope",
            "microwave",
            "joystick",
            "slot",
            "cash machine",
            "television",
            "radio",
            "scoreboard",
        ),
    ),
    (
        "sea_waves",
        (
            "seashore",
            "sandbar",
            "lakeside",
            "promontory",
            "boathouse",
            "liner",
            "container ship",
            "lifeboat",
            "schooner",
            "catamaran",
            "trimaran",
            "yawl",
            "pirate",
            "wreck",
            "canoe",
            "paddle",
            "gondola",
            "submarine",
            "aircraft carrier",
            "dock",
            "breakwater",
            "snorkel",
            "scuba diver",
            "swimming trunks",
            "bathing cap",
            "water ski",
            "life jacket",
            "sea",
            "beach",
        ),
    ),
    ("rain", ("umbrella", "rain barrel", "poncho", "raincoat")),
    ("thunder", ("volcano", "geyser")),
    ("wind", ("alp", "valley", "cliff", "mountain tent", "yurt", "dogsled", "pinwheel", "flagpole", "balloon")),
    (
        "applause",
        (
            "stage",
            "theater curtain",
            "microphone",
            "academic gown",
            "mortarboard",
            "grand piano",
            "upright",
            "accordion",
            "acoustic guitar",
            "electric guitar",
            "violin",
            "cello",
            "banjo",
            "drum",
            "trombone",
            "cornet",
            "french horn",
            "sax",
            "harp",
            "organ",
        ),
    ),
    (
        "crowd",
        (
            "restaurant",
            "barbershop",
            "bakery",
            "butcher shop",
            "confectionery",
            "grocery store",
            "shoe shop",
            "toyshop",
            "tobacco shop",
            "bookshop",
            "library",
            "cinema",
            "church",
            "mosque",
            "monastery",
            "palace",
            "planetarium",
            "espresso",
            "coffee mug",
            "cup",
            "pizza",
            "hotdog",
            "cheeseburger",
            "ice cream",
            "bagel",
            "burrito",
            "football helmet",
            "baseball",
            "basketball",
            "soccer ball",
            "rugby ball",
            "volleyball",
            "ballplayer",
            "stadium",
        ),
    ),
    ("footsteps", ("cowboy boot", "clog", "loafer", "running shoe", "sandal", "sock", "crutch", "sorrel")),
    ("heartbeat", ("stethoscope", "syringe", "pill bottle", "band aid", "oxygen mask", "medicine chest")),
    ("birds", ("birdhouse",)),
)


def preset_for(label: Label, presets=None) -> str | None:
    """The preset a single ImageNet class maps to, or None. Presets the synthesiser lacks are skipped."""
    presets = presets if presets is not None else PRESETS
    for span, preset in RANGES:
        if label.index in span and preset in presets:
            return preset
    words = " " + re.sub(r"[^a-z0-9-]+", " ", label.synonyms.lower()) + " "
    for preset, keywords in KEYWORDS:
        if preset in presets and any(f" {k} " in words for k in keywords):
            return preset
    return None


@dataclass(frozen=True)
class SoundChoice:
    layers: tuple[str, ...]
    votes: dict[str, float]  # preset → summed probability of the labels mapping to it
    fallback: bool  # no label mapped to a preset


def choose_layers(labels: list[Label], presets=None) -> SoundChoice:
    """Top labels vote for presets with their probabilities; the winner, plus a strong runner-up."""
    presets = presets if presets is not None else PRESETS
    votes: dict[str, float] = {}
    for label in labels:
        preset = preset_for(label, presets)
        if preset:
            votes[preset] = votes.get(preset, 0.0) + label.probability
    if not votes or max(votes.values()) < MIN_VOTE:
        fallback = FALLBACK_PRESET if FALLBACK_PRESET in presets else next(iter(presets))
        return SoundChoice((fallback,), {k: round(v, 4) for k, v in votes.items()}, True)
    ranked = sorted(votes.items(), key=lambda kv: (-kv[1], kv[0]))
    layers = [ranked[0][0]]
    if len(ranked) > 1 and ranked[1][1] >= SECOND_LAYER_SHARE * ranked[0][1] and ranked[1][1] >= SECOND_LAYER_MIN:
        layers.append(ranked[1][0])
    return SoundChoice(tuple(layers), {k: round(v, 4) for k, v in ranked}, False)
