#!/usr/bin/env bash
# A scripted studio-project session through `earshot ask` (typed turns; issue 7).
#
# It makes its own audio (sox for a kick loop and a chord pad, espeak-ng for a spoken line, and
# Earshot's own `speak` tool for the vocal), builds a small song on three tracks, makes it
# "more relaxed", undoes one of the changes that made, renders the mix and exports a .dawproject
# that it validates against the DAWproject 1.0 schemas. Every turn is printed as a transcript.
#
#   scripts/project_session.sh [WORKSPACE]      (default: a new temporary folder)
#
# Later, for the spoken must-show, replace `turn "…"` with utterances through `earshot listen`.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PY="${PYTHON:-}"
if [ -z "$PY" ]; then
  for candidate in "$ROOT/.venv/bin/python" /work/main/.venv/bin/python "$(command -v python3)"; do
    if [ -x "$candidate" ]; then PY="$candidate"; break; fi
  done
fi
export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"
export ORT_DISABLE_TELEMETRY=1
WS="${1:-$(mktemp -d -t earshot-song-XXXXXX)}"
mkdir -p "$WS"
WS="$(cd "$WS" && pwd)"
LOG="$WS/session-transcript.txt"
: > "$LOG"
for tool in sox espeak-ng; do
  command -v "$tool" >/dev/null || { echo "project_session.sh: needs $tool (apt-get install $tool)" >&2; exit 2; }
done

say_line() { printf '%s\n' "$*" | tee -a "$LOG"; }

# -- the raw material ---------------------------------------------------------------------------------
# A kick on every beat at 100 BPM (0.6 s per beat), 2 bars; a three-note pad; a spoken count-in.
sox -q -n -r 44100 -c 1 "$WS/kick-loop.wav" synth 0.15 sine 120-45 fade 0 0.15 0.12 pad 0 0.45 repeat 7 gain -3
sox -q -n -r 44100 -c 1 "$WS/pad.wav" synth 4.8 sine 220 sine 277.18 sine 329.63 remix - fade 0.4 4.8 1.2 gain -9
espeak-ng -v en-us -s 140 -w "$WS/count-in.wav" "one, two, three, four"
say_line "# workspace: $WS"
say_line "# made with sox/espeak-ng: kick-loop.wav (100 BPM, 2 bars), pad.wav, count-in.wav"

FIRST=1
LAST_JSON="$WS/.last-turn.json"
turn() {
  local text="$1"
  local flags=(--workspace "$WS" --no-speak --json)
  if [ "$FIRST" = 1 ]; then flags+=(--new-session); FIRST=0; fi
  say_line ""
  say_line "you> $text"
  set +e
  "$PY" -m assistant ask "$text" "${flags[@]}" > "$LAST_JSON"
  local rc=$?
  set -e
  "$PY" - "$LAST_JSON" <<'PYEOF' | tee -a "$LOG"
import json, sys
for line in open(sys.argv[1], encoding="utf-8"):
    try:
        e = json.loads(line)
    except ValueError:
        continue
    t = e.get("type")
    if t == "plan_ready" and e.get("steps"):
        print("  plan: " + " → ".join(f"{s['tool']} {json.dumps(s['args'])}" for s in e["steps"]))
    elif t == "reply":
        print("earshot> " + e["text"].replace("\n", "\n         "))
PYEOF
  if [ $rc -ne 0 ]; then say_line "  (exit $rc)"; fi
  return 0
}

# the change number of the first change whose label starts with $1, from the last turn's JSON events
change_number() {
  "$PY" - "$LAST_JSON" "$1" <<'PYEOF'
import json, sys
for line in open(sys.argv[1], encoding="utf-8"):
    try:
        e = json.loads(line)
    except ValueError:
        continue
    for c in (e.get("data") or {}).get("changes", []):
        if c["label"].startswith(sys.argv[2]):
            print(c["seq"]); sys.exit(0)
sys.exit(1)
PYEOF
}

# -- the session ----------------------------------------------------------------------------------------
turn "set the project tempo to 100 bpm"
turn "put kick-loop.wav on a new track called drums"
turn "loop the drums clip for 8 bars"
turn "put pad.wav on a new track called pad at bar 3"
turn "say the rain keeps falling on the roof tonight"
turn "put it on a new track called vocal at bar 5"
turn "add reverb to the vocal"
turn "put count-in.wav on the vocal track at bar 1"
turn "what's in the project?"
turn "make it sound more relaxed"
if N=$(change_number "master: added reverb"); then
  turn "undo change $N"
else
  say_line "# (the relaxed turn made no reverb change to undo; undoing its last change instead)"
  turn "undo that"
fi
turn "render the song"
turn "export the project as a dawproject file"

# -- check the export -----------------------------------------------------------------------------------
EXPORT="$(ls -t "$WS"/*.dawproject 2>/dev/null | head -1 || true)"
if [ -z "$EXPORT" ]; then
  say_line "# no .dawproject was written"; exit 1
fi
"$PY" - "$EXPORT" <<'PYEOF' | tee -a "$LOG"
import io, sys, zipfile
from importlib import resources
import xmlschema
path = sys.argv[1]
z = zipfile.ZipFile(path)
root = resources.files("assistant.project").joinpath("schemas")
xmlschema.XMLSchema(str(root.joinpath("Project.xsd"))).validate(z.read("project.xml").decode())
xmlschema.XMLSchema(str(root.joinpath("MetaData.xsd"))).validate(z.read("metadata.xml").decode())
print(f"# {path}: valid DAWproject 1.0 ({', '.join(z.namelist())})")
PYEOF
say_line "# transcript: $LOG"
