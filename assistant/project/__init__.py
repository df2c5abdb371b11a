"""The studio project: tracks, clips and effect chains edited by voice, opened in any DAW.

model.py      the state (plain JSON) and the operations that change it
patch.py      exact, invertible diffs of the state
store.py      the operation log in the session database; undo, redo, revert one change
refs.py       "the drums", "the second vocal clip", "track 2" → ids
effects.py    the effects a chain can hold (pedalboard) and their named parameters
vibes.py      "more relaxed", "warmer", "like a phone call" → concrete changes
describe.py   the project as compact text (planner context, replies)
mixdown.py    rendering: clips to the sample, chains, master limiter; stems
dawproject.py DAWproject 1.0 export/import; midi.py standard MIDI files
"""

from .store import Change, Project, open_project

__all__ = ["Change", "Project", "open_project"]
