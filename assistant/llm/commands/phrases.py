"""The verb phrasings of every tool: what the registry cannot know (its lists are in vocabulary.py).

Each `Command` is one tool with fixed arguments (`op="gain"`) and the hassil templates that say it.
Slots bind arguments by name: `{number:gain_db}` puts a number of the request into `gain_db`;
`{file}` a file; `{edit_format:format}` a value of edit's `format` enum. A slot name may carry a
conversion after two underscores:

    gain_db__neg   the number, negated ("turn it down by 3 dB")
    x__k           × 1000 ("48 kHz" → 48000)          x__min   × 60 (minutes → seconds)
    others__1      item 1 of the list argument `others` (layers__1, layers__2 …)
    track__num     "track N"
    _name          a slot only used inside a fixed argument: args={"query": "the part where {_where}"}

Write phrasings the way people ask, not the routing set's sentences (bench/routing/*.json measures
whether these generalise). A phrasing that could mean two things belongs to the LLM: leave it out.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Command:
    tool: str
    sentences: tuple[str, ...]
    args: dict = field(default_factory=dict)


def C(tool: str, *sentences: str, **args) -> Command:  # noqa: N802 - reads as a table
    return Command(tool, sentences, args)


# Reusable pieces of templates (hassil expansion rules).
RULES: dict[str, str] = {
    "sec": "(s|sec|secs|second|seconds)",
    "db": "(db|decibel|decibels|decible|decibles)",  # Whisper spells it "Decibles" too
    "a": "[a|an|the|some]",
    "in": "(in|of|on|from|for)",
    "track": "([the] {track} [track|tracks|bus]|track {number:track__num})",
    "clip": "[the] {clip_words} (clip|region)",
    "song": "(it|the song|the mix|the project|the whole song|the whole mix|the whole project|the whole thing|"
    "the entire song|the entire mix|everything|my song|my mix|this song|this mix)",
    "louder": "(louder|up|higher|hotter)",
    "quieter": "(quieter|softer|lower|down)",
    "tell": "(tell me|show me|give me|what is|what's|what are|find|measure|check)",
    "make": "(make|create|generate|synthesize|synthesise|give me|produce)",
    "lang": "[the speaker (speaks|talks|is speaking)|they (speak|talk)|it's|it is|spoken|speech] [in] {language}",
    # The sample library: what people call its files, and how they ask for them.
    "things": "(<files>|<loops>|<one_shots>)",
    # The kinds of file a sample library names: a loop has a beat (`find kind=loop`), a one-shot is one hit.
    "files": "(files|recordings|takes|samples|sounds|clips|ideas|interviews|tracks|songs|pieces|parts)",
    "loops": "(loops|lines|grooves|beats|riffs)",
    "one_shots": "(one-shots|one shots|hits|stabs)",
    "show": "(find [me]|show me|list|give me|get me|search [(my|the) library] for|look [in (my|the) library] for)",
    "lib": "[(in|from) (my|the) [sample] library]",
    "bpm": "(bpm|beats per minute)",
    "near": "(around|at|about|near|roughly|close to)",
    "says": "(says|said|say|mention|mentions|mentioned|talk about|talks about|talked about|speak about|speaks about"
    "|spoke about|is talking about|are talking about)",
}

# Tools whose output a later step can use as a file ("… then transcribe it") or as text ("… and read it").
AUDIO_OUT = {
    "speak", "denoise", "edit", "separate", "extract", "compose", "sing", "generate_sound", "effects",
    "inpaint", "binaural", "convert_voice", "image_to_audio", "render_project",
}  # fmt: skip
TEXT_OUT = {"transcribe", "caption", "translate_speech"}

COMMANDS: tuple[Command, ...] = (
    # -- speech ----------------------------------------------------------------------------------------
    C(
        "transcribe",
        "(transcribe|write down what is said in|write down the words [spoken|said] in|type out) {file} [[,] <lang>]",
        "(transcribe|make a transcript of|write a transcript of|give me a transcript of) {file}[[,] <lang>]",
        "(transcribe|write down) the (speech|words|dialogue|lyrics|interview) (in|of|from) {file}",
        "(what is|what was|what's) [being] said in {file}",
        "what (does|do) (they|he|she|the speaker|the people) say in {file}",
        "what does {file} say",
        "transcribe {file} from {language}",
    ),
    C(
        "transcribe",
        "transcribe {file} {word_times:word_timestamps}[[,] <lang>]",
        "when [exactly] is each word (said|spoken) in {file}",
        word_timestamps=True,
    ),
    C(
        "speak",
        "say {text} and (save|record|keep) it [as (a|an) (file|wav|recording|audio file)]",
        "(record|save) (a|my) [voice] [recording] (saying|that says|of you saying) {text}",
        "make a [voice] (recording|audio file|wav|voice file) (saying|that says|of you saying|of) {text}",
        "(record|save) yourself saying {text}",
        "read {text} (aloud|out loud) [and save it]",
        "read (this|the following) (aloud|out loud) {text}",
        "say {text} {speak_voice_tail:voice}",
        "read {text} (aloud|out loud)[,] {speak_speed:speed}",
        "read {text_ref:text} (back|aloud|out loud|out) [to me]",
    ),
    C(
        "denoise",
        "(denoise|de-noise|de noise|clean up|clean) {file}",
        "clean {file} up",
        "(remove|reduce|cut|get rid of|take out|clean up|filter out|kill|lose) [the|all the|any] [background] "
        "(noise|hiss|hum|buzz|static|rumble) (from|in|on|of) {file}",
        "make {file} less noisy",
    ),
    C(
        "convert_voice",
        "make {file} [sound] {convert_voice_style:style}",
        "make (my|the) voice (in|on) {file} [sound] {convert_voice_style:style}",
        "make (my|the) voice [sound] {convert_voice_style:style} in {file}",
        "turn {file} into a {convert_voice_style:style} voice",
        "make {file} sound like a {convert_voice_style:style}",
        "give {file} a {convert_voice_style:style} voice",
    ),
    C(
        "convert_voice",
        "match the (pitch|voice) (of|in) {file} to [the voice in] {file:reference}",
        style="match",
    ),
    C(
        "translate_speech",
        "translate {file} [(into|to) english] [and (read|say|speak) it (out|aloud|back) [in english]]",
        "translate the {language} (in|of|from) {file} [(into|to) english]",
        "translate the {language} {file} [(into|to) english] [and (read|say|speak) it (out|aloud|back) [in english]]",
        "translate {file} from {language} [(into|to) english]",
        "what does the {language} in {file} (say|mean) in english",
        "what (is|does) {file} (say|mean) in english",
        "translate {file} and save the english as speech",
    ),
    # -- measure and analyse -----------------------------------------------------------------------------
    C(
        "describe",
        "(describe|measure|analyze|analyse) {file}",
        "how (loud|long) is {file}",
        "[tell me] how (loud|long) {file} is",
        "<tell> the {describe_measure:_measure} of {file}",
        "<tell> the {describe_measure:_measure} and [the] {describe_measure:_other} of {file}",
        "(is|does) {file} (clip|peak too high)",
        "what (sample rate|loudness) is {file}",
    ),
    C(
        "tag",
        "what key is {file} in",
        "what (key|tempo|bpm) is {file}",
        "<tell> the {tag_measure:_measure} of {file}",
        "<tell> the {tag_measure:_measure} and [the] {tag_measure:_other} of {file}",
        "what (instruments|instrument) (are|is) (playing|in|used) in {file}",
        "what (instruments|instrument) (are|is) in {file}",
        "is {file} (speech or music|music or speech)",
        "tag {file}",
        "(tell me|what is|what's|find) (its|the) (key|tempo|bpm)",
    ),
    C(
        "caption",
        "caption {file}",
        "(write|give me|make) a caption (for|of) {file}",
        "(write|give me) a [short|one-paragraph|one paragraph|brief] description of {file}",
        "describe what('s| is) in {file}",
        "what does {file} sound like",
        "describe {file} in (a|one) paragraph",
    ),
    C(
        "detect",
        "(when|where) (does|do) (someone|anyone|somebody|people) (speak|talk|start talking) [in {file}]",
        "(find|show me|tell me) (when|where) (someone|anyone|somebody|people) (speaks|talks|speak|talk) [in {file}]",
        find="speech",
    ),
    C(
        "detect",
        "(find|detect|show me|list|mark) [all] {detect_find:find} in {file}",
        "(is|are) there [any] {detect_find:find} in {file}",
        "(when|where) does the {detect_find:find} (start|begin|happen) in {file}",
        "(where|when) are the {detect_find:find} in {file}",
        "does {file} have [any] {detect_find:find}",
        "check {file} for {detect_find:find}",
        "(list|find|detect|show me) the [sound] events in {file} [with their times]",
    ),
    C(
        "pitch",
        "(track|measure|find|show me|give me|detect|estimate) the pitch (of|in) [the (voice|singing|melody) in] {file}",
        "(give me|show me|what is|what's) the (f0|pitch) [contour] of {file}",
        "(tell me|what is|what's) (its|the) pitch",
        "what (note|notes|pitch) (is|are) {pitch_who:_who} (singing|playing|holding|humming) in {file}",
        "which (note|notes) (is|are) {pitch_who:_who} (singing|playing|holding|humming) in {file}",
        "what (note|notes|pitch) (is|are) in {file}",
    ),
    C(
        "to_midi",
        "(convert|turn|transcribe) {file} (to|into) midi [notes|file]",
        "(convert|turn|transcribe) the {midi_what:_what} (in|of|from) {file} (to|into) midi [notes|file]",
        "(make|write|create) a midi [file] (of|from) {file}",
        "(make|write|create) a midi [file] (of|from) the {midi_what:_what} (in|of|from) {file}",
        "transcribe the notes (of|in) {file} [(to|into|as) midi]",
        "write the notes of {file} as midi",
    ),
    # -- change a file -------------------------------------------------------------------------------------
    C(
        "edit",
        "(trim|cut|shorten) {file} to [the|its] first {number:end_s} <sec>",
        "keep [only] the first {number:end_s} <sec> of {file}",
        "(trim|cut|shorten) {file} to {number:end_s} <sec> [long]",
        op="trim",
        start_s=0,
    ),
    C(
        "edit",
        "(trim|cut) {file} (from|between) {number:start_s} (to|and) {number:end_s} <sec>",
        "keep {number:start_s} to {number:end_s} <sec> of {file}",
        op="trim",
    ),
    C(
        "edit",
        "make {file} {number:gain_db} <db> <louder>",
        "(turn|bring|push) {file} up [by] {number:gain_db} <db>",
        "(raise|boost|increase) [the (volume|level|gain) of] {file} by {number:gain_db} <db>",
        "(add|apply) {number:gain_db} <db> [of gain] to {file}",
        op="gain",
    ),
    C(
        "edit",
        "make {file} {number:gain_db__neg} <db> <quieter>",
        "(turn|bring|pull) {file} down [by] {number:gain_db__neg} <db>",
        "(lower|reduce|cut|drop) [the (volume|level|gain) of] {file} by {number:gain_db__neg} <db>",
        op="gain",
    ),
    C(
        "edit",
        "(normalize|normalise) {file} [to {number:target_lufs} (lufs|lu)]",
        op="normalize",
    ),
    C(
        "edit",
        "(fade out|fadeout|fade-out) the last {number:fade_out_s} <sec> of {file}",
        "fade {file} out (over|in|for) [the last] {number:fade_out_s} <sec>",
        "(fade out|fadeout|fade-out) {file} (over|in|for) [the last] {number:fade_out_s} <sec>",
        "(add|put) a {number:fade_out_s} <sec> (fade out|fade-out|fadeout) (to|on) [the end of] {file}",
        op="fade",
    ),
    C(
        "edit",
        "(fade in|fadein|fade-in) the first {number:fade_in_s} <sec> of {file}",
        "fade {file} in (over|in|for) [the first] {number:fade_in_s} <sec>",
        "(fade in|fadein|fade-in) {file} (over|in|for) [the first] {number:fade_in_s} <sec>",
        "(add|put) a {number:fade_in_s} <sec> (fade in|fade-in|fadein) (to|on) [the start of] {file}",
        op="fade",
    ),
    C(
        "edit",
        "(resample|convert) {file} to {number:sample_rate_hz__k} (khz|kilohertz)",
        "(resample|convert) {file} to {number:sample_rate_hz} (hz|hertz)",
        "change the sample rate of {file} to {number:sample_rate_hz__k} (khz|kilohertz)",
        op="resample",
    ),
    C(
        "edit",
        "(convert|turn|change) {file} (to|into) [a|an] {edit_format:format} [file]",
        "(save|export) {file} as [a|an] {edit_format:format} [file]",
        "make (a|an) {edit_format:format} [file|version] of {file}",
        op="convert",
    ),
    C(
        "edit",
        "(join|concatenate|combine|chain) {file} and {file:others__1} [into one file|together|back to back]",
        "(join|concatenate|put) {file} and {file:others__1} (together|one after the other|back to back)",
        "(append|add) {file:others__1} to the end of {file}",
        op="concatenate",
    ),
    C(
        "edit",
        "mix {file} (with|and) {file:others__1} [together]",
        "mix {file:others__1} (over|under|into|on top of|underneath) {file}",
        "(put|lay|place) {file:others__1} (behind|under|underneath) {file}",
        op="mix",
    ),
    C(
        "separate",
        "(separate|isolate|pull|split|get|take) the (vocals|vocal|voice|singing) (from|of|out of|in) {file}",
        "(separate|isolate|pull|split|get|take) out the (vocals|vocal|voice|singing) (from|of|in) {file}",
        "(separate|split) {file} into vocals and (accompaniment|instruments|music|backing)",
        stem="vocals",
    ),
    C(
        "separate",
        "make (a|an) (karaoke|instrumental) (version|track|mix) of {file}",
        "(remove|take out|strip|get rid of|cut) the (vocals|vocal|singing|voice) (from|of|in) {file}",
        stem="accompaniment",
    ),
    C(
        "separate",
        "(separate|isolate|pull|split|get|take) [out] the drums (from|of|out of|in) {file}",
        "(separate|split) {file} into [the] drums and [the] (harmony|harmonics|harmonic part|harmonic parts|rest|"
        "everything else|instruments|music|melody)",
        stem="drums",
    ),
    C(
        "separate",
        "(remove|take out|strip|get rid of|cut) the drums (from|of|in) {file} [but keep (everything else|the rest)]",
        "(separate|pull|split|get) the harmonic (part|parts|content) (from|of|out of) {file}",
        stem="harmonic",
    ),
    C(
        "separate",
        "(separate|split) the speakers (in|of|from) {file}",
        "(separate|split) {file} into [its] speakers",
        stem="speakers",
    ),
    C(
        "separate",
        "(separate|split) the {number:sources} (speakers|voices|people) (in|of|from) {file}",
        "(separate|split) {file} into {number:sources} (speakers|voices)",
        stem="speakers",
    ),
    C(
        "extract",
        "(keep|give me|extract|pull out|cut out) only the {extract_part:_part} (in|of|from) {file}",
        "(extract|pull out|isolate) the {extract_part:_part} (from|in|of) {file}",
        query="the {_part}",
    ),
    C(
        "extract",
        "(give me|extract|cut out|find|keep) the (part|bit|section|moment) of {file} where {_where}",
        "(give me|extract|cut out|keep) the (part|bit|section) (in|from) {file} where {_where}",
        query="the part where {_where}",
    ),
    C(
        "extract",
        "(give me|extract|cut out|find|keep) the {extract_extreme:_which} {extract_unit:_unit} (of|from|in) {file}",
        query="the {_which} {_unit}",
    ),
    C(
        "effects",
        "(add|put|apply) {file_effect:chain} (to|on) {file}",
        "give {file} {file_effect:chain}",
        "run {file} through {file_effect:chain}",
    ),
    C(
        "effects",
        "(put|add|apply) [a|an] {file_filter:_filter} at {number:_hz__k} (khz|kilohertz) (on|to) {file}",
        "(put|add|apply) [a|an] {file_filter:_filter} at {number:_hz} (hz|hertz) (on|to) {file}",
        chain="{_filter} {_hz}",
    ),
    C("effects", "compress {file}", chain="compressor"),
    C(
        "effects",
        "(put|add) a limiter on {file} at {number:_db} <db>",
        "limit {file} (to|at) {number:_db} <db>",
        chain="limiter {_db}",
    ),
    C(
        "effects",
        "(slow|stretch) {file} [down] to {number:_x} times its (length|duration) [without changing the pitch]",
        "(slow|stretch) {file} [down] to {number:_x} times as long [without changing the pitch]",
        chain="stretch {_x}",
    ),
    C(
        "effects",
        "(pitch|shift) {file} up [by] {number:_st} semitones",
        "(raise|shift) the pitch of {file} [up] by {number:_st} semitones",
        chain="pitch {_st}",
    ),
    C(
        "effects",
        "(pitch|shift) {file} down [by] {number:_st__neg} semitones",
        "(lower|shift) the pitch of {file} [down] by {number:_st__neg} semitones",
        chain="pitch {_st}",
    ),
    C(
        "inpaint",
        "(fill|repair|fix|patch|remove|get rid of|cover|mend) the {inpaint_fault:_fault} in {file} (from|between) "
        "{number:start_s} (to|and) {number:end_s} [<sec>]",
        "(fill|repair|fix|patch|remove|get rid of|cover|mend) the {inpaint_fault:_fault} (from|between) "
        "{number:start_s} (to|and) {number:end_s} [<sec>] in {file}",
        "(fill|repair|fix|patch|remove|get rid of) the {inpaint_fault:_fault} in {file} at {number:start_s} to "
        "{number:end_s} [<sec>]",
    ),
    C(
        "binaural",
        "(put|place|move|position) {file} {binaural_place:azimuth_deg} [for headphones|in 3d|in headphones]",
        "(put|place|move|position) the (voice|sound|sounds|singer|speaker) in {file} {binaural_place:azimuth_deg} "
        "[for headphones|in 3d|in headphones]",
        "(put|place|move|position) it {binaural_place:azimuth_deg} [for headphones|in 3d|in headphones]",
    ),
    C(
        "binaural",
        "(binaural|3d|binaural 3d) render of {file} at {number:azimuth_deg} degrees [to the] right",
        "(put|place|position) {file} at {number:azimuth_deg} degrees [to the|to my] right [for headphones]",
        "(binaural|3d|binaural 3d) render of {file} at {number:azimuth_deg__neg} degrees [to the] left",
        "(put|place|position) {file} at {number:azimuth_deg__neg} degrees [to the|to my] left [for headphones]",
    ),
    C(
        "binaural",
        "make {file} (move|fly|pan|go) from [the|my] left to [the|my] right [around my head|for headphones]",
        azimuth_deg=-90,
        end_azimuth_deg=90,
    ),
    C(
        "binaural",
        "make {file} (move|fly|pan|go) from [the|my] right to [the|my] left [around my head|for headphones]",
        azimuth_deg=90,
        end_azimuth_deg=-90,
    ),
    # -- make sound and music ------------------------------------------------------------------------------
    C(
        "generate_sound",
        "<make> [me] [a|an|the|some] [sound of|sound effect of] {generate_sound_layers:layers__1} [sound|sounds|"
        "sound effect|noise|ambience|effect|atmosphere]",
        "<make> [me] [a|an|the|some] [sound of] {generate_sound_layers:layers__1} (and|with|over|plus) "
        "{generate_sound_layers:layers__2} [sound|sounds|sound effect|ambience]",
        "(i need|i want|can i have|let me hear) the sound of {generate_sound_layers:layers__1}",
        "{generate_sound_layers:layers__1} over {generate_sound_layers:layers__2}",
    ),
    C(
        "generate_sound",
        "<make> [me] {number:duration_s} <sec> of {generate_sound_layers:layers__1}",
        "<make> [me] {number:duration_s} <sec> of {generate_sound_layers:layers__1} (and|with|over|plus) "
        "{generate_sound_layers:layers__2}",
        "<make> [me] {number:duration_s__min} (minute|minutes) of {generate_sound_layers:layers__1}",
        "<make> [me] [a|an] {number:duration_s} (second|seconds) {generate_sound_layers:layers__1} [sound|sound "
        "effect|ambience]",
    ),
    C(
        "compose",
        "(compose|write|make|create|generate) {description} in {compose_key:key}",
        "(compose|write|make|create|generate) {description} in {compose_key:key}[,] [at] {number:tempo_bpm} bpm",
        "(compose|write|make|create|generate) {description}[,] [at] {number:tempo_bpm} bpm",
        "(compose|write|make|create|generate) {description} in {compose_key:key}[,] [at] {number:tempo_bpm} bpm[,] "
        "{number:bars} bars [long]",
        "(compose|write|make|create|generate) {description}[,] {number:bars} bars [long]",
        "(compose|write|make|create|generate) {description}",
        "(compose|write|make|create|generate) a {number:bars} bar {description}",
        "(compose|write|make|create|generate) a {number:bars} bar {description} (at|in) {number:tempo_bpm} bpm",
        "(compose|write|make|create|generate) a {number:bars} bar {description} in {compose_key:key}",
    ),
    C(
        "sing",
        "sing {lyrics} (on|to) {notes}",
        "sing {lyrics} (on|to) [the notes] {notes}[,] at {number:tempo_bpm} bpm",
    ),
    C(
        "sing",
        "make a {sing_voice:voice} (voice|singer) sing {lyrics} (on|to) {notes}",
        "(have|let) a {sing_voice:voice} (voice|singer) sing {lyrics} (on|to) {notes}",
    ),
    C(
        "image_to_audio",
        "<make> a sound (that fits|for|that goes with|to go with|from) [the (picture|photo|image)] {image:file}",
        "what would [the (picture|photo|image)] {image:file} sound like",
        "(turn|convert) [the (picture|photo|image)] {image:file} into (audio|sound|a sound)",
        "(sonify|make audio for|make audio that fits) [the (picture|photo|image)] {image:file}",
    ),
    C(
        "image_to_audio",
        "(turn|convert) [the (picture|photo|image)] {image:file} into {number:duration_s} <sec> of (audio|sound)",
        "<make> {number:duration_s} <sec> of (audio|sound) (that fits|for|from) [the (picture|photo|image)] "
        "{image:file}",
    ),
    # -- the studio project --------------------------------------------------------------------------------
    C(
        "track",
        "(add|create|make) a [new] [audio] track (called|named) {name}",
        op="add",
    ),
    C("track", "(add|create|make) a [new] midi track (called|named) {name}", op="add", kind="midi"),
    C("track", "mute <track>", op="mute"),
    C("track", "unmute <track>", op="unmute"),
    C("track", "solo <track>", op="solo"),
    C("track", "(unsolo|un-solo) <track>", op="unsolo"),
    C("track", "rename <track> (to|as) {name}", "call <track> {name}", op="rename"),
    C("track", "(remove|delete) <track> [from the (project|song|mix)]", op="remove"),
    C(
        "track",
        "(turn|bring|push) <track> up [by] {number:gain_db} <db>",
        "make <track> {number:gain_db} <db> <louder>",
        "(raise|boost) <track> by {number:gain_db} <db>",
        op="gain",
    ),
    C(
        "track",
        "(turn|bring|pull) <track> down [by] {number:gain_db__neg} <db>",
        "make <track> {number:gain_db__neg} <db> <quieter>",
        "(lower|cut|reduce) <track> by {number:gain_db__neg} <db>",
        op="gain",
    ),
    C("track", "pan <track> {pan_place:pan}", op="pan"),
    C(
        "clip",
        "(put|place|drop|add) {file} on [a] new track (called|named) {name:track}",
        "(put|place|drop|add) {file} on [a] new track (called|named) {name:track} at {clip_unit:unit} {number:at}",
        "(put|place|drop|add) {file} on <track>",
        "(put|place|drop|add) {file} on <track> at {clip_unit:unit} {number:at}",
        "(put|place|drop|add) {file} on <track> at {number:at} {clip_unit:unit}",
        op="place",
    ),
    C(
        "clip",
        "(add|put|place) {file} (to|in|into) the (project|song) at {number:at} {clip_unit:unit}",
        "(add|put|place) {file} (to|in|into) the (project|song) at {clip_unit:unit} {number:at}",
        op="place",
    ),
    C(
        "clip",
        "move <clip> to {clip_unit:unit} {number:at}",
        "move <clip> to {number:at} {clip_unit:unit}",
        op="move",
    ),
    C(
        "clip",
        "split <clip> at {number:at} {clip_unit:unit}",
        "split <clip> at {clip_unit:unit} {number:at}",
        op="split",
    ),
    C("clip", "loop <clip> for {number:length} {clip_unit:unit}", op="loop"),
    C("clip", "(delete|remove) <clip>", op="delete"),
    C("clip", "duplicate <clip>", op="duplicate"),
    C(
        "clip",
        "fade out <clip> over {number:fade_out_s} <sec>",
        "fade <clip> out over {number:fade_out_s} <sec>",
        op="fade",
    ),
    C(
        "clip",
        "fade in <clip> over {number:fade_in_s} <sec>",
        "fade <clip> in over {number:fade_in_s} <sec>",
        op="fade",
    ),
    C("clip", "trim <clip> to {number:length} {clip_unit:unit} [long]", op="trim"),
    C(
        "track_effect",
        "(add|put) {track_effect_effect:effect} (to|on) <track>",
        "give <track> {track_effect_effect:effect}",
        op="add",
    ),
    C(
        "track_effect",
        "(add|put) {track_effect_effect:effect} (to|on) the master [bus|channel]",
        "(add|put) {track_effect_effect:effect} (to|on) the (whole mix|whole song|mix bus)",
        op="add",
        track="master",
    ),
    C(
        "track_effect",
        "(put|add) {track_effect_filter:effect} at {number:value__k} (khz|kilohertz) (on|to) <track>",
        "(put|add) {track_effect_filter:effect} at {number:value} (hz|hertz) (on|to) <track>",
        op="add",
    ),
    C(
        "track_effect",
        "(remove|delete|take off|take out) the {track_effect_effect:effect} (from|on) <track>",
        op="remove",
    ),
    C("track_effect", "bypass the {track_effect_effect:effect} on <track>", op="bypass"),
    C(
        "track_effect",
        "(enable|re-enable|turn on) the {track_effect_effect:effect} on <track> [again]",
        op="enable",
    ),
    C(
        "track_effect",
        "set the {track_effect_effect:effect} {effect_param:param} (on|of) <track> to {number:value}",
        "set the {effect_param:param} of the {track_effect_effect:effect} on <track> to {number:value}",
        op="set",
    ),
    C(
        "vibe",
        "make <song> [sound|feel] [a bit|a little|a lot|much|slightly] {vibe_descriptor:descriptor}",
        "make <song> (sound|feel) [a bit|a little|much|slightly] {vibe_descriptor:descriptor}",
        "give <song> a {vibe_descriptor:descriptor} (feel|vibe|sound)",
    ),
    C(
        "vibe",
        "make <track> [sound|feel] [a bit|a little|a lot|much|slightly] {vibe_descriptor:descriptor}",
        "(push|move|put) <track> {vibe_push:descriptor}",
        "make <track> (sound|feel) [a bit|a little|much|slightly] {vibe_descriptor:descriptor}",
    ),
    C(
        "project_tempo",
        "(set|change) the [project|song] tempo to {number:bpm} [bpm|beats per minute]",
        "(speed|slow) the (song|project|track) (up|down) to {number:bpm} [bpm|beats per minute]",
        "make the (song|project) {number:bpm} bpm",
        "(set|change) the (song|project) to {number:bpm} bpm",
    ),
    C(
        "project_tempo",
        "(change|set|switch|make) the (project|song) [to] {sig:time_signature} [time]",
        "(change|set) the time signature [of the (project|song)] to {sig:time_signature}",
    ),
    C(
        "project_undo",
        "undo [that|it|the last change|the last project change|my last change|the last edit|that change]",
        "take back the last [project] change",
        "(undo|take back|revert) the last {number:steps} (changes|edits|project changes)",
    ),
    C("project_undo", "redo [that|it|the last change]", op="redo"),
    C("project_undo", "(undo|revert|take back) change [number] {number:change}", op="undo"),
    C(
        "describe_project",
        "what('s| is) in (the|my|this) (project|song|mix)",
        "(describe|summarize|summarise) the project",
        "(show|list|tell) me the (tracks|clips|project) [and their (effects|clips)]",
        "(list|show) the (tracks|clips) [in (the|my) (project|song|mix)]",
        "what (tracks|clips|effects) (are there|do i have|are in the project)",
    ),
    C(
        "render_project",
        "(render|bounce|mix down|mixdown|export) <song>",
        "(render|bounce|mix down|export) <song> to [a|an] {render_project_format:format} [file]",
        "(render|bounce|mix down|export) <song> as [a|an] {render_project_format:format} [file]",
        "mix <song> down",
        "mix the project down to (one|a) {render_project_format:format} file",
        op="mixdown",
    ),
    C("render_project", "(export|render|bounce) the stems [of <song>]", op="stems"),
    C(
        "render_project",
        "(export|save) the project as a dawproject [file]",
        "export the project (for|to) {daw:_daw}",
        "export <song> (for|to) {daw:_daw}",
        "export a dawproject [file]",
        "export <song> so i can open it in {daw:_daw}",
        op="dawproject",
    ),
    C("render_project", "export the midi [of <song>]", "export <song> as midi", op="midi"),
    C(
        "open_project",
        "(open|load|import) {project_file:file} [as (the|my) project]",
        "(open|load|import) the project (from|in) {project_file:file}",
    ),
    # -- the sample library ----------------------------------------------------------------------------
    C(
        "find",
        "<show> [all] [the|my] {find_instrument:instrument} <files> <lib>",
        "(which|what) [of my] <things> <lib> have {find_instrument:instrument} [in them|on them]",
    ),
    C("find", "<show> [all] [the|my] {find_instrument:instrument} <loops> <lib>", kind="loop"),
    C("find", "<show> [all] [the|my] {find_instrument:instrument} <one_shots> <lib>", kind="one-shot"),
    C("find", "<show> [all] [the|my] <loops> <lib>", kind="loop"),
    C("find", "<show> [all] [the|my] <one_shots> <lib>", kind="one-shot"),
    C(
        "find",
        "(which|what) <things> <lib> (clip|are clipping|have clipping)",
        "<show> [all] the <things> <lib> (that|which) (clip|are clipping)",
        clipping="yes",
    ),
    C(
        "find",
        "<show> [all] [the|my] <things> <lib> in {compose_key:key}",
        "(which|what) <things> <lib> are in {compose_key:key}",
        "<show> [all] [the|my] <things> <lib> in {compose_key:key}[,] <near> {number:tempo_bpm} <bpm>",
        "(which|what) <things> <lib> are in {compose_key:key}[,] <near> {number:tempo_bpm} <bpm>",
        "<show> [all] [the|my] <things> <lib> <near> {number:tempo_bpm} <bpm> in {compose_key:key}",
    ),
    C(
        "find",
        "<show> [all] [the|my] <things> <lib> <near> {number:tempo_bpm} <bpm>",
        "(which|what) <things> <lib> are <near> {number:tempo_bpm} <bpm>",
        "<show> [all] [the|my] <things> <lib> between {number:tempo_min_bpm} and {number:tempo_max_bpm} <bpm>",
        "(which|what) <things> <lib> are between {number:tempo_min_bpm} and {number:tempo_max_bpm} <bpm>",
    ),
    C(
        "find",
        "[<show>] [all] [the|my] <things> <lib> (where|in which) (someone|somebody|anyone|people|they) <says> {words}",
        "(which|what) <things> <lib> (mention|talk about) {words}",
        "<show> [all] [the|my] <things> <lib> (that|which) (mention|talk about) {words}",
    ),
    C(
        "find",
        "<show> [all] [the|my] {find_content_adj:content} <things> <lib>",
        "(which|what) <things> <lib> are {find_content_adj:content}",
    ),
    C(
        "find",
        "(which|what) <things> <lib> have (speech|someone talking|people talking) [in them|on them]",
        content="speech",
    ),
    C(
        "find",
        "<show> [all] [the|my] <things> <lib> in [the|my] {folder} folder",
        "(which|what) <things> <lib> are in [the|my] {folder} folder",
    ),
    C(
        "batch",
        "(denoise|clean up) (every|each) file [that] (i|you) found",
        "(denoise|clean up) (all|all of) the (files|ones) [that] (i|you) found",
        action="denoise",
    ),
    C(
        "batch",
        "(normalize|normalise) (every|each) file [that] (i|you) found [to {number:target_lufs} lufs]",
        "(normalize|normalise) (all|all of) the (files|ones) [that] (i|you) found [to {number:target_lufs} lufs]",
        action="normalize",
    ),
)


# Words of lists that only the templates above use (the registry has no enum for them).
STATIC_LISTS: dict[str, list[tuple[str, object]]] = {
    "word_times": [
        ("with (word timestamps|word-level timestamps|word level timestamps|timestamps for (each|every) word|"
         "the time of (each|every) word|(each|every) word's time)", True),
    ],
    "describe_measure": [
        (w, w)
        for w in ("loudness", "duration", "length", "sample rate", "peak", "true peak", "peak level", "lufs",
                  "channels", "bit depth", "silence")
    ],
    "tag_measure": [(w, w) for w in ("key", "bpm", "tempo", "instruments", "mode", "key and mode", "beat grid")],
    "pitch_who": [
        (w, w)
        for w in ("she", "he", "they", "the singer", "the voice", "the bass", "the flute", "the guitar", "the piano",
                  "the violin", "the cello", "the trumpet", "the sax", "the melody", "the lead", "it")
    ],
    "midi_what": [(w, w) for w in ("melody", "notes", "piano", "bass", "guitar", "tune", "bass line", "riff", "music")],
    "extract_part": [
        (w, w)
        for w in ("speech", "vocals", "voice", "singing", "drums", "music", "talking", "dialogue", "bass")
    ],
    "extract_extreme": [(w, w) for w in ("loudest", "quietest", "busiest")],
    "find_content_adj": [
        ("(silent|empty)", "silence"),
        ("(speech|spoken|spoken word)", "speech"),
        ("(music|musical)", "music"),
        ("(ambience|ambient|atmosphere)", "ambience"),
    ],
    "extract_unit": [(w, w) for w in ("bar", "beat", "second", "part", "section", "moment")],
    "inpaint_fault": [
        (w, w) for w in ("dropout", "gap", "glitch", "click", "cough", "pop", "dropouts", "clicks", "noise", "bump")
    ],
    "binaural_place": [
        ("(on|to) (my|the) left [side]", -90),
        ("(on|to) (my|the) right [side]", 90),
        ("behind (me|my head|the listener)", 180),
        ("in front of (me|the listener)", 0),
        ("(directly )?(above|over) (me|my head)", 0),
    ],
    "speak_speed": [
        ("twice as fast", 2.0),
        ("(at )?double speed", 2.0),
        ("(at )?half speed", 0.5),
        ("half as fast", 0.5),
    ],
    "speak_voice_tail": [
        ("(in|with) (the|your) (heart|hibari|default) voice", "heart"),
        ("(in|with) (my|the) piper voice", "piper"),
    ],
    "clip_unit": [
        ("(bar|bars)", "bars"),
        ("(beat|beats)", "beats"),
        ("(s|sec|secs|second|seconds)", "seconds"),
    ],
    "pan_place": [
        ("(all the way|hard|fully) [to the] left", -1.0),
        ("(all the way|hard|fully) [to the] right", 1.0),
        ("[to the] (center|centre|middle)", 0.0),
        ("(a little|slightly|a bit) [to the] left", -0.3),
        ("(a little|slightly|a bit) [to the] right", 0.3),
    ],
    "vibe_push": [
        ("(further|farther) (away|back)", "further"),
        ("(closer|more up front|forward)", "closer"),
    ],
    "daw": [(w, w) for w in ("bitwig", "bitwig studio", "cubase", "studio one", "reaper", "a daw", "another daw")],
    "effect_param": [
        (w, w)
        for w in ("room size", "size", "wet", "mix", "damping", "width", "cutoff", "frequency", "threshold", "ratio",
                  "feedback", "time", "drive", "gain", "attack", "release", "depth", "rate")
    ],
    "track_effect_filter": [
        ("[a|an] (low-pass|low pass|lowpass) [filter]", "lowpass"),
        ("[a|an] (high-pass|high pass|highpass) [filter]", "highpass"),
    ],
    "file_filter": [
        ("(low-pass|low pass|lowpass) [filter]", "lowpass"),
        ("(high-pass|high pass|highpass) [filter]", "highpass"),
    ],
}  # fmt: skip

# The speak voice tail binds `voice`; the slot is named in the template list above.
SPEAK_VOICE_SLOT = "speak_voice_tail"
