"""The hardware edge: the only module that touches sounddevice.

Everything else takes frames or files; this module turns them into sound (and, for the voice
loop, microphone frames into arrays). Errors name the device and what to do.
"""
from __future__ import annotations

import threading

import numpy as np

from ..errors import EarshotError


def _sd():
    try:
        import sounddevice as sd
    except OSError as exc:   # PortAudio library missing
        raise EarshotError(f"audio output is unavailable: {exc}",
                           "install PortAudio (Debian: apt-get install libportaudio2), or use --no-speak") from exc
    return sd


def list_devices() -> list[dict]:
    """Every input/output device PortAudio sees, for `earshot doctor`."""
    try:
        sd = _sd()
        return [dict(d, index=i) for i, d in enumerate(sd.query_devices())]
    except Exception:
        return []


def resolve_output_device(device: str | int | None):
    """A device by index or by (part of its) name; None is the default output."""
    sd = _sd()
    if device is None:
        try:
            info = sd.query_devices(kind="output")
        except Exception as exc:
            raise EarshotError("there is no audio output device", "connect one, or use --no-speak") from exc
        return info["index"] if "index" in info else None
    if isinstance(device, int) or str(device).isdigit():
        return int(device)
    matches = [i for i, d in enumerate(sd.query_devices())
               if str(device).lower() in d["name"].lower() and d["max_output_channels"] > 0]
    if not matches:
        raise EarshotError(f"no output device matches {device!r}", "`earshot doctor` lists the devices")
    return matches[0]


class Player:
    """Plays arrays one after another on an output stream; `stop()` cuts playback at once (barge-in)."""

    def __init__(self, device: str | int | None = None) -> None:
        self.device = device
        self._stopped = threading.Event()

    def play(self, audio: np.ndarray, sample_rate_hz: int) -> bool:
        """Block until played or stopped. Returns False when stopped early."""
        sd = _sd()
        device = resolve_output_device(self.device)
        if self._stopped.is_set():
            return False
        done = threading.Event()
        position = 0
        data = np.ascontiguousarray(audio, dtype=np.float32).reshape(-1, 1)

        def callback(outdata, frames, _time, _status):
            nonlocal position
            if self._stopped.is_set():
                outdata.fill(0)
                raise sd.CallbackStop
            chunk = data[position:position + frames]
            outdata[: len(chunk)] = chunk
            outdata[len(chunk):] = 0
            position += len(chunk)
            if position >= len(data):
                raise sd.CallbackStop

        try:
            with sd.OutputStream(samplerate=sample_rate_hz, channels=1, dtype="float32", device=device,
                                 callback=callback, finished_callback=done.set):
                while not done.wait(0.02):
                    if self._stopped.is_set():
                        break
        except sd.PortAudioError as exc:
            raise EarshotError(f"cannot play on the audio device: {exc}",
                               "check the device is free and supports the rate, or use --no-speak") from exc
        return not self._stopped.is_set()

    def stop(self) -> None:
        self._stopped.set()

    def reset(self) -> None:
        self._stopped.clear()
