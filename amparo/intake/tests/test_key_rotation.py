"""One registry of encrypted data (issue 16, item 9): `rotate_keys --data-key` finds intake attachments
(children's screenshots, sealed under the field key outside any encrypted field) through the registry
and re-encrypts them; the inventory accounts for every binary column of every model."""

from __future__ import annotations

import io
import json

import pytest
from django.apps import apps
from django.core.management import call_command
from django.db import models

from amparo.core import crypto, keys
from amparo.core.models import DataKey
from amparo.intake.actions import add_reporter_reply, open_attachment
from amparo.intake.models import Attachment
from amparo.intake.tests.test_follow_up import WEB, submit
from amparo.intake.tests.test_web_report import png_bytes


@pytest.mark.django_db
def test_data_key_rotation_re_encrypts_intake_attachments_and_keeps_them_readable():
    submitted = submit()
    picture = png_bytes("green")
    assert add_reporter_reply(WEB, submitted.receipt, "", attachment=picture)
    old_key = Attachment.objects.get().key_pk
    out = io.StringIO()
    call_command("rotate_keys", "--data-key", "--json", stdout=out)
    [report] = json.loads(out.getvalue())["rotations"]
    assert report["models"]["intake.attachment"] == 1
    attachment = Attachment.objects.get()
    assert attachment.key_pk == int(report["key"]) != old_key
    assert old_key in report["retired_keys"]
    crypto.clear_cache()
    assert open_attachment(attachment) == picture
    assert DataKey.objects.get(pk=old_key).retired_at is not None


def test_every_binary_column_is_in_the_registry_of_encrypted_data():
    inventory = keys.inventory()
    found = set(inventory["sealed"]) | {f"{label}.wrapped_key" for label in inventory["master_wrapped"]}
    found.add("core.datakey.wrapped")
    binary = {
        f"{model._meta.label_lower}.{field.name}"
        for model in apps.get_models()
        for field in model._meta.local_concrete_fields
        if isinstance(field, models.BinaryField)
    }
    assert binary <= found, binary - found
    assert "intake.attachment.sealed" in inventory["sealed"]
    assert {"evidence.evidenceitem", "sync.filepiece"} <= set(inventory["master_wrapped"])
