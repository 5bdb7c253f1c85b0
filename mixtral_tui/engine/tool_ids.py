"""Ids of tool calls the app makes (a server that sends none; calls read from a local model's text).

Mistral's API and Mistral-family chat templates take only ids of exactly 9 letters and digits
(`[TOOL_CALLS]` … `"id": "a1B2c3D4e"`): every id the app makes is so, whichever the model, so a
conversation can move between models and servers without its ids being refused.
"""

from __future__ import annotations

import re
import secrets
import string

ALPHABET = string.ascii_letters + string.digits
ID_LENGTH = 9
_MISTRAL_ID = re.compile(r"^[A-Za-z0-9]{9}$")


def new_call_id() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(ID_LENGTH))


def is_mistral_id(call_id: str) -> bool:
    return bool(_MISTRAL_ID.match(call_id))
