#!/usr/bin/env bash
# A scripted conversation that touches every tool: typed `earshot ask … --json --no-speak` turns in one
# session and one workspace, on real files the script makes first:
#
#   memo.wav, noisy-memo.wav, dropout.wav   English speech from espeak-ng (+ white noise; + a 150 ms gap)
#   spanish.wav                             Spanish speech from espeak-ng
#   song.wav, melody.wav                    MIDI files written here, rendered by fluidsynth (FluidR3 GM)
#   cat.png                                 a photo shipped in scikit-image (or, without it, a drawn PNG)
#
#   scripts/demo.sh [WORKSPACE]     (default: a new temporary folder)
#
# Each turn names the tool it is meant for; a turn fails when `ask` fails, a step fails, or the planner
# routed it to other tools (a misroute, reported as such). At the end every tool that `earshot tools
# --json` lists must have run once. The transcript, a JSON report and every artifact are in WORKSPACE;
# the exit status is 1 when any turn failed or a tool was not touched. Every turn's plan time (the LLM call,
# from the plan_ready event) and the prompt tokens it evaluated are listed at the end and kept in
# demo-report.json ("plan_times_s"). Environment: PYTHON (the interpreter with Earshot installed),
# EARSHOT_LLM (planner model; default the configured one), DEMO_TURNS (stop after this many turns, for a
# quick plan-time run; the tool coverage check is skipped then).
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PY="${PYTHON:-}"
if [ -z "$PY" ]; then
  for candidate in "$ROOT/.venv/bin/python" "$(command -v python3)"; do
    if [ -x "$candidate" ]; then PY="$candidate"; break; fi
  done
fi
export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"
export ORT_DISABLE_TELEMETRY=1 HF_HUB_OFFLINE=1
for tool in espeak-ng fluidsynth; do
  command -v "$tool" >/dev/null || { echo "demo.sh: needs $tool (see install.sh)" >&2; exit 2; }
done
SOUNDFONT=/usr/share/sounds/sf2/FluidR3_GM.sf2
[ -f "$SOUNDFONT" ] || { echo "demo.sh: needs the soundfont $SOUNDFONT (apt-get install fluid-soundfont-gm)" >&2; exit 2; }

WS="${1:-$(mktemp -d -t earshot-demo-XXXXXX)}"
mkdir -p "$WS"
WS="$(cd "$WS" && pwd)"
LOG="$WS/demo-transcript.txt"
RESULTS="$WS/.demo-results.jsonl"
: > "$LOG"
: > "$RESULTS"
say_line() { printf '%s\n' "$*" | tee -a "$LOG"; }

# -- the raw material ----------------------------------------------------------------------------------
espeak-ng -v en-us -s 140 -w "$WS/.memo-22k.wav" \
  "Call me back about the mix before Friday. The drums are too loud in the second verse."
espeak-ng -v es -s 140 -w "$WS/spanish.wav" "La música suena muy fuerte en el estudio."
"$PY" - "$WS" "$SOUNDFONT" <<'PYEOF'
import subprocess, sys, tempfile
from pathlib import Path

import numpy as np
import pretty_midi
import soundfile as sf

ws, soundfont = Path(sys.argv[1]), sys.argv[2]
rng = np.random.default_rng(0)

# Speech: as espeak-ng said it, with white noise at 5 dB SNR, and with 150 ms dropped out at 1.00 s.
memo, rate = sf.read(ws / ".memo-22k.wav", dtype="float32")
(ws / ".memo-22k.wav").unlink()
memo = 0.5 * memo / np.max(np.abs(memo))
sf.write(ws / "memo.wav", memo, rate)
noise = rng.standard_normal(len(memo)).astype(np.float32)
noise *= np.sqrt(np.mean(memo ** 2) / np.mean(noise ** 2) / 10 ** (5 / 10))
sf.write(ws / "noisy-memo.wav", memo + noise, rate)
gap = memo.copy()
gap[int(1.00 * rate):int(1.15 * rate)] = 0.0
sf.write(ws / "dropout.wav", gap, rate)


