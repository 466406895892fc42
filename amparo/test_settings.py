"""Settings for the test suite: the production module, with throwaway keys made for this run.

Nothing else differs, apart from a faster password hasher (Argon2 is exercised by its own test).
"""

import base64
import os
import secrets
import tempfile

os.environ.setdefault("AMPARO_SECRET_KEY", secrets.token_urlsafe(50))
os.environ.setdefault("AMPARO_MASTER_KEY", base64.b64encode(os.urandom(32)).decode())
os.environ.setdefault("AMPARO_HTTPS", "0")
os.environ.setdefault("AMPARO_TASKS_BACKEND", "immediate")
# Audit checkpoints of this run only (each test's are removed after it: its database rows are too).
os.environ.setdefault(
    "AMPARO_AUDIT_CHECKPOINT_FILE",
    os.path.join(tempfile.mkdtemp(prefix="amparo-audit-"), "checkpoints.jsonl"),
)

from amparo.settings import *  # noqa: E402,F403

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.MD5PasswordHasher",  # speed only; production uses Argon2 (tested)
    "django.contrib.auth.hashers.Argon2PasswordHasher",
]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
