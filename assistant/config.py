"""Options, one documented dataclass per concern. Units are in the field names.

Defaults work on a 2-core laptop with no GPU. Every option can be set in
`$EARSHOT_HOME/config.toml` under a table named like the dataclass field of `EarshotConfig`
(e.g. `[planner]\nmax_steps = 3`); the CLI overrides a few of them per run.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, fields, is_dataclass, replace
from pathlib import Path

from .errors import EarshotError


def earshot_home() -> Path:
    """Where Earshot keeps its models and sessions: `$EARSHOT_HOME`, else the per-user data dir."""
    env = os.environ.get("EARSHOT_HOME")
    if env:
        return Path(env).expanduser().resolve()
    from platformdirs import user_data_dir

    return Path(user_data_dir("earshot", appauthor=False))


@dataclass
class PathOptions:
    """Where things live on disk."""

    home_dir: Path = field(default_factory=earshot_home)
    # The model store; `$EARSHOT_MODELS` moves it (tests share one store across temp homes).
    models_dir: Path | None = None
    # Downloaded model wheels, kept so a re-install needs no network; copy it to an air-gapped host.
    wheelhouse_dir: Path | None = None
    # Extra folders (besides the session workspace) whose files a request may name.
    allowed_roots: tuple[Path, ...] = ()

    def __post_init__(self) -> None:
        self.home_dir = Path(self.home_dir)
        if self.models_dir is None:
            env = os.environ.get("EARSHOT_MODELS")
            self.models_dir = Path(env).expanduser().resolve() if env else self.home_dir / "models"
        if self.wheelhouse_dir is None:
            self.wheelhouse_dir = self.models_dir / "wheelhouse"
        self.allowed_roots = tuple(Path(p).expanduser().resolve() for p in self.allowed_roots)

    @property
    def cache_dir(self) -> Path:
        """Derived data that can be rebuilt (llama.cpp prompt-prefix states): `$EARSHOT_CACHE`,
        else the per-user cache folder. Shared across homes, keyed by model and prompt."""
        env = os.environ.get("EARSHOT_CACHE")
        if env:
            return Path(env).expanduser().resolve()
        from platformdirs import user_cache_dir

        return Path(user_cache_dir("earshot", appauthor=False))

    @property
    def database_path(self) -> Path:
        return self.home_dir / "earshot.db"

    @property
    def library_path(self) -> Path:
        """The sample library's index (library/index.py)."""
        return self.home_dir / "library.db"

    @property
    def sessions_dir(self) -> Path:
        return self.home_dir / "sessions"


@dataclass
class ModelChoice:
    """Which models of the store to use."""

    llm: str = "qwen2.5-coder-1.5b"  # planner; "smollm2-135m" is the fast test model
    asr: str = "whisper-tiny.en"  # "whisper-base" for many languages (`models install --asr base`)
    tts: str = "hibari-heart"
    # speak's optional voice "piper": the .onnx of a Piper voice you installed yourself (its .onnx.json
    # beside it; needs the `piper` extra). Empty: none. Earshot ships no Piper voice (see README).
    piper_voice: str = ""
    denoiser: str = "deepfilternet3"


@dataclass
class LlmOptions:
    """llama.cpp settings."""

    # n_ctx; holds the prompt (tool list + per-turn part, trimmed to its budget) and the longest plan
    # the grammar allows (computed from it, so a plan is never cut off).
    # KV cache: ~28 KB a token (Qwen 1.5B), so ~290 MB.
    context_tokens: int = 10240
    threads: int = 0  # 0: as many as physical cores (2 on the reference laptop)
    gpu_layers: int = -1  # layers on the GPU with a CUDA build of llama.cpp (-1 all, 0 none); a CPU build ignores it
    temperature: float = 0.0  # plans must be reproducible
    seed: int = 0
    # A one-shot `earshot ask` saves its session's evaluated context (files, project, recent turns) to the
    # cache folder after its turn, so the next one evaluates only its request (runtime/kv_states.py). States
    # of this many sessions are kept, the most recently used (~120 MB each with the 1.5B model); 0: none.
    session_states: int = 4
    # ...and after a turn the command path planned (no LLM loaded), a detached `earshot models warm --session
    # ID` in the idle scheduling class does it (runtime/context_keeper.py); without it the next LLM-planned
    # request evaluated the session's whole context (~40 s on two cores after six command turns, scripts/demo.sh).
    # EARSHOT_NO_BACKGROUND=1 turns it off too.
    keep_context_in_background: bool = True
    # Prompt-lookup decoding (runtime/greedy.py): up to this many draft tokens, copied from where the last
    # tokens occurred before in the prompt or plan, verified in one batch; 0: off (decode token by token).
    prompt_lookup_tokens: int = 0


