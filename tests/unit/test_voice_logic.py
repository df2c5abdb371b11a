"""Pure logic of the voice loop: wake-phrase matching, the streamed `say` decoder, the ASR's
repetition guard, the echo reference timeline and the double-talk gate. No models, no audio server."""

from __future__ import annotations

import numpy as np
import pytest

from assistant.audio.aec import AEC_FRAME, EchoGate, EchoStage, PassThrough, ReferenceBuffer, Timeline
from assistant.audio.wake import WakeMatcher
from assistant.llm.say_stream import SayStream
from assistant.runtime.asr import collapse_repeats


@pytest.mark.parametrize(
    "heard, accepted, remainder",
    [
        ("Hey Earshot.", True, ""),
        ("Hey, Earshot, what can you do?", True, "what can you do?"),
        ("Hey, your shot, what can you do?", True, "what can you do?"),  # tiny.en's usual spelling of the name
        ("Hey, shot.", True, ""),
        ("Okay, hey Earshot, thanks.", True, "thanks."),  # one filler word before the phrase
        ("Hey there.", False, ""),
        ("Heresy.", False, ""),
        ("What can you do?", False, ""),
        ("Remove the noise from memo.wav.", False, ""),
        ("", False, ""),
    ],
)
def test_wake_phrase_fuzzy_match(heard, accepted, remainder):
    m = WakeMatcher("hey earshot", 0.72).match(heard)
    assert m.accepted is accepted, m
    assert m.remainder == remainder


def test_wake_phrase_score_orders_near_misses_below_the_phrase():
    w = WakeMatcher("hey earshot")
    assert w.match("hey earshot").score == 1.0
    assert w.match("hey ear shot").score == 1.0
    assert w.match("hey earshot").score > w.match("hey ashley").score > w.match("good morning").score


def _stream(plan: str, first_clause_words: int = 0) -> tuple[SayStream, list[str], list[int]]:
    """Feed a plan to a SayStream one character at a time, as the LLM grows it; also returns how many
    sentences were out after each character."""
    out: list[str] = []
    dec = SayStream(out.append, first_clause_words)
    seen = []
    for i in range(1, len(plan) + 1):
        dec.feed(plan[:i])
        seen.append(len(out))
    return dec, out, seen


def test_say_decoder_emits_sentences_as_they_complete():
    plan = '{"say":"I can transcribe, speak and edit. Name a file like @a1. Or ask me what?","steps":[]}'
    _, out, seen = _stream(plan)
    assert out == ["I can transcribe, speak and edit.", "Name a file like @a1.", "Or ask me what?"]
    # The first sentence is out as soon as the space after its full stop is generated.
    first_at = seen.index(1) + 1
    assert plan[:first_at].endswith("edit. ")
    # "!" and "?" end a sentence by themselves: out with the character, not a token later.
    assert plan[: seen.index(3) + 1].endswith("what?")


def test_say_decoder_lets_an_exclamation_out_at_once():
    plan = '{"say":"Hello there! How can I help?","steps":[]}'
    _, out, seen = _stream(plan)
    assert plan[: seen.index(1) + 1].endswith("there!")
    assert out == ["Hello there!", "How can I help?"]


def test_say_decoder_can_cut_the_first_chunk_at_a_clause():
    _, out, _ = _stream('{"say":"I can transcribe, speak, denoise and edit audio. Ask me, anytime.","steps":[]}', 3)
    # Only the first chunk is cut at a comma (a 3-word clause); later ones wait for the sentence end.
    assert out == ["I can transcribe,", "speak, denoise and edit audio.", "Ask me, anytime."]


def test_say_decoder_stays_silent_for_plans_with_steps():
    dec, out, _ = _stream('{"say":null,"steps":[{"tool":"speak","args":{"text":"Hello. World."}}]}')
    assert out == [] and dec.active is False


def test_say_decoder_handles_spaces_the_grammar_allows():
    _, out, _ = _stream('{ "say": "You\'re welcome.", "steps": [] }')
    assert out == ["You're welcome."]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("What can you do? What can you do? What can you do? What", "What can you do?"),
        ("Thanks a lot. Thanks a lot.", "Thanks a lot."),
        ("Stop. Please stop.", "Stop. Please stop."),
        ("Remove the hiss. Then transcribe it.", "Remove the hiss. Then transcribe it."),
    ],
)
def test_asr_repetition_guard(text, expected):
    assert collapse_repeats(text) == expected


