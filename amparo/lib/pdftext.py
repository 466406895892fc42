"""Text that fpdf2's core fonts (Helvetica, Courier: latin-1 only) can write.

Portuguese needs nothing beyond latin-1, so accents are kept. Typographic punctuation a translator or an
author may type (dashes, curly quotes, the ellipsis, the arrow, the middle dot, no-break and thin spaces)
becomes its plain form; any other character outside latin-1 becomes "?". Every PDF written with a core font
(the rights package, custody reports, letters without DejaVu, the bulletin, posters) passes its text here.
"""

from __future__ import annotations

from typing import Any

from amparo.lib import typography

REPLACEMENTS = str.maketrans(
    {
        **typography.PLAIN,
        "\u2009": " ",  # thin space
        "\u202f": " ",  # narrow no-break space (French-style number grouping)
        "\u2192": "->",
        "\u00b7": "-",  # middle dot, used as a separator
    }
)


def latin1(text: Any) -> str:
    """`text` (anything, through str()) as latin-1 text a core font can write."""
    return str(text).translate(REPLACEMENTS).encode("latin-1", "replace").decode("latin-1")
