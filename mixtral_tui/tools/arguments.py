"""A call's arguments, checked before anything runs: valid JSON, an object, and what the tool's
input schema asks for. A call that fails is not run (and not asked for): the model is told what
was wrong, in a tool result, and may call again."""

from __future__ import annotations

import json
from typing import Any

import jsonschema


def checked_arguments(text: str, schema: dict[str, Any]) -> tuple[dict[str, Any] | None, str]:
    """(the arguments, "") or (None, what is wrong, in words the model can act on)."""
    try:
        value = json.loads(text or "{}")
    except json.JSONDecodeError as exc:
        return None, f"the arguments are not valid JSON ({exc.msg} at character {exc.pos}): {text[:200]!r}"
    if not isinstance(value, dict):
        return None, f"the arguments must be a JSON object, got {type(value).__name__}: {text[:200]!r}"
    if schema:
        try:
            validator = jsonschema.validators.validator_for(schema)(schema)
            errors = sorted(validator.iter_errors(value), key=lambda e: list(e.absolute_path))
        except jsonschema.exceptions.SchemaError:
            return value, ""  # the server's own schema is broken: the server judges the call
        if errors:
            first = errors[0]
            where = ".".join(str(p) for p in first.absolute_path)
            return None, ("the arguments do not match the tool's schema: "
                          + (f"{where}: " if where else "") + first.message)
    return value, ""


def pretty(arguments: dict[str, Any]) -> str:
    """The arguments as the user is shown them before saying yes: indented JSON, keys in order."""
    return json.dumps(arguments, indent=2, ensure_ascii=False)