def test_timeline_takes_the_earliest_looking_timestamp():
    tl = Timeline(16_000)
    # Blocks of 160 samples; their arrival stamps are late by 0..8 ms of callback jitter.
    jitter = [0.004, 0.0, 0.008, 0.002, 0.006]
    for i, j in enumerate(jitter):
        tl.stamp(160, 100.0 + (i + 1) * 0.01 + j)
    assert tl.time_of(0) == pytest.approx(100.0, abs=1e-4)
    assert tl.index_at(100.5) == 8000


def test_reference_pairs_with_capture_at_a_constant_offset_despite_jitter():
    """The render frame handed to AEC3 for each capture frame must be the one heard at the same
    moment, however late the callbacks: a wandering pairing defeats the linear echo filter."""
    ref = ReferenceBuffer()
    rng = np.random.default_rng(0)
    far = rng.standard_normal(16_000).astype(np.float32)
    t0 = 50.0
    for k in range(0, len(far), 160):  # the speaker: 10 ms blocks, heard at t0 + k/16 kHz
        ref.push(far[k : k + 160], t0 + k / 16_000 + rng.uniform(0, 0.006))
    stage = EchoStage(PassThrough(), ref)
    refs = []
    for k in range(0, 16_000, 320):  # the mic: 20 ms blocks arriving with jitter
        refs.append(stage(np.zeros(320, np.float32), t0 + (k + 320) / 16_000 + rng.uniform(0, 0.006)).reference)
    got = np.concatenate(refs)
    lag = int(np.argmax([np.dot(got[4000:12000], far[4000 - d : 12000 - d]) for d in range(0, 200)]))
    assert lag <= 8  # captured at t ↔ heard at t (within 0.5 ms)
    # …and (nearly) the same offset all along, window after window.
    for w in range(3000, 15000, 2000):
        local = int(np.argmax([np.dot(got[w : w + 1000], far[w - d : w + 1000 - d]) for d in range(0, 40)]))
        assert abs(local - lag) <= 3


def test_a_retracted_reference_is_silence_and_the_restarted_stream_is_placed_by_its_time():
    """A pause that drops the output buffer (Speaker.flush_on_pause): the samples that were never heard
    leave the reference, and the stream restarted 0.4 s later is read back at its own times — not 0.4 s
    off, as the clock's lower envelope would have kept it for seconds."""
    ref = ReferenceBuffer()
    rng = np.random.default_rng(1)
    far = rng.standard_normal(32_000).astype(np.float32)
    t0 = 50.0
    for k in range(0, 16_000, 160):  # one second written to the device, each block with when it is heard
        ref.push(far[k : k + 160], t0 + k / 16_000 + rng.uniform(0, 0.004))
    flushed_at = t0 + 0.92  # the last 80 ms pushed were in the device buffer, dropped
    ref.retract(flushed_at)
    assert not np.any(ref.frame_ending_at(t0 + 0.99))  # never heard: silence, not the dropped samples
    kept = ref.frame_ending_at(t0 + 0.91)  # heard before the flush: still there (give or take a sample)
    assert any(np.array_equal(kept, far[14_400 + d : 14_560 + d]) for d in range(-2, 3))
    restart = t0 + 1.32
    for k in range(16_000, 32_000, 160):
        ref.push(far[k : k + 160], restart + (k - 16_000) / 16_000 + rng.uniform(0, 0.004))
    assert not np.any(ref.frame_ending_at(restart - 0.05))  # the pause itself
    got = np.concatenate([ref.frame_ending_at(restart + 0.5 + i / 100) for i in range(20)])
    want = far[16_000 + 7840 : 16_000 + 7840 + 3200]
    lag = int(np.argmax([np.dot(got[200:3000], want[200 - d : 3000 - d]) for d in range(-100, 100)])) - 100
    assert abs(lag) <= 16  # within 1 ms


def test_the_linear_side_channel_cancels_the_echo_and_keeps_a_word_said_over_it():
    """The barge-in side channel (LinearEcho): the echo of the reply goes, a near-end burst said over it
    stays at its own level (AEC3's suppressor took most of a short "Stop." with the echo)."""
    from scipy.signal import lfilter

    from assistant.audio.linear_echo import LinearEcho
    from assistant.bench.aec_bench import room_impulse_response

    rng = np.random.default_rng(1)
    far = (0.1 * rng.standard_normal(6 * 16_000)).astype(np.float32)
    echo = lfilter(room_impulse_response(20, 0.3, seed=3), [1.0], np.concatenate([np.zeros(960), far]))[: len(far)]
    t = np.arange(4800) / 16_000
    word = 0.05 * np.sin(2 * np.pi * 220 * t) * np.hanning(4800)  # 300 ms over the reply, at 5 s
    mic = echo.copy()
    mic[80_000:84_800] += word
    canceller = LinearEcho()
    out = np.concatenate(
        [canceller.process(mic[k : k + AEC_FRAME], far[k : k + AEC_FRAME]) for k in range(0, len(mic), AEC_FRAME)]
    )
    erle = 10 * np.log10(np.sum(echo[64_000:80_000] ** 2) / np.sum(out[64_000:80_000] ** 2))
    assert erle > 25.0  # converged within 4 s of reply
    kept = out[80_000:84_800] - (mic[80_000:84_800] - word)  # what is left of the word (residual echo aside)
    kept_db = 10 * np.log10(np.sum(out[80_000:84_800] ** 2) / np.sum(word**2))
    assert abs(kept_db) < 1.0, kept.std()  # the word passes at its own level
    after = 10 * np.log10(np.sum(echo[86_000:] ** 2) / np.sum(out[86_000:] ** 2))
    assert after > 20.0  # and the word did not undo the filter


