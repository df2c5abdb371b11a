"""How `earshot bench plan` scores a plan against its label."""

from types import SimpleNamespace as NS

from assistant.bench.plan_bench import score


def plan(*steps, say=None):
    return NS(steps=tuple(NS(tool=t, args=a) for t, a in steps), say=say)


def test_right_tools_and_values_pass_and_a_wrong_value_is_named():
    item = {"request": "x", "tools": ["edit"], "expect": {"1.gain_db": [3]}}
    assert score(item, plan(("edit", {"op": "gain", "file": "a.wav", "gain_db": 3.0}))) == (True, "")
    ok, why = score(item, plan(("edit", {"op": "gain", "file": "a.wav", "gain_db": -3.0})))
    assert not ok and "gain_db=-3.0" in why


def test_an_argument_left_out_is_scored_at_the_tools_default():
    item = {"request": "x", "tools": ["speak"], "expect": {"1.voice": ["heart"]}}
    assert score(item, plan(("speak", {"text": "hi"})))[0]
    item = {"request": "x", "tools": ["generate_sound"], "expect": {"1.duration_s": [20]}}
    assert not score(item, plan(("generate_sound", {"layers": ["wind"]})))[0]  # the default is 10 s


def test_also_ok_accepts_the_other_tools_and_checks_only_the_steps_it_has():
    item = {
        "request": "x",
        "tools": ["compose", "tag"],
        "expect": {"1.tempo_bpm": [120], "2.file": ["$1"]},
        "also_ok": [["compose"]],
    }
    assert score(item, plan(("compose", {"description": "pop", "tempo_bpm": 120})))[0]
    assert not score(item, plan(("sing", {"notes": "C4:1"})))[0]


def test_chat_needs_a_reply_and_no_steps():
    item = {"request": "thanks", "tools": []}
    assert score(item, plan(say="You're welcome."))[0]
    assert score(item, plan(say=None)) == (False, "chat without a reply")
    assert score(item, None) == (False, "no valid plan")
