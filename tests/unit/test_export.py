import re

from mixtral_tui.chat.export import conversation_markdown, export_all, fence_for
from mixtral_tui.store.history import History


def test_fence_is_longer_than_any_backtick_run():
    assert fence_for("plain") == "````"
    assert fence_for("a ````` b") == "``````"


def test_export_reproduces_messages_exactly(tmp_path):
    history = History(tmp_path / "h.sqlite3")
    conversation = history.create_conversation("Code talk")
    tricky = "Here:\n```python\nprint('hi')\n```\nand ````four```` and trailing spaces   \n"
    history.add_message(conversation.id, "user", "show me code")
    history.add_message(
        conversation.id, "assistant", tricky, model="Mixtral-8x7B-Instruct", quant="Q4_K_M",
        sampling={"temperature": 0.7, "top_p": 0.95}, stats={"completion_tokens": 12, "decode_tps": 30.0},
    )
    text = conversation_markdown(history.conversation(conversation.id), history.messages(conversation.id))
    assert text.startswith("# Code talk\n")
    assert "- Model: Mixtral-8x7B-Instruct" in text and "- Quant: Q4_K_M" in text
    assert "temperature 0.7, top_p 0.95" in text
    bodies = re.findall(r"^(`{4,})markdown\n(.*?)\n\1$", text, flags=re.S | re.M)
    assert [b for _, b in bodies] == ["show me code", tricky]
    assert "## User" in text and "## Assistant" in text


def test_export_all_writes_one_file_each(tmp_path):
    history = History(tmp_path / "h.sqlite3")
    for title in ("One", "Two / slash"):
        history.create_conversation(title)
    written = export_all(history, tmp_path / "out")
    assert sorted(p.name for p in written) == ["0001-one.md", "0002-two-slash.md"]