def test_a_word_over_the_reply_is_unlike_the_echo_estimate_and_a_moved_echo_is_like_it():
    """When AEC3 mutes a word said over the reply, the side channel's residual stands for the user only if it is
    unlike the linear filter's own echo estimate: a voiced word is (it is not in the reference), an echo that
    moved without an event is not (it is the estimate, shifted)."""
    from scipy.signal import lfilter

    from assistant.audio.frames import SIDE_ECHO_LIKENESS_MAX
    from assistant.audio.linear_echo import LinearEcho, echo_likeness
    from assistant.bench.aec_bench import room_impulse_response

    rng = np.random.default_rng(4)
    far = 0.1 * rng.standard_normal(7 * 16_000)
    echo = lfilter(room_impulse_response(20, 0.3, seed=3), [1.0], np.concatenate([np.zeros(960), far]))[: len(far)]
    t = np.arange(4800) / 16_000
    phase = 2 * np.pi * np.cumsum(140 + 20 * np.sin(2 * np.pi * 3 * t)) / 16_000
    word = sum(np.sin(k * phase) / k for k in range(1, 20)) * np.hanning(4800)  # 300 ms, voiced, gliding
    word *= np.sqrt(np.mean(echo[:4800] ** 2) / np.mean(word**2))
    at = 96_000  # 6 s in: the filter has converged

    def run(mic: np.ndarray, user: slice | None = None) -> tuple[np.ndarray, np.ndarray]:
        canceller, residual = LinearEcho(), []
        for k in range(0, len(mic), AEC_FRAME):
            canceller.adapting = user is None or not (user.start <= k < user.stop)  # as frames.py holds it
            residual.append(canceller.process(mic[k : k + AEC_FRAME], far[k : k + AEC_FRAME]))
        residual = np.concatenate(residual)
        return residual, mic - residual

    windows = range(at + 512, at + 4800 - 1024, 512)  # 64 ms windows inside the word (not its faded ends)
    mic = echo.copy()
    mic[at : at + 4800] += word
    residual, estimate = run(mic, slice(at, at + 4800))
    said = [echo_likeness(residual[s : s + 1024], estimate[s : s + 1024]) for s in windows]
    assert max(said) < SIDE_ECHO_LIKENESS_MAX, said
    for shift in (16, 160, 480):  # 1, 10, 30 ms later, with no event (below the 40 ms relock)
        mic = echo.copy()
        mic[at:] = echo[at - shift : len(echo) - shift]
        residual, estimate = run(mic)
        moved = [echo_likeness(residual[s : s + 1024], estimate[s : s + 1024]) for s in windows]
        assert min(moved) > 2 * SIDE_ECHO_LIKENESS_MAX, (shift, moved)


def test_the_side_channel_is_trusted_only_while_it_cancels_the_echo():
    """Before it has learnt the echo, and after the echo moved (an output underrun), the linear filter's
    residual is the reply itself: what it hears then is not the user."""
    from scipy.signal import lfilter

    from assistant.audio.linear_echo import LinearEcho

    rng = np.random.default_rng(2)
    far = (0.1 * rng.standard_normal(8 * 16_000)).astype(np.float32)
    echo = lfilter([0.0] * 960 + [0.6, 0.3, 0.1], [1.0], far)
    echo[64_000:] = np.concatenate([np.zeros(640), echo[64_000:-640]])  # from 4 s the echo is 40 ms later
    canceller = LinearEcho()
    trusted = []
    for k in range(0, len(far), AEC_FRAME):
        canceller.process(echo[k : k + AEC_FRAME], far[k : k + AEC_FRAME])
        trusted.append(canceller.trusted())
    at = lambda s: trusted[int(s * 100)]  # noqa: E731 - 100 blocks a second
    assert not at(0.2)  # a cold start
    assert at(3.9)  # converged
    assert not at(4.8)  # the echo moved 0.8 s ago