def render(midi: pretty_midi.PrettyMIDI, name: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        mid, wav = Path(tmp) / "x.mid", Path(tmp) / "x.wav"
        midi.write(str(mid))
        subprocess.run(["fluidsynth", "-ni", "-q", "-g", "1.0", "-r", "44100", "-F", str(wav), soundfont, str(mid)],
                       check=True, capture_output=True)
        audio, sr = sf.read(wav, dtype="float32")
    sf.write(ws / name, 0.9 * audio / np.max(np.abs(audio)), sr)


# song.wav: 8 bars in A minor at 100 BPM, piano chords and bass, drums (kick, snare, hats).
tempo = 100.0
beat = 60.0 / tempo
song = pretty_midi.PrettyMIDI(initial_tempo=tempo)
piano, bass = pretty_midi.Instrument(program=0), pretty_midi.Instrument(program=33)
drums = pretty_midi.Instrument(program=0, is_drum=True)
chords = [(57, 60, 64), (53, 57, 60), (48, 52, 55), (52, 56, 59)] * 2          # Am F C E
for bar, chord in enumerate(chords):
    t = bar * 4 * beat
    for k in range(4):
        for p in chord:
            piano.notes.append(pretty_midi.Note(80, p, t + k * beat, t + (k + 0.9) * beat))
    bass.notes.append(pretty_midi.Note(90, chord[0] - 24, t, t + 3.9 * beat))
    for k in range(8):
        drums.notes.append(pretty_midi.Note(70, 42, t + k * beat / 2, t + k * beat / 2 + 0.05))
    for k in (0, 2):
        drums.notes.append(pretty_midi.Note(110, 36, t + k * beat, t + k * beat + 0.1))
    for k in (1, 3):
        drums.notes.append(pretty_midi.Note(100, 38, t + k * beat, t + k * beat + 0.1))
song.instruments += [piano, bass, drums]
render(song, "song.wav")

# melody.wav: the first phrase of "Ode to Joy" on piano at 110 BPM.
ode = [64, 64, 65, 67, 67, 65, 64, 62, 60, 60, 62, 64, 64, 62, 62]
mel = pretty_midi.PrettyMIDI(initial_tempo=110.0)
lead = pretty_midi.Instrument(program=0)
t = 0.0
for i, p in enumerate(ode):
    d = 60 / 110 * (1.5 if i == 12 else 0.5 if i == 13 else 2 if i == 14 else 1)
    lead.notes.append(pretty_midi.Note(90, p, t, t + 0.95 * d))
    t += d
mel.instruments.append(lead)
render(mel, "melody.wav")

# cat.png: scikit-image's photo of Chelsea the cat (shipped in the package), else a drawn landscape.
from PIL import Image

try:
    from skimage import data

    picture = data.chelsea()
except ImportError:
    y = np.linspace(0, 1, 240)[:, None, None]
    picture = np.where(y < 0.5, [110, 170, 230], np.where(y < 0.75, [20, 80, 160], [220, 200, 150]))
    picture = np.broadcast_to(picture, (240, 320, 3)).astype(np.uint8)
Image.fromarray(np.asarray(picture, np.uint8)).save(ws / "cat.png")
PYEOF
say_line "# workspace: $WS"
say_line "# inputs: memo.wav, noisy-memo.wav, dropout.wav, spanish.wav (espeak-ng); song.wav, melody.wav (fluidsynth); cat.png"

# -- one turn --------------------------------------------------------------------------------------------
FIRST=1
LAST_JSON="$WS/.last-turn.jsonl"
TURNS_DONE=0
turn() {   # turn EXPECTED_TOOL "request"
  local expect="$1" text="$2"
  if [ -n "${DEMO_TURNS:-}" ] && [ "$TURNS_DONE" -ge "$DEMO_TURNS" ]; then return 0; fi
  TURNS_DONE=$((TURNS_DONE + 1))
  local flags=(--workspace "$WS" --no-speak --json)
  if [ "$FIRST" = 1 ]; then flags+=(--new-session); FIRST=0; fi
  if [ -n "${EARSHOT_LLM:-}" ]; then flags+=(--llm "$EARSHOT_LLM"); fi
  say_line ""
  say_line "you> $text"
  local t0 rc=0
  t0=$(date +%s%N)
  "$PY" -m assistant ask "$text" "${flags[@]}" > "$LAST_JSON" 2>> "$WS/.demo-stderr.txt" || rc=$?
  "$PY" - "$LAST_JSON" "$expect" "$text" "$rc" "$(( ($(date +%s%N) - t0) / 1000000 ))" "$RESULTS" <<'PYEOF' | tee -a "$LOG"
import json, sys
path, expect, text, rc, ms, results = sys.argv[1:7]
secs = round(int(ms) / 1000, 1)
plan, ran, reply, error, artifacts = [], [], "", None, []
plan_s, prompt_tokens, evaluated = None, None, None
for line in open(path, encoding="utf-8"):
    try:
        e = json.loads(line)
    except ValueError:
        continue
    t = e.get("type")
    if t == "plan_ready":
        plan = [s["tool"] for s in e.get("steps", [])]
        plan_s = round(e.get("plan_ms", 0.0) / 1000, 2)
        prompt_tokens, evaluated = e.get("prompt_tokens"), e.get("evaluated_prompt_tokens")
        if e.get("steps"):
            print("  plan: " + " → ".join(f"{s['tool']} {json.dumps(s['args'])}" for s in e["steps"]))
    elif t == "tool_finished":
        ran.append((e["tool"], e["status"]))
        artifacts += [a["path"] for a in e.get("artifacts", [])]
    elif t == "reply":
        reply = e["text"]
        print("earshot> " + reply.replace("\n", "\n         "))
    elif t in ("error", "plan_rejected"):
        error = e.get("message") or e.get("error")
        print(f"  {t}: {error}")
if int(rc) != 0 or any(s != "ok" for _, s in ran):
    status = "failed"
elif expect not in [tool for tool, _ in ran]:
    status = "misrouted"
else:
    status = "ok"
tokens = f", {evaluated} of {prompt_tokens} prompt tokens evaluated" if evaluated is not None else ""
print(f"  [{status}: wanted {expect}, ran {', '.join(t for t, _ in ran) or 'nothing'}; exit {rc}; "
      f"plan {plan_s} s{tokens}; turn {secs} s]")
with open(results, "a", encoding="utf-8") as fh:
    fh.write(json.dumps({"expect": expect, "request": text, "status": status, "plan": plan,
                         "ran": [t for t, _ in ran], "exit": int(rc), "seconds": secs, "plan_s": plan_s,
                         "prompt_tokens": prompt_tokens, "evaluated_prompt_tokens": evaluated,
                         "error": error, "artifacts": artifacts}) + "\n")
PYEOF
}

# the name of the newest file in the workspace matching a glob (for a turn that names an earlier output)
newest() { { ls -t "$WS"/$1 2>/dev/null || true; } | head -1 | xargs -r basename; }  # none: ""

# -- the conversation: the audio tools --------------------------------------------------------------------
turn describe        "how loud is memo.wav?"
turn transcribe      "transcribe memo.wav with word timestamps"
turn denoise         "remove the background noise from noisy-memo.wav"
turn detect          "when does someone speak in memo.wav?"
turn pitch           "track the pitch of the voice in memo.wav"
turn convert_voice   "make my voice deeper in memo.wav"
turn effects         'apply the effect chain "highpass 100, reverb 0.4, limiter -1" to memo.wav'
turn binaural        "make memo.wav come from my left on headphones (azimuth -90 degrees)"
turn inpaint         "fill the dropout in dropout.wav from 1.0 to 1.15 s"
turn translate_speech "what does the Spanish recording spanish.wav say in English?"
turn edit            "trim song.wav to the first 10 seconds"
turn tag             "what key and tempo is song.wav in?"
turn caption         "caption song.wav"
turn separate        "split the drums from the rest of song.wav"
turn extract         "cut out the loudest bar of song.wav"
turn to_midi         "convert melody.wav to MIDI"
turn compose         "compose a calm piano loop in D minor, 80 BPM, 4 bars"
turn sing            'sing "twin-kle twin-kle lit-tle star" to C4:1 C4:1 G4:1 G4:1 A4:1 A4:1 G4:2'
turn generate_sound  "make 5 seconds of rain and thunder"
turn image_to_audio  "make a sound for cat.png"
turn speak           "say the demo is almost finished and save it"

# -- the studio project tools ------------------------------------------------------------------------------
turn project_tempo   "set the project tempo to 100 bpm"
turn clip            "put song.wav on a new track called band"
turn track           "add a track called voice"
turn track_effect    "add reverb to the band track"
turn vibe            "make it sound warmer"
turn project_undo    "undo that"
turn describe_project "what's in the project?"
turn render_project  "render the song"
turn render_project  "save the project as a dawproject"
DAW="$(newest '*.dawproject')"
if [ -n "$DAW" ]; then
  turn open_project  "open $DAW"
else
  say_line "# no .dawproject was written: open_project is not tried"
fi

# -- the summary ---------------------------------------------------------------------------------------------
"$PY" -m assistant tools --json > "$WS/.tools.json"
"$PY" - "$RESULTS" "$WS/.tools.json" "$WS" "${DEMO_TURNS:-}" <<'PYEOF' | tee -a "$LOG"
import json, sys
from pathlib import Path
rows = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8")]
tools = [t["name"] for t in json.load(open(sys.argv[2], encoding="utf-8"))]
ws = Path(sys.argv[3])
limited = bool(sys.argv[4])
ran_ok = {t for r in rows if r["status"] == "ok" for t in r["ran"]}
untouched = [] if limited else [t for t in tools if t not in ran_ok]
plan_times = [r["plan_s"] for r in rows]
bad = [r for r in rows if r["status"] != "ok"]
report = {"workspace": str(ws), "turns": len(rows), "ok": len(rows) - len(bad),
          "failed": [r for r in bad if r["status"] == "failed"],
          "misrouted": [r for r in bad if r["status"] == "misrouted"],
          "tools": len(tools), "untouched_tools": untouched,
          "seconds": round(sum(r["seconds"] for r in rows), 1), "plan_times_s": plan_times,
          "artifacts": [a for r in rows for a in r["artifacts"]], "turn_results": rows}
(ws / "demo-report.json").write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
print()
print(f"# {report['ok']}/{len(rows)} turns ok in {report['seconds']} s; "
      + (f"{len(tools) - len(untouched)}/{len(tools)} tools ran successfully" if not limited
         else f"stopped after {len(rows)} turns (DEMO_TURNS)"))
print("# plan time per turn (LLM call; prompt tokens evaluated / in the prompt; whole turn):")
for i, r in enumerate(rows, 1):
    tokens = (f"{r['evaluated_prompt_tokens']:>5} / {r['prompt_tokens']:>5} tokens"
              if r.get("evaluated_prompt_tokens") is not None else "")
    plan_s = f"{r['plan_s']:6.2f} s" if r["plan_s"] is not None else "     - "
    print(f"#   turn {i:2d}  plan {plan_s}  {tokens:>22}  turn {r['seconds']:6.1f} s  {r['expect']}")
if len(plan_times) >= 10 and plan_times[0] and plan_times[9] is not None:
    print(f"# turn 10's plan / turn 1's: {plan_times[9] / plan_times[0]:.2f}x")
for r in bad:
    print(f"# {r['status'].upper()}: {r['request']!r} wanted {r['expect']}, planned {r['plan']}, ran {r['ran']}"
          + (f" ({r['error']})" if r["error"] else ""))
if untouched:
    print(f"# tools not touched: {', '.join(untouched)}")
print(f"# {len(report['artifacts'])} artifacts in {ws}:")
for a in report["artifacts"]:
    print(f"#   {Path(a).name}")
print(f"# transcript: {ws / 'demo-transcript.txt'}; report: {ws / 'demo-report.json'}")
sys.exit(1 if bad or untouched else 0)
PYEOF
