"""Spoken languages Whisper knows, by ISO code and English name.

People say "it's in Spanish", and a small planner writes "spanish" as often as "es": a language
argument takes either, and plan validation turns it into the code the ASR needs (`language_code`).
The table is Whisper's own language list (the 100 codes faster-whisper accepts).
"""

from __future__ import annotations

WHISPER_LANGUAGES: dict[str, str] = {
    "en": "english",
    "zh": "chinese",
    "de": "german",
    "es": "spanish",
    "ru": "russian",
    "ko": "korean",
    "fr": "french",
    "ja": "japanese",
    "pt": "portuguese",
    "tr": "turkish",
    "pl": "polish",
    "ca": "catalan",
    "nl": "dutch",
    "ar": "arabic",
    "sv": "swedish",
    "it": "italian",
    "id": "indonesian",
    "hi": "hindi",
    "fi": "finnish",
    "vi": "vietnamese",
    "he": "hebrew",
    "uk": "ukrainian",
    "el": "greek",
    "ms": "malay",
    "cs": "czech",
    "ro": "romanian",
    "da": "danish",
    "hu": "hungarian",
    "ta": "tamil",
    "no": "norwegian",
    "th": "thai",
    "ur": "urdu",
    "hr": "croatian",
    "bg": "bulgarian",
    "lt": "lithuanian",
    "la": "latin",
    "mi": "maori",
    "ml": "malayalam",
    "cy": "welsh",
    "sk": "slovak",
    "te": "telugu",
    "fa": "persian",
    "lv": "latvian",
    "bn": "bengali",
    "sr": "serbian",
    "az": "azerbaijani",
    "sl": "slovenian",
    "kn": "kannada",
    "et": "estonian",
    "mk": "macedonian",
    "br": "breton",
    "eu": "basque",
    "is": "icelandic",
    "hy": "armenian",
    "ne": "nepali",
    "mn": "mongolian",
    "bs": "bosnian",
    "kk": "kazakh",
    "sq": "albanian",
    "sw": "swahili",
    "gl": "galician",
    "mr": "marathi",
    "pa": "punjabi",
    "si": "sinhala",
    "km": "khmer",
    "sn": "shona",
    "yo": "yoruba",
    "so": "somali",
    "af": "afrikaans",
    "oc": "occitan",
    "ka": "georgian",
    "be": "belarusian",
    "tg": "tajik",
    "sd": "sindhi",
    "gu": "gujarati",
    "am": "amharic",
    "yi": "yiddish",
    "lo": "lao",
    "uz": "uzbek",
    "fo": "faroese",
    "ht": "haitian creole",
    "ps": "pashto",
    "tk": "turkmen",
    "nn": "nynorsk",
    "mt": "maltese",
    "sa": "sanskrit",
    "lb": "luxembourgish",
    "my": "myanmar",
    "bo": "tibetan",
    "tl": "tagalog",
    "mg": "malagasy",
    "as": "assamese",
    "tt": "tatar",
    "haw": "hawaiian",
    "ln": "lingala",
    "ha": "hausa",
    "ba": "bashkir",
    "jw": "javanese",
    "su": "sundanese",
    "yue": "cantonese",
}
_ALIASES = {
    "mandarin": "zh",
    "farsi": "fa",
    "burmese": "my",
    "castilian": "es",
    "flemish": "nl",
    "moldavian": "ro",
    "filipino": "tl",
    "haitian": "ht",
    "letzeburgesch": "lb",
    "pushto": "ps",
    "panjabi": "pa",
    "valencian": "ca",
    "sinhalese": "si",
    "brazilian": "pt",
}
_BY_NAME = {name: code for code, name in WHISPER_LANGUAGES.items()} | _ALIASES


def language_code(value: str) -> str:
    """ "es", "ES", "Spanish", "spanish" → "es"; "auto" (or empty) stays "auto". Raises ValueError
    naming the choices for anything else."""
    text = value.strip().lower()
    if text in ("", "auto", "detect", "unknown", "any"):
        return "auto"
    if text in WHISPER_LANGUAGES:
        return text
    if text in _BY_NAME:
        return _BY_NAME[text]
    base = text.split("-")[0].split("_")[0]  # "en-US", "pt_BR"
    if base in WHISPER_LANGUAGES:
        return base
    raise ValueError(
        f"{value!r} is not a language Whisper knows; use an ISO code such as \"es\" or a name "
        f"such as \"Spanish\", or \"auto\""
    )
