"""The voice loop and its parts: loop.py (the frame pump and dispatch), speculation.py (working ahead of
the endpoint), barge_in.py (speech over the reply), gates.py (what a transcript is: pure decisions),
speaker.py (the one way Earshot speaks), pump.py (frames from a microphone, a file, or nothing)."""
