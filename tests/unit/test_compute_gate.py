"""compute_gate.py: background LLM work waits while foreground (speech) work runs, and never forever."""

import threading
import time

from assistant.runtime.compute_gate import ForegroundGate


def test_background_work_waits_for_the_foreground_block_to_end():
    gate = ForegroundGate()
    order = []
    inside = threading.Event()

    def speech():
        with gate.foreground():
            inside.set()
            time.sleep(0.3)
            order.append("asr done")

    t = threading.Thread(target=speech)
    t.start()
    inside.wait()
    gate.wait_turn(timeout_s=10)
    order.append("llm step")
    t.join()
    assert order == ["asr done", "llm step"]
    assert not gate.busy


def test_a_stuck_foreground_holder_only_delays_background_work_by_the_timeout():
    gate = ForegroundGate()
    with gate.foreground():
        done = threading.Event()
        threading.Thread(target=lambda: (gate.wait_turn(timeout_s=0.05), done.set())).start()
        assert done.wait(5)
        assert gate.busy
    assert not gate.busy
