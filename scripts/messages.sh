#!/usr/bin/env bash
# Re-extract every message catalogue (one per app, plus the project's for shared templates and
# settings), fill the English catalogue (English is the source language), give each local
# language a catalogue so that Django offers it and falls back to Portuguese string by string,
# and compile. Needs GNU gettext (xgettext, msgfmt). Run through `make messages`.
set -euo pipefail
cd "$(dirname "$0")/.."
export DJANGO_SETTINGS_MODULE=amparo.test_settings
AMPARO=$(realpath -s "${AMPARO:-.venv/bin/amparo}")
PY=$(realpath -s "${PY:-.venv/bin/python}")
LOCALES=(pt en vmw ts seh ny)
args=()
for l in "${LOCALES[@]}"; do args+=(-l "$l"); done

for app in amparo/*/; do
  app=${app%/}
  name=$(basename "$app")
  case "$name" in locale|templates|lib|__pycache__) continue ;; esac
  grep -rqsE "gettext|translate|trans " "$app" --include='*.py' --include='*.html' --include='*.txt' || continue
  mkdir -p "$app/locale"
  (cd "$app" && "$AMPARO" makemessages "${args[@]}" --no-obsolete --add-location file --ignore 'tests/*' -v0)
done
# The project's catalogue: settings, the shared templates in amparo/templates, amparo/lib.
ignores=()
for d in amparo/*/; do
  d=$(basename "$d")
  case "$d" in templates|lib|locale) ;; *) ignores+=(--ignore "$d/*") ;; esac
done
(cd amparo && "$AMPARO" makemessages "${args[@]}" --no-obsolete --add-location file "${ignores[@]}" -v0)
"$PY" scripts/fill_catalogues.py
"$AMPARO" compilemessages -v0 --ignore '.venv'
