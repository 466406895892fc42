"""TOTP secrets encrypted at rest (issue 16, item 11; decision 0029).

django-otp keeps a device's secret in `TOTPDevice.key` as hex, in clear. Here the column holds
`crypto.encrypt(hex secret)` instead (the envelope scheme of every encrypted field: AES-256-GCM under the
field data key, which the master key wraps), with the device's user as associated data so that a secret
copied onto another user's device fails to open. Two small hooks make django-otp use it unchanged:

* before every save of a device (ours, django-otp's own, tests'), a secret still in clear is encrypted;
* `TOTPDevice.bin_key`, through which django-otp reads the secret (verification, the QR code), decrypts,
  and refuses a secret found in clear.

The raw secret is encrypted (its hex would not fit the column). The data-key rotation re-encrypts these secrets (registered with core.keys); migration 0009 encrypted the
secrets stored before.
"""

from __future__ import annotations

from binascii import unhexlify
from typing import Any

from django.db.models.signals import pre_save
from django_otp.plugins.otp_totp.models import TOTPDevice

from amparo.core import crypto, keys


def aad(device: Any) -> str:
    return f"otp_totp.totpdevice.key:{device.user_id}"


def seal(plain_hex: str, device: Any) -> str:
    """The raw secret (not its hex) is encrypted, so that the stored form fits django-otp's 80 characters."""
    return crypto.encrypt_bytes(unhexlify(plain_hex.encode("ascii")), aad(device))


def _encrypt_before_save(sender: Any, instance: Any, **kwargs: Any) -> None:
    # Storage of the secret, not business logic: the same as an encrypted field's get_prep_value.
    if instance.key and not instance.key.startswith(crypto.PREFIX):
        instance.key = seal(instance.key, instance)


def _bin_key(device: Any) -> bytes:
    if not device.key.startswith(crypto.PREFIX):
        raise crypto.IntegrityAlarm(f"the TOTP secret of device {device.pk} is stored in clear")
    return crypto.decrypt_bytes(device.key, aad(device))


def install() -> None:
    """Called from CoreConfig.ready()."""
    pre_save.connect(_encrypt_before_save, sender=TOTPDevice, dispatch_uid="amparo.core.totp")
    TOTPDevice.bin_key = property(_bin_key)  # django-otp reads the secret only through this
    keys.register_encrypted_text(keys.EncryptedText(TOTPDevice, "key", aad))
