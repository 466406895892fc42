"""Receipts: the 16 random digits that let an anonymous reporter come back to their report.

A receipt is shown once and stored only as an Argon2id hash under one deployment-wide secret salt
(docs/decisions/0009-receipts.md), so that a look-up is a query on a unique index (two: a web report
not yet filed is looked up too, see `lookup`). Every look-up computes the hash and makes the same
queries whether or not the receipt exists, so that timing says nothing about existence; callers
rate-limit look-ups per client and globally before calling `lookup`.
"""

from __future__ import annotations

import re
import secrets

from argon2.low_level import Type, hash_secret_raw

from amparo.core import crypto
from amparo.core.models import DataKey
from amparo.intake.models import Report, WebSubmission

DIGITS = 16
# Argon2id parameters: 1 pass over 4 MiB, 1 lane (about 1-3 ms on a server core). Lighter than OWASP's
# password settings on purpose: a receipt is 53 random bits, not a password, and the salt is secret, so
# offline guessing needs the master key and still costs ~10^16 hashes; the web-report and SMS endpoints
# must keep at least half the throughput of a bare insert (issue 3). Changing them invalidates receipts.
TIME_COST = 1
MEMORY_COST_KIB = 4 * 1024
PARALLELISM = 1
HASH_BYTES = 32

_SEPARATORS = re.compile(r"[\s\-.·_/]+")


def new_receipt() -> str:
    """16 uniformly random decimal digits (about 53 bits), from the operating system's CSPRNG."""
    return "".join(secrets.choice("0123456789") for _ in range(DIGITS))


def normalise(text: str) -> str | None:
    """The 16 digits of a receipt as typed ('1234 5678-9012.3456'), or None if it cannot be one."""
    if not isinstance(text, str) or len(text) > 64:
        return None
    digits = _SEPARATORS.sub("", text.strip())
    if len(digits) != DIGITS or not digits.isascii() or not digits.isdigit():
        return None
    return digits


def display(receipt: str) -> str:
    """'1234 5678 9012 3456': groups of four, easy to copy down or read aloud."""
    return " ".join(receipt[i : i + 4] for i in range(0, len(receipt), 4))


def _salt() -> bytes:
    """The deployment-wide salt: a data key of purpose RECEIPT, created on first use, kept wrapped by
    the master key (so master-key rotation re-wraps it with the other data keys) and never rotated."""
    _pk, salt = crypto.active_key(DataKey.Purpose.RECEIPT)
    return salt


def clear_cache() -> None:
    """Forget unwrapped keys (after a master-key change); the salt is cached with the data keys."""
    crypto.clear_cache()


def receipt_hash(receipt: str) -> str:
    """Argon2id(receipt, deployment salt) as hex. `receipt` must already be normalised."""
    raw = hash_secret_raw(
        secret=receipt.encode("ascii"),
        salt=_salt(),
        time_cost=TIME_COST,
        memory_cost=MEMORY_COST_KIB,
        parallelism=PARALLELISM,
        hash_len=HASH_BYTES,
        type=Type.ID,
    )
    return raw.hex()


# A fixed well-formed stand-in hashed for malformed input, so that a look-up always costs one hash.
_DUMMY = "0" * DIGITS


def lookup(receipt: str) -> Report | None:
    """The report a receipt belongs to, or None. Always one Argon2id hash and the same two indexed
    queries, found or not: one for a web report stored moments ago and not yet filed (it is filed now),
    one for the report."""
    digits = normalise(receipt)
    digest = receipt_hash(digits or _DUMMY)
    pending = WebSubmission.objects.filter(receipt_hash=digest).values_list("pk", flat=True).first()
    if pending is not None and digits is not None:
        from amparo.intake import actions  # actions imports this module

        actions.file_web_submission(pending)
    found = Report.objects.select_related("case").filter(receipt_hash=digest).first()
    return found if digits is not None else None


def allocate(*, check: bool = False) -> tuple[str, str]:
    """A new receipt and its hash: one Argon2id hash. The receipt hash is unique in the database, so a
    caller may store it straight away and draw again (with `check=True`, which asks the database first)
    in the (10^-16 per report) case of a collision."""
    for _attempt in range(5):
        receipt = new_receipt()
        digest = receipt_hash(receipt)
        if not check or not (
            Report.objects.filter(receipt_hash=digest).exists()
            or WebSubmission.objects.filter(receipt_hash=digest).exists()
        ):
            return receipt, digest
    raise RuntimeError("could not allocate an unused receipt")
