"""TOTP secrets are encrypted at rest (issue 16, item 11): the database column holds an envelope-encrypted
value bound to the device's user, django-otp still verifies codes, secrets stored in clear before are
encrypted by the migration, refused if found in clear later, and moved by the data-key rotation."""

from __future__ import annotations

import importlib
import io
import json

import pytest
from django.apps import apps
from django.core.management import call_command
from django.db import connection
from django_otp.plugins.otp_totp.models import TOTPDevice

from amparo.core import actions, crypto
from amparo.core.tests.test_web import totp_code

pytestmark = pytest.mark.django_db


def stored_key(device: TOTPDevice) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT key FROM otp_totp_totpdevice WHERE id = %s", [device.pk])
        return cursor.fetchone()[0]


def test_an_enrolment_secret_is_stored_encrypted_and_codes_still_verify(make_user):
    user = make_user("investigator")
    device = actions.start_totp_enrolment(user)
    secret_hex = device.bin_key.hex()
    raw = stored_key(device)
    assert raw.startswith(crypto.PREFIX)
    assert secret_hex not in raw
    assert len(raw) <= TOTPDevice._meta.get_field("key").max_length
    assert actions.confirm_totp_enrolment(user, device, totp_code(device))


def test_a_device_made_directly_with_django_otp_is_encrypted_too(make_user):
    device = TOTPDevice.objects.create(user=make_user("investigator"), name="phone", confirmed=True)
    assert stored_key(device).startswith(crypto.PREFIX)
    assert device.verify_token(totp_code(device))


def test_a_secret_copied_onto_another_users_device_does_not_open(make_user):
    mine = TOTPDevice.objects.create(user=make_user("investigator"), name="phone", confirmed=True)
    theirs = TOTPDevice.objects.create(user=make_user("investigator"), name="phone", confirmed=True)
    TOTPDevice.objects.filter(pk=theirs.pk).update(key=stored_key(mine))
    theirs.refresh_from_db()
    with pytest.raises(crypto.IntegrityAlarm):
        theirs.bin_key  # noqa: B018


def test_a_secret_found_in_clear_is_refused(make_user):
    device = TOTPDevice.objects.create(user=make_user("investigator"), name="phone", confirmed=True)
    TOTPDevice.objects.filter(pk=device.pk).update(key="3132333435363738393031323334353637383930")
    device.refresh_from_db()
    with pytest.raises(crypto.IntegrityAlarm, match="in clear"):
        device.verify_token("123456")


def test_the_migration_encrypts_secrets_stored_in_clear(make_user):
    device = TOTPDevice.objects.create(user=make_user("investigator"), name="phone", confirmed=True)
    secret_hex = device.bin_key.hex()
    TOTPDevice.objects.filter(pk=device.pk).update(key=secret_hex)  # as django-otp stored it before
    migration = importlib.import_module("amparo.core.migrations.0009_encrypt_totp_secrets")
    migration.encrypt_secrets(apps, None)
    device.refresh_from_db()
    assert stored_key(device).startswith(crypto.PREFIX)
    assert device.bin_key.hex() == secret_hex


def test_the_data_key_rotation_re_encrypts_totp_secrets(make_user):
    device = TOTPDevice.objects.create(user=make_user("investigator"), name="phone", confirmed=True)
    before = crypto.key_of(stored_key(device))
    out = io.StringIO()
    call_command("rotate_keys", "--data-key", "--json", stdout=out)
    [report] = json.loads(out.getvalue())["rotations"]
    assert report["models"]["otp_totp.totpdevice"] == 1
    assert crypto.key_of(stored_key(device)) == int(report["key"]) != before
    crypto.clear_cache()
    device.refresh_from_db()
    assert device.verify_token(totp_code(device))