@dataclass
class PlannerOptions:
    """How a request becomes a plan."""

    max_steps: int = 4  # longer chains are refused by the grammar itself
    history_turns: int = 6  # recent turns shown to the planner (trimmed to the budget)
    history_token_budget: int = 900  # tokens for recent turns + artifact table
    max_say_chars: int = 400  # the spoken reply is short by construction
    repair_attempts: int = 1  # one retry with the validation error, then ask the user
    hints: bool = True  # a line of tool words found in the request (llm/hints.py), ~15 tokens
    project_token_budget: int = 300  # the studio project's state (describe_project), most detail that fits
    # Commands a template parses whole (llm/commands/) are planned without the LLM, in milliseconds.
    command_path: bool = True


@dataclass
class AudioLimits:
    """What an input file may be; beyond these a tool refuses with a clear error."""

    max_duration_s: float = 1800.0  # 30 min; a two-hour file is refused, not silently truncated
    max_file_bytes: int = 2_000_000_000
    max_sample_rate_hz: int = 384_000


@dataclass
class ExecutionOptions:
    """How plan steps run."""

    # Each tool's own limits are in its ToolSpec (timeout_s, max_memory_mb); these bound and scale them.
    tool_timeout_s: float = 1800.0  # no step runs longer than this, whatever its tool's own limit
    limit_scale: float = 1.0  # multiplies every tool's time limit and memory ceiling (2.0 on a slow machine)
    watchdog_interval_ms: int = 100  # how often a running step's time and memory are checked
    stop_grace_s: float = 2.0  # a stopped tool that has not reached a progress point by then is interrupted


@dataclass
class SpeechOptions:
    """Spoken replies."""

    speak_replies: bool = True
    output_device: str | None = None  # name or index; None is the system default


@dataclass
class AcceleratorOptions:
    """Where the learned models run. "auto" takes the fastest backend that is installed *and* starts on
    this machine — TensorRT → CUDA → CPU for ONNX models, CUDA → CPU for Whisper, all layers on the GPU
    for a CUDA build of llama.cpp — so one install runs on a laptop and gets faster on a GPU
    workstation. No option names a device index: `CUDA_VISIBLE_DEVICES` chooses the card."""

    # "auto", or ONNX Runtime providers in order of preference, comma-separated: "tensorrt,cuda,cpu",
    # "cuda,cpu", "cpu". A provider named here that this onnxruntime lacks is an error, never a silent
    # fallback; "auto" falls back and `earshot doctor` says why.
    onnx_providers: str = "auto"
    tensorrt_fp16: bool = True  # FP16 engines: ~2x faster on tensor cores, outputs within ~1e-2
    tensorrt_cache_dir: Path | None = None  # built engines, reused across runs; None: <models_dir>/tensorrt-cache
    cpu_threads: int = 0  # ONNX Runtime threads per call; 0: one per core (2 on the reference laptop)
    # Idle ONNX Runtime threads spin-wait for the next call by default. That buys ~1 ms per call but
    # keeps a core busy that the audio loop, ASR and the planner need on a 2-core machine: off.
    cpu_spinning: bool = False
    # ONNX Runtime's CPU arena keeps, for good, the peak memory of the longest input a model has seen: the
    # TTS's decoder after a 26 s sentence held ~+130 MB, and a listening process crept up for as long as it
    # ran. Off, each call's buffers go back to the heap (runtime/memory.py returns them to the system).
    # Measured: 12 sentences of 7–26 s, RSS 202 → 318 MB with the arena, 184 → 194 MB without; 1.33 vs 1.41 s.
    cpu_memory_arena: bool = False
    whisper_device: str = "auto"  # faster-whisper: "auto" (CUDA when CTranslate2 sees a GPU) | "cuda" | "cpu"
    exports_dir: Path | None = None  # the exported ONNX models; None: onnx_exports/ of this checkout

    def __post_init__(self) -> None:
        # config.toml gives strings; paths are Paths from here on.
        if self.tensorrt_cache_dir is not None:
            self.tensorrt_cache_dir = Path(self.tensorrt_cache_dir).expanduser()
        if self.exports_dir is not None:
            self.exports_dir = Path(self.exports_dir).expanduser()


