"""A reasoning model's thinking, told apart from its answer in a stream of text.

Local GGUFs (DeepSeek-R1 distills, Qwen3, gpt-oss as GGUF, Magistral) write their thinking inline,
between `<think>` and `</think>`; some templates open the tag themselves, so the reply starts
inside it and only `</think>` comes. Servers mostly send it apart (`reasoning_content`,
`reasoning`, Mistral's `thinking` parts), and a server without a reasoning parser sends the tags
inline as a local model does. Both engines pass text through this splitter; a tag cut across two
chunks is held back until it is whole, so neither half reaches the screen.
"""

from __future__ import annotations

OPEN, CLOSE = "<think>", "</think>"


def _partial_tag_at_end(text: str, tag: str) -> int:
    """How many characters at the end of `text` could be the start of `tag`."""
    for size in range(min(len(tag) - 1, len(text)), 0, -1):
        if text.endswith(tag[:size]):
            return size
    return 0


class ThinkingSplitter:
    def __init__(self, starts_inside: bool = False) -> None:
        self.inside = starts_inside
        self._held = ""
        self._began = False  # any answer text out yet (a `<think>` only opens before the answer)
        self._after_close = False

    def feed(self, text: str) -> tuple[str, str]:
        """(answer, thinking) of this piece of the stream."""
        text = self._held + text
        self._held = ""
        answer: list[str] = []
        thinking: list[str] = []
        while text:
            if self.inside:
                end = text.find(CLOSE)
                if end < 0:
                    keep = _partial_tag_at_end(text, CLOSE)
                    thinking.append(text[: len(text) - keep])
                    self._held = text[len(text) - keep :]
                    break
                thinking.append(text[:end])
                text = text[end + len(CLOSE) :]
                self.inside = False
                self._began = True  # thinking comes first, once: a later `<think>` is the answer's text
                self._after_close = True
                continue
            if self._after_close:  # the answer starts after the blank line that follows `</think>`
                text = text.lstrip()
                if not text:
                    break
                self._after_close = False
            if not self._began:
                stripped = text.lstrip()
                if stripped.startswith(OPEN):
                    self.inside = True
                    text = stripped[len(OPEN) :]
                    continue
                if not stripped or OPEN.startswith(stripped):
                    self._held = text  # nothing yet, or the start of a `<think>`: wait for more
                    break
            answer.append(text)
            self._began = self._began or bool(text.strip())
            break
        return "".join(answer), "".join(thinking)

    def flush(self) -> tuple[str, str]:
        """What was held back, at the end of the stream."""
        held, self._held = self._held, ""
        return ("", held) if self.inside else (held, "")