def test_the_side_channel_is_judged_again_after_its_pairing_changed_and_trusted_while_it_cancels():
    """After the speaker restarts (each reply, each barge-in) the pairing is checked again by the signals, which
    takes ~1 s of reply; users interrupt in those first seconds. The filter is trusted as soon as it is measured
    to cancel with the pairing it has (it does not adapt meanwhile), and what it cancelled before the change
    does not count."""
    from scipy.signal import lfilter

    from assistant.audio.linear_echo import LinearEcho

    rng = np.random.default_rng(4)
    far = (0.1 * rng.standard_normal(6 * 16_000)).astype(np.float32)
    echo = lfilter([0.0] * 320 + [0.6, 0.3, 0.1], [1.0], far)
    canceller = LinearEcho()
    blocks = [(echo[k : k + AEC_FRAME], far[k : k + AEC_FRAME]) for k in range(0, len(far), AEC_FRAME)]
    for mic, ref in blocks[:300]:  # 3 s: converged
        canceller.process(mic, ref)
    assert canceller.trusted()
    canceller.forget()  # a restart: the pairing is being checked again
    canceller.frozen = True
    assert not canceller.trusted()  # nothing judged since the change
    trusted = []
    for mic, ref in blocks[300:400]:
        canceller.process(mic, ref)
        trusted.append(canceller.trusted())
    assert not trusted[30] and trusted[45]  # trusted within ~0.45 s of reply, while still frozen: it cancels
    # Frozen with a pairing that is wrong (the echo 20 ms later than the filter learnt): not trusted.
    canceller.forget()
    late = np.concatenate([np.zeros(320), echo])[: len(echo)]
    for k in range(400 * AEC_FRAME, 500 * AEC_FRAME, AEC_FRAME):
        canceller.process(late[k : k + AEC_FRAME], far[k : k + AEC_FRAME])
        assert not canceller.trusted()


def test_the_side_channels_pairing_is_locked_through_jitter_and_found_again_after_a_jump():
    from assistant.audio.linear_echo import LinearEcho

    ref = ReferenceBuffer()
    rng = np.random.default_rng(0)
    far = rng.standard_normal(112_000).astype(np.float32) * 0.1
    t0, jump = 50.0, 0.0
    stage = EchoStage(PassThrough(), ref, LinearEcho())
    out = []
    for k in range(0, len(far) - 320, 320):
        if k == 64_000:
            jump = 0.06  # an output underrun: everything after is heard 60 ms later
        ref.push(far[k : k + 320], t0 + jump + k / 16_000 + rng.uniform(0, 0.004))
        mic = far[k - 320 : k] if k >= 320 else np.zeros(320, np.float32)  # 20 ms from speaker to microphone
        out.append(stage(mic.astype(np.float32), t0 + (k + 320) / 16_000 + rng.uniform(0, 0.004)).linear)
    res = np.concatenate(out)
    assert 10 * np.log10(np.sum(far[48_000:63_000] ** 2) / np.sum(res[48_000:63_000] ** 2)) > 25.0
    assert stage.relocks == 1  # jitter of a few ms did not move the lock; the 60 ms jump did


@pytest.mark.parametrize("late_s", [0.003, 0.008])
def test_the_side_channel_pairs_again_after_the_speaker_dropped_its_buffer(late_s):
    """A flush (Speaker.flush_on_pause) restarts the output: its first block's clock is late (3 ms: under the
    relock threshold, kept; 8 ms: over it, relocked by a clock as late). The signals find the pairing again
    (audio/echo_delay.py), so the converged filter keeps cancelling instead of learning a path a few ms off
    (37 → 21 dB without the check)."""
    from assistant.audio.linear_echo import LinearEcho

    ref = ReferenceBuffer()
    rng = np.random.default_rng(2)
    far = rng.standard_normal(160_000).astype(np.float32) * 0.1
    played = np.zeros(0, np.float32)  # what the speaker really played, on the microphone's sample clock
    stage = EchoStage(PassThrough(), ref, LinearEcho())
    t0, out, k, mic_at = 50.0, [], 0, 0
    late = 0.0
    while k < len(far) - 320:
        if k == 64_000:  # the flush: 160 ms of silence (the pause), then the stream starts again
            ref.retract(t0 + k / 16_000)
            played = np.concatenate([played, np.zeros(2560, np.float32)])
            t0 += 0.16
            late = late_s  # the restarted stream's first block, late on the clock
        ref.push(far[k : k + 320], t0 + k / 16_000 + late + rng.uniform(0, 0.001))
        late = 0.0
        played = np.concatenate([played, far[k : k + 320]])
        k += 320
        while mic_at + 320 <= len(played) - 320:  # 20 ms from speaker to microphone
            mic = played[mic_at - 320 : mic_at] if mic_at >= 320 else np.zeros(320, np.float32)
            lin = stage(mic, 50.0 + (mic_at + 320) / 16_000 + rng.uniform(0, 0.001)).linear
            out.append((mic, lin))
            mic_at += 320
    mic = np.concatenate([m for m, _ in out])
    res = np.concatenate([r for _, r in out])
    after = slice(64_000 + 2560 + 16_000, 64_000 + 2560 + 48_000)  # 1–3 s after the restart
    assert 10 * np.log10(np.sum(mic[after] ** 2) / np.sum(res[after] ** 2)) > 25.0


