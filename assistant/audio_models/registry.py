"""The tool registry: every tool module, its Args type, SPEC and run function.

Adding a tool is adding its module name to TOOL_MODULES; the planner's schema, grammar, prompt and
`earshot tools` all follow from the registry.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

from .base import ToolContext, ToolResult, ToolSpec

# Order matters a little: it is the order of the tool list in the planner prompt.
TOOL_MODULES: tuple[str, ...] = (
    "transcribe",
    "speak",
    "denoise",
    "describe",
    "edit",
    # analysis and music (issue 6)
    "separate",
    "extract",
    "detect",
    "tag",
    "to_midi",
    "caption",
    "compose",
    "sing",
    "generate_sound",
    "effects",
    "inpaint",
    "binaural",
    "convert_voice",
    "translate_speech",
    "pitch",
    "image_to_audio",
    # the studio project (issue 7): tracks, clips, chains, feel, tempo, undo, state, render/export, open
    "track",
    "clip",
    "track_effect",
    "vibe",
    "project_tempo",
    "project_undo",
    "describe_project",
    "render_project",
    "open_project",
    # the sample library (issue 17): search it, apply a tool to many files
    "find",
    "batch",
)


@dataclass(frozen=True)
class Tool:
    spec: ToolSpec
    args_type: type
    run: Callable[[Any, ToolContext], ToolResult]

    @property
    def name(self) -> str:
        return self.spec.name


class Registry:
    def __init__(self, tools: list[Tool]) -> None:
        self.tools = {t.name: t for t in tools}

    def __contains__(self, name: str) -> bool:
        return name in self.tools

    def __iter__(self):
        return iter(self.tools.values())

    def __len__(self) -> int:
        return len(self.tools)

    def get(self, name: str) -> Tool:
        return self.tools[name]

    def names(self) -> list[str]:
        return list(self.tools)


def load_tool(module_name: str) -> Tool:
    module = importlib.import_module(f"{__package__}.{module_name}")
    spec = module.SPEC
    if spec.name != module_name:
        raise RuntimeError(f"tool module {module_name} declares SPEC.name={spec.name!r}; they must match")
    return Tool(spec=spec, args_type=module.Args, run=module.run)


@cache
def default_registry() -> Registry:
    return Registry([load_tool(name) for name in TOOL_MODULES])
