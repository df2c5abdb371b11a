"""Chat a template can answer: thanks, greetings, "are you there?", "how are you?", "what can you do", "which
formats", "do you work offline".

The answers are made from what the house knows, not written once and left to go stale: "what can
you do" lists the tool families of the registry (the planner prompt's groups), "which formats" the
suffixes plan validation accepts. Open questions are not here: they go to the LLM.
"""

from __future__ import annotations

from ..plan import AUDIO_SUFFIXES
from ..prompts import GROUPS

_PRAISE_WORDS = (
    "(good job|great job|nice work|nice job|well done|nice|great|perfect|awesome|excellent|brilliant|lovely|cool)"
)

# key → hassil templates. Whole utterances only (punctuation and "please" are ignored).
CHAT: dict[str, tuple[str, ...]] = {
    "thanks": (
        "(thanks|thank you|thx|cheers|many thanks) [a lot|so much|very much|a bunch|again] [earshot]",
        "(thanks|thank you) [a lot|so much|very much] (that's|that is) (all|great|perfect|it) [for now]",
        # Praise with thanks ("Nice work, thanks!"): one intent, or the two answers would be two readings.
        f"{_PRAISE_WORDS}[,] (thanks|thank you|thx|cheers) [a lot|so much|very much|a bunch|again] [earshot]",
        "(cheers|ok|okay|alright|all right)[,] (thanks|thank you) [a lot|so much|very much|again] [earshot]",
    ),
    "praise": (
        f"{_PRAISE_WORDS}[[,] (that|it) (sounds|sounded|is|was|looks) (great|good|perfect|better|much better|fine|"
        "nice|lovely)]",
        "(that|it) (sounds|sounded|is|was) (great|good|perfect|much better|better|fine|nice|lovely|amazing)",
    ),
    "hello": ("(hi|hello|hey|hiya|greetings|good (morning|afternoon|evening)) [there|earshot|again|you]",),
    # Is it listening? The commonest first words to a voice assistant that has said nothing for a while.
    "presence": (
        "[hello|hey|hi] [earshot] are you (there|still there|listening|still listening|awake|ready|on)",
        "[hello|hey|hi] [earshot] (can|do) you hear me [now|ok|okay|at all]",
        "[hello|hey|hi] (is|are) (anyone|anybody|someone|somebody) (there|listening|home)",
    ),
    "how_are_you": (
        "[hi|hello|hey] [there|earshot] (how are you|how are you doing|how's it going|how is it going|how are things|"
        "how do you do) [today|tonight|this morning|this evening]",
    ),
    "abilities": (
        "what (can|could) you do [for me]",
        "what are you (able to do|capable of|good at|for)",
        "what can you help [me] with",
        "what do you do",
        "help [me]",
        "what (tools|skills|features) do you have",
        "which tools (do you have|can you use)",
        "what are your (tools|skills|features|abilities)",
        "what kind of (things|jobs|tasks) can you do",
    ),
    "identity": ("who are you", "what are you", "what is earshot", "what's your name", "what is your name"),
    "offline": (
        "(can|do) you (work|run) (offline|without [an|the] internet [connection]|without a network [connection])",
        "do you need [an|the] internet [connection]",
        "are you (offline|online|local)",
        "(do|does) (you|this|it|anything) (go|send anything|get sent|upload anything) (online|to the cloud|to the "
        "internet)",
    ),
    "formats": (
        "(which|what) [file|audio] (formats|file types|kinds of files) (can|do) you (read|open|handle|support|take|"
        "accept)",
        "what files can you (read|open|handle)",
    ),
    # A bare acknowledgement after a reply that asked nothing: it asks for nothing either (path.py sends it to
    # the LLM after a question, where "okay" may mean "yes"). Given to the LLM, a small model read "ok" after
    # turns on files named undo.wav as an undo (tests/integration/test_injection.py).
    "ack": ("(ok|okay|alright|all right|got it|understood|fine|sure) [then|cool|great|good]",),
    "bye": (
        "(bye|goodbye|good bye|see you|see you later|that's all|that is all|good night|goodnight) [for now|then|"
        "thanks|thank you]",
    ),
}

# A short name per prompt group (prompts.GROUPS), as it reads in a sentence.
_FAMILY = {
    "Speech": "speech",
    "Measure and analyse a file": "measuring",
    "Change a file (every result is a new file)": "editing",
    "Make sound and music": "making sound and music",
    "Sample library (files indexed with `earshot library add`)": "your sample library",
}
MAX_CHARS = 400  # an answer fits the planner's "say" (PlannerOptions.max_say_chars)
_PROJECT_PREFIX = "Studio project"


def answer(key: str, registry) -> str:
    if key == "abilities":
        return abilities(registry)
    if key == "formats":
        audio = ", ".join(sorted(s.lstrip(".").upper() for s in AUDIO_SUFFIXES))
        return (
            f"Audio in {audio}; MIDI files; pictures (JPEG, PNG, WebP) to turn into sound; and .dawproject "
            "projects to open as the studio project."
        )
    return {
        "thanks": "You're welcome.",
        "praise": "Glad it worked. What's next?",
        "hello": "Hello! Name a file in the workspace and tell me what to do with it.",
        "presence": "I'm here. What shall we work on?",
        "how_are_you": "Doing well and ready to work. Which file shall we start with?",
        "identity": (
            "I'm Earshot, an assistant for audio work that runs entirely on this machine: tell me, by voice or "
            "typing, what to do with your files."
        ),
        "offline": (
            "Yes: speech recognition, the language model and every audio tool run on this machine, and nothing "
            "is sent anywhere."
        ),
        "ack": "Okay. What's next?",
        "bye": "Bye! This session and its files are kept; ask again any time.",
    }[key]


def abilities(registry, max_chars: int = MAX_CHARS) -> str:
    """The tool families of the registry, in the prompt's order: "speech (transcribe, …); …"; the tool
    names are left out of the last families first when the whole would not fit `max_chars`."""
    families: list[tuple[str, list[str]]] = []
    for heading, names in GROUPS:
        present = [n.replace("_", " ") for n in names if n in registry]
        if not present:
            continue
        if heading.startswith(_PROJECT_PREFIX):
            families.append(("a studio project", []))  # its edits are many; /tools lists them
        else:
            families.append((_FAMILY.get(heading, heading.lower()), present))
    placed = {n for _, names in GROUPS for n in names}
    rest = [t.name.replace("_", " ") for t in registry if t.name not in placed]
    if rest:
        families.append(("more", rest))
    for keep in range(len(families), -1, -1):  # tool names for the first `keep` families
        parts = [
            f"{name} ({', '.join(tools)})" if tools and i < keep else name for i, (name, tools) in enumerate(families)
        ]
        listing = "; ".join(parts[:-1]) + ("; and " if len(parts) > 1 else "") + parts[-1] if parts else "nothing yet"
        text = f"I work on your audio files, on this machine: {listing}. /tools lists them all."
        if len(text) <= max_chars:
            break
    return text
