"""The picker's table columns: quantizations, local files or a server's models, each in a wide
and a compact layout (below the picker's COMPACT_BELOW; at 80 columns the wide verdict was cut to
one letter and the rows scrolled sideways)."""

from __future__ import annotations

from textual.widgets import DataTable

Columns = tuple[tuple[str, int], ...]
QUANT_COLUMNS: Columns = (("Quant", 9), ("Size", 13), ("bpw", 5), ("Memory", 9), ("Fit on this machine", 34), ("~tok/s", 7), ("", 10))
QUANT_COLUMNS_COMPACT: Columns = (("Quant", 8), ("Size", 9), ("bpw", 4), ("Memory", 9), ("Fit", 16), ("tok/s", 5), ("", 10))
LOCAL_COLUMNS: Columns = (("Quant", 9), ("Size", 11), ("Arch", 10), ("Kind", 8), ("Loads", 24), ("", 9), ("File", 40))
SERVER_COLUMNS: Columns = (("Model on the server", 60), ("", 12))
SERVER_COLUMNS_COMPACT: Columns = (("Model on the server", 44), ("", 12))
LOCAL_COLUMNS_COMPACT: Columns = (("Quant", 8), ("Size", 10), ("Arch", 8), ("Kind", 7), ("Loads", 5), ("", 9), ("File", 30))


COMPACT = {QUANT_COLUMNS: QUANT_COLUMNS_COMPACT, LOCAL_COLUMNS: LOCAL_COLUMNS_COMPACT,
           SERVER_COLUMNS: SERVER_COLUMNS_COMPACT}


AS_WIDE_AS_THEIR_TEXT = (LOCAL_COLUMNS, SERVER_COLUMNS)
"""Tables whose columns are as wide as their longest cell: fixed widths cut
"gemma-3-270m-q4_k_m.gguf" to "gemma-3-270m-q4_k_m.gg" with room to spare in the others (a
longer name scrolls the table sideways)."""


def lay_out(table: DataTable, wide: Columns, compact: bool) -> None:
    """The table emptied, with these columns (their short form when `compact`)."""
    table.clear(columns=True)
    for label, width in COMPACT[wide] if compact else wide:
        table.add_column(label, width=None if wide in AS_WIDE_AS_THEIR_TEXT else width)
