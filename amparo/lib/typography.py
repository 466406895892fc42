"""Typographic punctuation writers and translators type, with the plain characters that say the same:
the common core of what an SMS (GSM-7, amparo.lib.gsm) and a PDF written in a core font (latin-1,
amparo.lib.pdftext) can carry. Each adds what its own alphabet lacks."""

from __future__ import annotations

PLAIN = {
    "\u2013": "-",  # en dash
    "\u2014": "-",  # em dash
    "\u2018": "'",
    "\u2019": "'",
    "\u201c": '"',
    "\u201d": '"',
    "\u2026": "...",
    "\u00a0": " ",  # no-break space
}