def test_the_pairing_is_checked_again_within_a_quarter_second_of_a_restart():
    """After a restart the side channel is blind until its pairing is checked: a traced barge-in lost the
    user's "Stop." to the 0.64 s window. The frames since the reference sounded again are enough from 24 on."""
    from assistant.audio.echo_delay import EARLY_FRAMES, PairingCheck

    rng = np.random.default_rng(4)
    far = rng.standard_normal(300 * 160)
    check = PairingCheck()

    def feed(frames, delay):  # the microphone hears the reference `delay` samples late
        moves = []
        for i in frames:
            ref = far[i * 160 : (i + 1) * 160]
            mic = far[i * 160 - delay : (i + 1) * 160 - delay]
            moves.append(check.push(mic + 0.01 * rng.standard_normal(160), ref, True, True))
        return moves

    assert not any(feed(range(10, 120), 213))  # trusted: the good lag is measured (at 100 frames)
    assert check.good_lag == 213
    check.event()
    moves = feed(range(120, 190), 293)  # restarted 5 ms off
    assert moves.index(-80) == EARLY_FRAMES - 1 and not check.pending
    assert sum(1 for m in moves if m) == 1
    # A new reply after silence: the frames before it sounded do not count against the check.
    check.event()
    quiet = [check.push(0.01 * rng.standard_normal(160), np.zeros(160), False, False) for _ in range(150)]
    moves = feed(range(190, 190 + EARLY_FRAMES), 373)  # 10 ms off this time
    assert not any(quiet) and moves[-1] == -160 and not any(moves[:-1]) and not check.pending


def test_gcc_phat_finds_the_echo_delay_and_refuses_to_guess_in_noise():
    from scipy.signal import lfilter

    from assistant.audio.echo_delay import gcc_phat_lag

    rng = np.random.default_rng(3)
    ref = rng.standard_normal(10_240)
    room = np.zeros(1200)
    room[960], room[1000], room[1150] = 0.6, 0.3, 0.1  # 60 ms, then two reflections
    mic = lfilter(room, [1.0], ref) + 0.05 * rng.standard_normal(10_240)
    assert gcc_phat_lag(mic, ref) == 960
    assert gcc_phat_lag(rng.standard_normal(10_240), ref) is None  # no echo of it at all


def test_echo_gate_learns_the_residual_and_lets_louder_speech_through():
    gate = EchoGate(margin_db=6.0, initial_return_db=0.0)
    assert not gate.near_end(-25.0, -20.0)  # before learning: the echo may be as loud as the reference
    for _ in range(200):  # the canceller leaves echo 25 dB below the reference
        gate.update(-45.0, -20.0, speech_prob=0.05)
    assert gate.return_db == pytest.approx(-25.0, abs=1.0)
    assert gate.near_end(-30.0, -20.0)  # a voice 15 dB over the residual: the user
    assert not gate.near_end(-42.0, -20.0)  # residual echo: not the user
    gate.update(-15.0, -20.0, speech_prob=0.9)  # likely the user: the estimate does not learn from it
    assert gate.return_db == pytest.approx(-25.0, abs=1.0)
    assert gate.near_end(-80.0, -120.0)  # nothing playing: anything heard is the room


