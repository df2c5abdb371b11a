"""The planner side: llama.cpp client, registry → schema/grammar, prompts, text → plan."""
