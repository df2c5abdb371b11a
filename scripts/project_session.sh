#!/usr/bin/env bash
# A scripted studio-project session (issue 7), spoken by default, typed with --typed.
#
# Spoken: each request is said by espeak-ng into a WAV and heard through `earshot listen --input`
# (VAD, endpointing, Whisper, the planner, the tools, the spoken reply written to a WAV), one utterance
# per turn, all in the same session. Typed: the same requests through `earshot ask`.
#
# The song: a piano loop from `compose`, rain from `generate_sound` and a recorded vocal (vocal.wav,
# made here with espeak-ng, standing in for a take you recorded), each on its own track; an echo on
# the vocal; "more relaxed"; one of the changes that made undone by its number; a mixdown; a
# .dawproject export, validated here against the DAWproject 1.0 schemas. Every turn is printed as a
# transcript (what was said, what Whisper heard, the plan, the reply) and kept in the workspace.
#
#   scripts/project_session.sh [--typed] [WORKSPACE]      (default: a new temporary folder)
#
# Needs espeak-ng. The requests are phrased so that Whisper tiny.en hears espeak-ng's voice right
# ("Place …" not "Put …", "echo" not "reverb", "entire" not "whole", "Please undo change number …");
# the planner is the configured one (Qwen2.5-Coder-1.5B), which takes "the song" or "the mix" for the
# first track but "the entire mix" for the master.
set -euo pipefail

MODE=spoken
if [ "${1:-}" = "--typed" ]; then MODE=typed; shift; fi
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PY="${PYTHON:-}"
if [ -z "$PY" ]; then
  for candidate in "$ROOT/.venv/bin/python" /work/main/.venv/bin/python "$(command -v python3)"; do
    if [ -x "$candidate" ]; then PY="$candidate"; break; fi
  done
fi
export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"
export ORT_DISABLE_TELEMETRY=1 HF_HUB_OFFLINE=1
WS="${1:-$(mktemp -d -t earshot-song-XXXXXX)}"
mkdir -p "$WS/utterances" "$WS/replies"
WS="$(cd "$WS" && pwd)"
LOG="$WS/session-transcript.txt"
: > "$LOG"
command -v espeak-ng >/dev/null || { echo "project_session.sh: needs espeak-ng (apt-get install espeak-ng)" >&2; exit 2; }
VOICE="${EARSHOT_SESSION_VOICE:-en+f3}"   # the espeak-ng voice Whisper tiny.en hears best here

say_line() { printf '%s\n' "$*" | tee -a "$LOG"; }

# -- the recorded vocal ---------------------------------------------------------------------------------
espeak-ng -v en-us+m3 -s 115 -p 55 -w "$WS/vocal.wav" "the rain keeps falling on the roof tonight, and I am listening"
say_line "# workspace: $WS ($MODE session)"
say_line "# vocal.wav: the recorded vocal (espeak-ng, 4 s)"

