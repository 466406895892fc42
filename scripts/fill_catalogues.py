"""After extraction: English entries translate to themselves (English is the source language, and
an empty English entry would fall back to Portuguese); local-language catalogues keep only what
translators have filled in, so every other string falls back to Portuguese."""

from pathlib import Path

import polib

ROOT = Path(__file__).resolve().parent.parent

for path in ROOT.glob("amparo/**/locale/en/LC_MESSAGES/django.po"):
    po = polib.pofile(str(path))
    for entry in po:
        if entry.msgid_plural:
            entry.msgstr_plural = {0: entry.msgid, 1: entry.msgid_plural}
        else:
            entry.msgstr = entry.msgid
        if "fuzzy" in entry.flags:
            entry.flags.remove("fuzzy")
    po.save()

# Every catalogue gets a valid header (makemessages leaves placeholders in new ones).
PLURALS = {"pt": "nplurals=2; plural=(n != 1);", "en": "nplurals=2; plural=(n != 1);"}
for path in ROOT.glob("amparo/**/locale/*/LC_MESSAGES/django.po"):
    lang = path.parent.parent.name
    po = polib.pofile(str(path))
    po.metadata["Language"] = lang
    po.metadata["Plural-Forms"] = PLURALS.get(lang, "nplurals=2; plural=(n != 1);")
    po.metadata["Content-Type"] = "text/plain; charset=UTF-8"
    po.save()
