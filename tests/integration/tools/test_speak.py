"""speak: the hibari voice says what it was asked (checked by Whisper), at the asked speed."""

import pytest
import soundfile as sf

from tests.conftest import require_models, word_error_rate

pytestmark = pytest.mark.integration


def test_speech_says_the_text(run_tool):
    require_models("hibari-heart", "whisper-tiny.en")
    text = "The bass is too loud in the second chorus."
    out = run_tool("speak", text=text).artifacts[0]
    result = run_tool("transcribe", file=f"@a{out.num}", language="en")
    assert word_error_rate(text, result.data["text"]) <= 0.1, result.data["text"]


def test_speed_shortens_the_recording(run_tool):
    require_models("hibari-heart")
    text = "Bounce the stems and send them over tonight."
    slow = run_tool("speak", text=text, speed=0.8).artifacts[0]
    fast = run_tool("speak", text=text, speed=1.6).artifacts[0]
    ratio = sf.info(str(fast.path)).duration / sf.info(str(slow.path)).duration
    assert 0.35 < ratio < 0.75, ratio


def test_unknown_voice_is_refused_by_validation(run_tool):
    from assistant.errors import PlanInvalid

    with pytest.raises(PlanInvalid, match="voice"):
        run_tool("speak", text="hello", voice="bella")