N=0
LAST_JSON="$WS/.last-turn.json"
turn() {
  local text="$1" tag flags=(--workspace "$WS" --json) rc
  N=$((N + 1)); tag="$(printf '%02d' "$N")"
  if [ "$N" = 1 ]; then flags+=(--new-session); fi
  say_line ""
  set +e
  if [ "$MODE" = spoken ]; then
    say_line "you (spoken, utterances/$tag.wav)> $text"
    espeak-ng -v "$VOICE" -s 130 -g 4 -w "$WS/utterances/$tag.wav" "$text"
    "$PY" -m assistant listen --input "$WS/utterances/$tag.wav" --output "$WS/replies/$tag.wav" "${flags[@]}" \
      > "$LAST_JSON" 2> "$WS/.last-turn.err"
  else
    say_line "you (typed)> $text"
    "$PY" -m assistant ask "$text" --no-speak "${flags[@]}" > "$LAST_JSON" 2> "$WS/.last-turn.err"
  fi
  rc=$?
  set -e
  "$PY" - "$LAST_JSON" "$WS/replies/$tag.wav" <<'PYEOF' | tee -a "$LOG"
import json, os, sys
for line in open(sys.argv[1], encoding="utf-8"):
    try:
        e = json.loads(line)
    except ValueError:
        continue
    t = e.get("type")
    if t == "transcript":
        print(f"  heard: {e['text']!r}")
    elif t == "plan_ready" and e.get("steps"):
        print("  plan: " + " → ".join(f"{s['tool']} {json.dumps(s['args'])}" for s in e["steps"]))
    elif t == "plan_rejected":
        print(f"  plan rejected: {e.get('error')}")
    elif t == "tool_finished" and e["status"] != "ok":
        print(f"  ✗ {e['tool']}: {e.get('error')}")
    elif t == "reply":
        print("earshot> " + e["text"].replace("\n", "\n         "))
    elif t == "error":
        print(f"  error: {e['message']}" + (f" — {e['hint']}" if e.get("hint") else ""))
if os.path.exists(sys.argv[2]):
    import soundfile as sf
    info = sf.info(sys.argv[2])
    print(f"  (spoken reply: replies/{os.path.basename(sys.argv[2])}, {info.frames / info.samplerate:.1f} s)")
PYEOF
  if [ "$rc" -ne 0 ]; then say_line "  (exit $rc)"; fi
  return 0
}

# the number of the first change whose label contains $1, from the last turn's JSON events
change_number() {
  "$PY" - "$LAST_JSON" "$1" <<'PYEOF'
import json, sys
for line in open(sys.argv[1], encoding="utf-8"):
    try:
        e = json.loads(line)
    except ValueError:
        continue
    for c in (e.get("data") or {}).get("changes", []):
        if sys.argv[2] in c["label"]:
            print(c["seq"]); sys.exit(0)
sys.exit(1)
PYEOF
}

# -- the session ----------------------------------------------------------------------------------------
turn "Compose a slow piano tune at 100 BPM."
turn "Place the piano tune on a new track called keys."
turn "Make ten seconds of gentle rain."
turn "Place the rain on a new track called rain."
turn "Place the vocal recording on a new track called vocal at bar two."
turn "Give the vocal track some echo."
turn "Make the entire mix sound more relaxed."
if N_SHELF=$(change_number "added high shelf"); then
  turn "Please undo change number $N_SHELF."
else
  say_line "# (the relaxed turn made no high-shelf change; undoing the whole request instead)"
  turn "Please undo that."
fi
turn "Mix down the song."
turn "Export the project file."

# -- the project as it stands (read from the session database; not a turn) ---------------------------
"$PY" - "$WS" <<'PYEOF' | tee -a "$LOG"
import sys
from pathlib import Path
from assistant.config import load_config
from assistant.project import Project
from assistant.project.describe import describe
from assistant.store.session import SessionStore
session = SessionStore(load_config().paths.database_path).latest_session(Path(sys.argv[1]))
project = Project(session)
changes = [f"#{r['seq']} {r['label']}" for r in project.log(3) if r["kind"] != "init"]
print("\n# the project now:\n" + "\n".join("#   " + line for line in describe(project.state(), 3, changes).splitlines()))
PYEOF

# -- check the export -----------------------------------------------------------------------------------
EXPORT="$(ls -t "$WS"/*.dawproject 2>/dev/null | head -1 || true)"
if [ -z "$EXPORT" ]; then
  say_line "# no .dawproject was written"; exit 1
fi
"$PY" - "$EXPORT" <<'PYEOF' | tee -a "$LOG"
import sys, zipfile
from importlib import resources
import xmlschema
path = sys.argv[1]
z = zipfile.ZipFile(path)
root = resources.files("assistant.project").joinpath("schemas")
xmlschema.XMLSchema(str(root.joinpath("Project.xsd"))).validate(z.read("project.xml").decode())
xmlschema.XMLSchema(str(root.joinpath("MetaData.xsd"))).validate(z.read("metadata.xml").decode())
print(f"# {path.rsplit('/', 1)[-1]}: valid DAWproject 1.0 ({', '.join(z.namelist())})")
PYEOF
say_line "# transcript: $LOG"