@dataclass
class VadOptions:
    """Voice activity: webrtcvad first pass, silero VAD v6 to confirm (see audio/vad.py)."""

    webrtc_aggressiveness: int = 2  # 0..3; higher fires less on noise (and on quiet speech)
    speech_threshold: float = 0.5  # silero probability that counts a frame as speech
    silence_threshold: float = 0.35  # below this a frame in speech counts as silence (hysteresis)
    silero_hangover_ms: int = 400  # keep running silero this long after webrtcvad went quiet
    silero_warmup_ms: int = 256  # frames silero reads before the trigger when it wakes up


@dataclass
class EndpointOptions:
    """When a user has started and finished speaking (audio/segmenter.py)."""

    onset_speech_ms: int = 160  # confirmed speech needed to start a turn (a cough or slam is shorter)
    onset_window_ms: int = 320  # ...within this window after the first trigger, else it was a transient
    pre_roll_ms: int = 320  # audio kept from before the onset so the first syllable is never clipped
    min_silence_ms: int = 224  # silence that ends the turn when the transcript looks finished (the rule alone)
    max_silence_ms: int = 800  # silence that always ends the turn
    resume_speech_ms: int = 64  # speech after a pause that means "still talking" (cancels speculation)
    max_utterance_s: float = 20.0  # a turn is cut here even if the user keeps talking
    trailing_keep_ms: int = 96  # silence kept after the last voiced frame for the ASR
    # What says "finished" (voice/speculation.py): "model_and_rule" — Smart Turn v3.2 on the audio of the
    # utterance (runtime/turn_end.py) and the transcript rule (audio/segmenter.py) must both say so, after
    # turn_model_min_silence_ms; "model" — Smart Turn alone; "rule" — the rule alone, after min_silence_ms (also
    # what runs when the model is not installed). `earshot bench turn-end`, hibari's voice (the latency bench's):
    # both at 160 ms cut off 24 of 77 broken-off requests and waited 173 ms (median) after finished ones; the
    # rule at 224 ms, 48 and 236 ms. On espeak-ng's flat voices the model often hears "unfinished" in a finished
    # request, which then waits for max_silence_ms (README, "Ending turns").
    turn_end: str = "model_and_rule"
    turn_model_min_silence_ms: int = 160  # the silence after which the turn-end model's "finished" ends the turn
    turn_model_min_probability: float = 0.5  # Smart Turn's probability that counts as "finished"
    # ...and when the command path took the pause's whole transcript as a command (voice/speculation.py): Smart
    # Turn gave the latency bench's 22 commands (hibari, offline) 0.94–0.99, but "Undo that." 0.56 and under 0.5
    # live (runs O and P waited max_silence_ms on it); the broken-off prefixes the command path also took
    # ("mute the drum.", "Set the tempo to 90.") 0.05–0.95, none of them between 0.2 and 0.5.
    turn_model_min_probability_command: float = 0.2
    turn_model_threads: int = 1  # ONNX Runtime threads per call (the ASR of the same pause has the other core)