def test_echo_gate_is_strict_while_the_speaker_starts_again():
    """The canceller lets the first ~200 ms of a reply's echo through (re-aligning after silence): the
    assistant interrupted itself. For the guard frames after the speaker starts, echo just under the
    reference is not the user; after them the learned residual applies again."""
    gate = EchoGate(margin_db=6.0, initial_return_db=0.0, onset_guard_frames=10)
    for _ in range(200):  # a converged canceller: residual 25 dB down
        gate.update(-45.0, -20.0, speech_prob=0.05)
    for _ in range(20):  # the reply ends; the speaker is silent
        gate.update(-70.0, -120.0, speech_prob=0.0)
    leaks = []
    for _ in range(10):  # the next reply starts: echo 2 dB under the reference
        gate.update(-22.0, -20.0, speech_prob=0.95)
        leaks.append(gate.near_end(-22.0, -20.0))
    assert not any(leaks)
    assert gate.near_end(-9.0, -20.0)  # a voice louder than the reference still barges in
    gate.update(-45.0, -20.0, speech_prob=0.05)  # past the guard: the learned residual again
    assert gate.near_end(-30.0, -20.0)


def test_echo_gate_does_not_learn_a_users_first_sounds_as_echo():
    """The unvoiced start of "Stop" (silero: 0.1–0.25) jumped the residual estimate by 5 dB in two
    frames and the rest of the word was taken for echo; a jump past the margin only creeps."""
    gate = EchoGate(margin_db=6.0, initial_return_db=0.0)
    for _ in range(200):
        gate.update(-45.0, -20.0, speech_prob=0.05)
    before = gate.return_db
    for _ in range(3):  # "s…": 12 dB over the residual, low speech probability
        gate.update(-33.0, -20.0, speech_prob=0.15)
    assert gate.return_db - before < 1.0
    assert gate.near_end(-33.0, -20.0)
    for _ in range(100):  # a lasting change of the echo path is still learnt
        gate.update(-33.0, -20.0, speech_prob=0.05)
    assert gate.return_db > -16.0


def test_aec_frame_is_ten_ms():
    assert AEC_FRAME == 160


@pytest.mark.parametrize(
    "message, expected",
    [
        ("Error opening InputStream: Invalid sample rate [PaErrorCode -9997]", "does not support 44100 Hz"),
        ("Error opening OutputStream: Device unavailable [PaErrorCode -9985]", "is busy"),
        ("Error querying device -1", "cannot open"),
        ("Error opening InputStream: Invalid device [PaErrorCode -9996]", "there is no usable input device"),
    ],
)
def test_device_errors_say_which_problem_it_is(message, expected):
    from assistant.audio.io import _device_error

    err = _device_error(RuntimeError(message), "USB mic", 44100, "input")
    assert expected in err.message
    assert err.hint


class _OpensFine:
    """A sounddevice stream class that opens and starts."""

    def __init__(self, **kw):
        self.kw, self.started = kw, False

    def start(self):
        self.started = True


def test_a_stream_that_will_not_open_is_the_device_error_and_a_good_one_is_started():
    from types import SimpleNamespace

    from assistant.audio.io import _start_stream
    from assistant.errors import EarshotError

    class Busy:
        def __init__(self, **kw):
            raise RuntimeError("Error opening OutputStream: Device unavailable [PaErrorCode -9985]")

    owner = SimpleNamespace(rate_hz=48_000, latency="low", device="USB speaker")
    with pytest.raises(EarshotError, match="is busy"):
        _start_stream(Busy, "output", owner, None, 480, None)
    stream = _start_stream(_OpensFine, "output", owner, 3, 480, None)
    assert stream.started and stream.kw["samplerate"] == 48_000 and stream.kw["device"] == 3


def test_a_live_stream_gets_the_gil_within_a_millisecond(monkeypatch):
    """The callbacks' arrival times pair the echo reference with the microphone: other threads must hand them
    the GIL sooner than the interpreter's default 5 ms."""
    import sys
    from types import SimpleNamespace

    from assistant.audio.io import CALLBACK_SWITCH_INTERVAL_S, _start_stream

    monkeypatch.setattr(sys, "getswitchinterval", lambda: 0.005)
    wanted = []
    monkeypatch.setattr(sys, "setswitchinterval", wanted.append)
    _start_stream(_OpensFine, "input", SimpleNamespace(rate_hz=16_000, latency="low", device=None), None, 160, None)
    assert wanted == [CALLBACK_SWITCH_INTERVAL_S] and CALLBACK_SWITCH_INTERVAL_S <= 0.001


def test_an_unknown_device_name_is_a_clear_error():
    from assistant.audio.io import resolve_device
    from assistant.errors import EarshotError

    try:
        import sounddevice  # noqa: F401
    except OSError:
        pytest.skip("PortAudio is not installed")
    with pytest.raises(EarshotError) as info:
        resolve_device("no-such-microphone-xyz", "input")
    assert "no input device matches 'no-such-microphone-xyz'" in info.value.message
    with pytest.raises(EarshotError) as info:
        resolve_device(999, "output")
    assert "no output device with index 999" in info.value.message


