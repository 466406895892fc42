"""The plain text format of content bodies (no markup language, nothing to sanitise): paragraphs are
separated by blank lines, and a line starting with "- " is a list item."""

from __future__ import annotations


def blocks(body: str) -> list[tuple[str, list[str]]]:
    """[("para", [text]) | ("list", [item, ...])] in order."""
    out: list[tuple[str, list[str]]] = []
    paragraph: list[str] = []

    def flush() -> None:
        if paragraph:
            out.append(("para", [" ".join(paragraph)]))
            paragraph.clear()

    for raw in (body or "").splitlines():
        line = raw.strip()
        if not line:
            flush()
        elif line.startswith(("- ", "* ")):
            flush()
            if out and out[-1][0] == "list":
                out[-1][1].append(line[2:].strip())
            else:
                out.append(("list", [line[2:].strip()]))
        else:
            paragraph.append(line)
    flush()
    return out
