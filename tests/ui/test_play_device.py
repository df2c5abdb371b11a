"""Playing an artifact to a real output device: a PulseAudio null sink, recorded at its monitor.

The test starts its own PulseAudio server (recipe in RECIPES.md), presses `p` on a 440 Hz tone in
the file list, records what reached the speaker, and measures it: the dominant frequency of the
recording must be the tone's, and its level must be well above silence. Skipped with the reason
where PulseAudio is not installed.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time

import numpy as np
import pytest

from assistant.ui.app import EarshotApp
from tests.conftest import add_input
from tests.ui.conftest import tone, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.anyio]


@pytest.fixture
def pulse_server(tmp_path, monkeypatch):
    if not (shutil.which("pulseaudio") and shutil.which("parec")):
        pytest.skip("PulseAudio is not installed (Debian: pulseaudio pulseaudio-utils libasound2-plugins)")
    runtime = tmp_path / "pulse"
    runtime.mkdir()
    (runtime / "pa.pa").write_text(
        "load-module module-native-protocol-unix auth-anonymous=1\n"
        "load-module module-null-sink sink_name=spk\nset-default-sink spk\n"
    )
    env = dict(os.environ, PULSE_RUNTIME_PATH=str(runtime), PULSE_SERVER=f"unix:{runtime}/native")
    daemon = subprocess.Popen(
        [
            "pulseaudio",
            "--daemonize=no",
            "--exit-idle-time=-1",
            "-n",
            "-F",
            str(runtime / "pa.pa"),
            "--log-target=stderr",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 20
    while not (runtime / "native").exists():
        if time.monotonic() > deadline or daemon.poll() is not None:
            daemon.kill()
            pytest.fail("PulseAudio did not start")
        time.sleep(0.1)
    for key in ("PULSE_RUNTIME_PATH", "PULSE_SERVER"):
        monkeypatch.setenv(key, env[key])
    import sounddevice as sd

    sd._terminate()  # PortAudio lists devices once per initialisation: look again, now with pulse
    sd._initialize()
    yield env
    daemon.send_signal(signal.SIGTERM)
    daemon.wait(timeout=10)
    monkeypatch.undo()
    sd._terminate()
    sd._initialize()


async def test_play_reaches_the_output_device(config, session, pulse_server, tmp_path):
    rate = 16000
    add_input(
        session, src=tone(session.workspace / "a440.wav", seconds=2.0, rate_hz=rate, freq_hz=440.0), name="a440.wav"
    )
    config.speech.output_device = "pulse"
    recording = tmp_path / "monitor.raw"
    with open(recording, "wb") as out:
        rec = subprocess.Popen(
            ["parec", "-d", "spk.monitor", "--raw", "--format=float32le", f"--rate={rate}", "--channels=1"],
            stdout=out,
            env=pulse_server,
        )
        try:
            app = EarshotApp(config, session, llm_name="smollm2-135m", speak=False, autoload=False)
            async with app.run_test(size=(80, 24)) as pilot:
                await pilot.press("f3", "p")
                await wait_for(pilot, lambda: app.player.playing is not None, 10)
                await wait_for(pilot, lambda: app.player.playing is None, 60)
                errors = [str(n.render()) for n in app.query(".notice.error")]
                assert not errors, errors
            time.sleep(0.3)
        finally:
            rec.terminate()
            rec.wait(timeout=10)
    heard = np.frombuffer(recording.read_bytes(), dtype=np.float32)
    assert heard.size > rate, "the monitor recorded less than a second"
    spectrum = np.abs(np.fft.rfft(heard * np.hanning(heard.size)))
    peak_hz = np.fft.rfftfreq(heard.size, 1 / rate)[int(np.argmax(spectrum))]
    assert abs(peak_hz - 440.0) < 5.0, peak_hz
    rms_db = 20 * np.log10(np.sqrt(np.mean(heard**2)) + 1e-12)
    print(f"monitor: {heard.size / rate:.1f} s recorded, peak at {peak_hz:.1f} Hz, {rms_db:.1f} dBFS RMS")
    assert rms_db > -30.0, rms_db  # the tone (peak 0.5) is there, not a near-silent stream
