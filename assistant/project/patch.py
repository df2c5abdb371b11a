"""Exact, invertible changes to a JSON state: the unit the project's operation log stores.

A patch is a list of entries `{"p": path, "o": old, "n": new}`; a missing "o" means the key did
not exist before (it was added), a missing "n" means it was removed. Dicts are compared key by key,
everything else (numbers, strings, lists) is replaced whole. Because each entry carries both sides,
a patch applies forward (do/redo) and backward (undo) with a check that the state really holds the
side it starts from — a mismatch is a bug or a conflict, never silently overwritten.

Equality is strict: 1, 1.0 and True are different values, so what is stored as JSON is exactly what
was in memory.
"""

from __future__ import annotations

from typing import Any

Patch = list[dict[str, Any]]


class PatchConflict(Exception):
    """The state does not hold the values the patch starts from."""

    def __init__(self, path: list, expected: Any, found: Any) -> None:
        super().__init__(f"at {'.'.join(map(str, path))}: expected {expected!r}, found {found!r}")
        self.path = path


_MISSING = object()


def same(a: Any, b: Any) -> bool:
    """Strict structural equality (type-exact for scalars, so a JSON round trip is the identity)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return a == b


def diff(old: dict, new: dict, path: tuple = ()) -> Patch:
    """The patch that turns `old` into `new` (keys in sorted order, so patches are deterministic)."""
    out: Patch = []
    for key in sorted(old.keys() | new.keys(), key=str):
        here = [*path, key]
        a, b = old.get(key, _MISSING), new.get(key, _MISSING)
        if a is _MISSING:
            out.append({"p": here, "n": _copy(b)})
        elif b is _MISSING:
            out.append({"p": here, "o": _copy(a)})
        elif isinstance(a, dict) and isinstance(b, dict):
            out.extend(diff(a, b, tuple(here)))
        elif not same(a, b):
            out.append({"p": here, "o": _copy(a), "n": _copy(b)})
    return out


def invert(patch: Patch) -> Patch:
    """The patch that undoes `patch` (entries reversed, sides swapped)."""
    out: Patch = []
    for entry in reversed(patch):
        flipped: dict[str, Any] = {"p": list(entry["p"])}
        if "n" in entry:
            flipped["o"] = _copy(entry["n"])
        if "o" in entry:
            flipped["n"] = _copy(entry["o"])
        out.append(flipped)
    return out


def conflicts(state: dict, patch: Patch) -> list[list]:
    """Paths where `state` does not hold the value `patch` starts from (empty: it applies cleanly)."""
    bad = []
    for entry in patch:
        # An entry that adds a key needs its parent object: a revert that puts back an effect of a
        # track removed since is a conflict, not a bug in the log.
        if not isinstance(_get(state, entry["p"][:-1]), dict):
            bad.append(entry["p"])
            continue
        found = _get(state, entry["p"])
        expected = entry.get("o", _MISSING)
        if expected is _MISSING:
            if found is not _MISSING:
                bad.append(entry["p"])
        elif found is _MISSING or not same(found, expected):
            bad.append(entry["p"])
    return bad


def apply(state: dict, patch: Patch) -> dict:
    """Apply in place (and return) `state`, checking each entry's starting value first."""
    for entry in patch:
        path = entry["p"]
        parent = _get(state, path[:-1])
        if not isinstance(parent, dict):
            raise PatchConflict(path, "an object", parent)
        found = parent.get(path[-1], _MISSING)
        expected = entry.get("o", _MISSING)
        if expected is _MISSING and found is not _MISSING:
            raise PatchConflict(path, "nothing", found)
        if expected is not _MISSING and (found is _MISSING or not same(found, expected)):
            raise PatchConflict(path, expected, None if found is _MISSING else found)
        if "n" in entry:
            parent[path[-1]] = _copy(entry["n"])
        else:
            del parent[path[-1]]
    return state


def touched(patch: Patch) -> set[tuple]:
    return {tuple(e["p"]) for e in patch}


def _get(state: Any, path) -> Any:
    node = state
    for key in path:
        if not isinstance(node, dict) or key not in node:
            return _MISSING
        node = node[key]
    return node


def _copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value