@dataclass
class ListenOptions:
    """How `earshot listen` decides what is addressed to it."""

    mode: str = "always"  # "always", "push_to_talk" or "wake"
    wake_phrase: str = "hey earshot"  # matched fuzzily against the tiny ASR's transcript
    wake_min_score: float = 0.72  # 0..1 similarity of the transcript's opening to the phrase
    wake_follow_up_s: float = 6.0  # after a bare wake phrase, the next utterance is the request
    partial_interval_ms: int = 480  # a partial transcript this often while the user speaks
    speculate: bool = True  # start ASR + planning at the first silent frame
    speculate_on_partials: bool = True  # also plan on a partial transcript that looks complete
    asr_min_window_s: float = 6.0  # the streaming ASR pads short audio to this much (see asr.py)
    # The loop's recogniser: "whisper" (the configured Whisper, short window) or "moonshine" (Moonshine base,
    # `pip install 'earshot[moonshine]'`, `earshot models install --model moonshine-base-en`). Whisper stays the
    # default: on `earshot bench asr` it had the lower WER (20.8 % vs 29.5 %) at lower CPU cost (99 vs 169 ms).
    asr_engine: str = "whisper"
    # The pause's final pass reads only the audio after the last partial transcript (voice/tail.py) and joins the
    # two on their shared words; off: it reads the whole utterance. Off by default: on `earshot bench asr` it
    # saved Whisper nothing (its window is padded to asr_min_window_s anyway) and Moonshine ~5 % of its CPU,
    # and raised both WERs a little.
    final_asr_from_tail: bool = False
    # The pause takes a partial pass's transcript as final when that pass read all of the utterance but at most
    # this much at its end, and that end is quiet (this many dB under the speech): the pass was often still
    # running at the pause, holding the final pass up by ~200 ms (voice/speculation.py). 0: always a final pass.
    final_from_partial_unread_ms: int = 64
    final_from_partial_quiet_db: float = 20.0
    first_clause_words: int = 3  # the reply's first chunk may end at a comma after this many words
    # Spoken at start-up with a live speaker. Besides telling the user it listens, it gives the echo
    # canceller (AEC3) its first few seconds of far-end speech: AEC3 suppresses hard during its
    # initial ~2.5 s of render activity, which would mute a user interrupting the first reply.
    greeting: str = "Earshot is listening. Tell me what to do with your audio files."
    min_transcript_chars: int = 2  # shorter transcripts (a cough read as "Hm.") start no turn
    stream_replies: bool = True  # a spoken answer (a plan without steps) plays while the plan is decoded
    acknowledge: bool = True  # a command says what it is doing the moment its plan exists
    prefill_context: bool = True  # evaluate the next turn's context into the LLM while the reply plays


@dataclass
class BargeInOptions:
    """Interrupting the assistant while it speaks."""

    enabled: bool = True
    speech_ms: int = 96  # confirmed user speech during playback that stops it
    speech_threshold: float = 0.6  # stricter than VadOptions.speech_threshold: residual echo is not a user
    echo_margin_db: float = 6.0  # the cleaned mic must be this much above the expected residual echo
    # Speech over the reply pauses it at once; the turn is cancelled when a transcript shows it was the
    # user, and the reply resumes when it was our own voice leaking past the echo canceller.
    confirm_with_transcript: bool = True
    # Speech starting this soon after the speech that stopped a reply is its tail ("Stop." … "please"):
    # if it holds only stop words it starts no turn, as it would not have over the reply.
    stop_tail_s: float = 3.0
    # An utterance over the reply this short that Whisper reads as its words for noise ("So.") is read again
    # biased toward "Stop." (voice/barge_in.py `settle_final`): a bare "Stop." with its pre-roll is ~0.9 s.
    stop_reread_max_s: float = 1.5
    # A pause drops the 60–100 ms of reply already in the output buffer instead of letting it play
    # out (audio/io.py Speaker.flush_on_pause): that buffer was half of the time a barge-in took.
    flush_output: bool = True


