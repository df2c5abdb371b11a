"""Audio in and out: files (files.py) and devices (io.py, the only module that touches sounddevice)."""