@pytest.mark.parametrize(
    "heard, spoken, echo",
    [
        ("I can...", "I can transcribe, speak, denoise, measure and edit audio.", True),
        ("Trim.", "Trimmed memo.wav to 3 s.", True),
        ("Name a file or an RK stop", "Name a file or an artifact like @a1.", True),
        ("What can you do?", "I can transcribe, speak, denoise, measure and edit audio.", False),
        ("Stop, please.", "Here is a longer answer, so that there is time to interrupt me.", False),
        ("Thanks a lot.", "", False),
        # One word is ours only when the reply has it: Whisper's readings of "Stop." over this reply stop it.
        ("Here.", "Here is a longer answer, so that there is time to interrupt me.", True),
        ("Scott.", "Here is a longer answer, so that there is time to interrupt me.", False),
        ("Start.", "Here is a longer answer, so that there is time to interrupt me.", False),
        ("Top.", "so that there is time to interrupt me.", False),
    ],
)
def test_own_voice_transcripts_are_recognised(heard, spoken, echo):
    from assistant.voice.gates import echo_of

    assert echo_of(heard, spoken) is echo


def test_speech_that_began_after_the_reply_ended_is_never_taken_for_its_echo():
    import time

    from assistant.voice.speaker import Speaker

    t = time.monotonic() - 5.0
    voice = Speaker(load_tts=None, sink=None, emit=lambda e: None)
    voice.spoken_log = [(t, t + 1.0, "Hi! How are you?")]
    assert "How are you" in voice.recently_spoken(t + 0.8)  # during playback: may be our echo
    assert "How are you" in voice.recently_spoken(t + 1.3)  # within the room's reverberation
    assert voice.recently_spoken(t + 1.9) == ""  # "Who made you?" after it: the user's


def test_an_echo_is_matched_only_against_what_played_around_the_speech():
    """The TUI test's "Tell me more." right after a reply was dropped as our own voice: the greeting's
    "Tell me what to do …", 5 s earlier, was still in the text it was compared with."""
    import time

    from assistant.voice.gates import echo_of
    from assistant.voice.speaker import Speaker

    t = time.monotonic() - 20.0
    voice = Speaker(load_tts=None, sink=None, emit=lambda e: None)
    voice.spoken_log = [
        (t, t + 3.0, "Earshot is listening. Tell me what to do with your audio files."),
        (t + 5.0, t + 7.0, "I work on your audio files."),
    ]
    spoken = voice.recently_spoken(t + 7.3)  # began in the reply's reverberation
    assert spoken == "I work on your audio files." and not echo_of("Tell me more.", spoken)
    assert "Tell me what to do" in voice.recently_spoken(t + 2.5)  # over the greeting: may be its echo


def test_a_sentence_still_playing_counts_until_it_ends_not_until_it_was_first_seen():
    import threading
    import time
    from types import SimpleNamespace

    from assistant.voice.speaker import Speaker

    now = time.monotonic()
    pb = SimpleNamespace(started_at_s=now - 4.0, played_samples=16_000, sample_rate_hz=16_000, done=threading.Event())
    voice = Speaker(load_tts=None, sink=None, emit=lambda e: None)
    voice._playing = [("A long sentence that is still playing.", pb)]
    # 1 s of it had reached the device when it was first seen, 3 s ago; it plays on
    assert "still playing" in voice.recently_spoken(now)
    pb.done.set()
    voice._log_spoken()  # the reply ended after 1 s after all (stopped): 3 s later is the user's
    assert voice.recently_spoken(now) == ""


@pytest.mark.parametrize(
    "heard, verdict",
    [
        # Transcripts of speech that paused a reply in `earshot bench latency` traces, with what was playing.
        ("You're well.", "own_voice"),  # "You're welcome!" leaking past the canceller
        ("I'm here to...", "own_voice"),
        ("Thank you.", "no_speech"),  # Whisper's words for a residue it cannot read
        ("", None),  # the VAD heard speech, Whisper nothing: stop, as before
        ("Stop, please.", None),  # the user: the reply stops for good
        ("No.", None),
        ("Wait, make it louder instead.", None),
    ],
)
def test_speech_over_the_reply_is_told_from_its_own_voice(heard, verdict):
    from assistant.voice.gates import heard_over_reply

    spoken = "You're welcome! I'm here to help. What can I do for you today?"
    assert heard_over_reply(heard, spoken) == verdict