@dataclass
class EchoOptions:
    """Acoustic echo cancellation (audio/aec.py) so the assistant does not hear itself."""

    backend: str = "auto"  # "auto", "livekit", "webrtc-apm" or "off"
    stream_delay_ms: int = 0  # extra render→capture delay hint; AEC3 estimates the rest
    # Barge-in also listens to a linear-only canceller's residual (audio/aec.py LinearEcho): AEC3's
    # suppressor takes most of a short "Stop." said over the reply with the echo.
    linear_barge_in: bool = True


@dataclass
class VoiceOptions:
    """The voice loop: devices, VAD, endpointing, listening mode, barge-in, echo cancellation."""

    input_device: str | None = None  # name (or part of it) or index; None is the system default
    output_latency_s: float = 0.06  # output buffer; lower is faster but underruns on a busy CPU
    # A reply that starts while the speaker is silent drops the buffered silence first (audio/io.py Speaker
    # `flush_on_start`): its first sample is heard ~55 ms sooner. Off: with the stream restarted at every reply
    # the loop heard more of our own voice (latency runs Y and Z: 4 and 6 of 22 command rows lost to a sound of
    # ours discarded as no request, against 1 in run X), which costs more than the drop saves.
    drop_idle_buffer: bool = False
    vad: VadOptions = field(default_factory=VadOptions)
    endpoint: EndpointOptions = field(default_factory=EndpointOptions)
    listen: ListenOptions = field(default_factory=ListenOptions)
    barge_in: BargeInOptions = field(default_factory=BargeInOptions)
    echo: EchoOptions = field(default_factory=EchoOptions)


@dataclass
class LibraryOptions:
    """The sample library (`earshot library`, the find and batch tools)."""

    workers: int = 2  # analysis processes (or Ray actors) for `library add`; one core each
    transcribe: bool = True  # Whisper on files with speech, so "the interviews where someone says X" works
    ray_address: str = ""  # an existing Ray cluster ("HOST:6379") used when `library add --ray` is given
    max_results: int = 50  # found files a find registers as artifacts (the count of all matches is reported)


@dataclass
class EarshotConfig:
    paths: PathOptions = field(default_factory=PathOptions)
    models: ModelChoice = field(default_factory=ModelChoice)
    llm: LlmOptions = field(default_factory=LlmOptions)
    planner: PlannerOptions = field(default_factory=PlannerOptions)
    limits: AudioLimits = field(default_factory=AudioLimits)
    execution: ExecutionOptions = field(default_factory=ExecutionOptions)
    speech: SpeechOptions = field(default_factory=SpeechOptions)
    accelerator: AcceleratorOptions = field(default_factory=AcceleratorOptions)
    voice: VoiceOptions = field(default_factory=VoiceOptions)
    library: LibraryOptions = field(default_factory=LibraryOptions)


def _apply(obj, table: dict, where: str):
    known = {f.name: f for f in fields(obj)}
    changes = {}
    for key, value in table.items():
        if key not in known:
            raise EarshotError(
                f"unknown option {where}.{key} in config.toml", f"known options: {', '.join(sorted(known))}"
            )
        current = getattr(obj, key)
        if is_dataclass(current):
            if not isinstance(value, dict):
                raise EarshotError(f"config.toml: [{where}.{key}] must be a table")
            changes[key] = _apply(current, value, f"{where}.{key}")
        else:
            changes[key] = value
    return replace(obj, **changes)


def load_config(path: Path | None = None) -> EarshotConfig:
    """Defaults, overlaid with `config.toml` from the Earshot home when it exists."""
    config = EarshotConfig()
    path = path or config.paths.home_dir / "config.toml"
    if path.is_file():
        try:
            table = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise EarshotError(f"{path} is not valid TOML: {exc}", "fix or delete the file") from exc
        config = _apply(config, table, "config")
    return config