class _HeldSpeaker:
    """A speaker paused by speech over LONG_REPLY (what `BargeIn.settle` asks of it)."""

    busy, paused = True, True

    def __init__(self):
        self.stopped = self.resumed = False

    def recently_spoken(self, around_s):
        return LONG_REPLY

    def pause(self):
        self.paused = True

    def resume(self):
        self.resumed, self.paused = True, False

    def stop(self):
        self.stopped = True
        return ""


LONG_REPLY = (  # bench/latency_bench.py's reply for its barge-in trials
    "Here is a longer answer, so that there is time to interrupt me. I can transcribe speech, speak text aloud, "
    "remove noise, measure loudness and edit audio files. Name a file or an artifact, and I will get to work "
    "on it right away."
)


@pytest.mark.parametrize(
    "partial, stops_at_once",
    [
        ("So that you're", False),  # CI: Whisper's guess at 0.6 s of the reply's own words leaking back
        ("So, the", False),
        ("Thank you.", False),
        ("Stop talking.", True),
        ("Stop", True),  # alike by letters (0.67), but it asks for quiet
        ("Wait, what", True),
        ("Please.", True),  # the first half second of "Please stop." (0.6 alike by letters)
        ("Actually, denoise it", True),
    ],
)
def test_a_partial_stops_the_reply_only_when_it_is_plainly_the_users(partial, stops_at_once):
    from assistant.config import BargeInOptions
    from assistant.voice.barge_in import BargeIn

    stopped_turns = []
    turn = type("Turn", (), {"stop": lambda self, reason: stopped_turns.append(reason)})()
    speaker = _HeldSpeaker()
    barge_in = BargeIn(BargeInOptions(), speaker, emit=lambda e: None)
    barge_in.on_onset(1.0, turn, "always")
    assert barge_in.tentative is not None
    barge_in.settle(partial, final=False)
    assert (stopped_turns == ["barge-in"]) is stops_at_once and speaker.stopped is stops_at_once
    if not stops_at_once:  # the whole utterance decides: the leak is let go, the reply resumes
        assert barge_in.settle("so that there is time to interrupt me.", final=True) == "own_voice"
        assert speaker.resumed and not stopped_turns


@pytest.mark.parametrize(
    "first, again, stops, rereads",
    [
        ("So.", "Stop.", True, True),  # runs P and T: hibari's bare "Stop." over the reply read "So."
        ("So.", "So.", False, True),  # read the same biased: noise, the reply resumes
        ("Thank you.", "Thank you.", False, True),  # a cough stays a cough
        ("So.", "Stop talking.", True, True),
        ("so that there is time", None, False, False),  # the reply's own words: no second reading
        ("Stop.", None, True, False),  # read right the first time
    ],
)
def test_a_short_utterance_over_the_reply_read_as_noise_is_read_again_toward_stop(first, again, stops, rereads):
    import asyncio

    from assistant.config import BargeInOptions
    from assistant.runtime.asr import ShortResult
    from assistant.voice.barge_in import BargeIn

    stopped_turns, asked = [], []
    turn = type("Turn", (), {"stop": lambda self, reason: stopped_turns.append(reason)})()
    speaker = _HeldSpeaker()
    barge_in = BargeIn(BargeInOptions(), speaker, emit=lambda e: None)
    barge_in.on_onset(1.0, turn, "always")

    async def transcribe(audio, hotwords=None):
        asked.append(hotwords)
        return ShortResult(again, 0.01, -0.3, len(audio) / 16000, 1.0)

    heard = ShortResult(first, 0.01, -0.3, 0.9, 1.0)
    audio = np.zeros(int(0.9 * 16000), np.float32)
    dismissed, decided = asyncio.run(barge_in.settle_final(heard, audio, transcribe))
    assert asked == (["Stop."] if rereads else [])
    assert (stopped_turns == ["barge-in"]) is stops and speaker.stopped is stops
    assert (dismissed is None) is stops
    assert decided.text == (again if stops and rereads else first)


def test_a_long_utterance_over_the_reply_is_not_read_again():
    import asyncio

    from assistant.config import BargeInOptions
    from assistant.runtime.asr import ShortResult
    from assistant.voice.barge_in import BargeIn

    speaker = _HeldSpeaker()
    barge_in = BargeIn(BargeInOptions(), speaker, emit=lambda e: None)
    barge_in.on_onset(1.0, None, "always")

    async def transcribe(audio, hotwords=None):
        raise AssertionError("a 3 s utterance is no bare stop word")

    heard = ShortResult("Thank you.", 0.01, -0.3, 3.0, 1.0)
    dismissed, _ = asyncio.run(barge_in.settle_final(heard, np.zeros(3 * 16000, np.float32), transcribe))
    assert dismissed == "no_speech" and speaker.resumed and not speaker.stopped
