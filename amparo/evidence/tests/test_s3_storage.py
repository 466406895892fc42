"""The S3-compatible back-end, against moto's in-process S3 (no network): the same protocol as the other
back-ends, multipart uploads that leave nothing under the key when they fail, and the vault on top of it
(stored bytes are ciphertext, reads verify)."""

from __future__ import annotations

import random
import uuid

import boto3
import pytest
from moto import mock_aws

from amparo.evidence import storage, vault

BUCKET = "amparo-evidence-test"


@pytest.fixture
def s3(monkeypatch):  # noqa: ANN001, ANN201
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=BUCKET)
        yield storage.S3Storage(client, BUCKET, prefix="evidence/")


def test_the_s3_back_end_conforms_to_the_protocol(s3) -> None:  # noqa: ANN001
    assert isinstance(s3, storage.EvidenceStorage)
    with s3.open_write("ab/cd/x1") as out:
        out.write(b"sealed")
    assert s3.exists("ab/cd/x1")
    assert s3.size("ab/cd/x1") == 6
    with s3.open_read("ab/cd/x1") as f:
        assert f.read() == b"sealed"
    with pytest.raises(storage.StorageError):
        s3.open_write("ab/cd/x1").__enter__()  # never overwritten
    with pytest.raises(storage.StorageError):
        s3.open_write("../escape").__enter__()
    s3.delete("ab/cd/x1")
    assert not s3.exists("ab/cd/x1")
    with pytest.raises(storage.StorageError, match="missing"):
        s3.open_read("ab/cd/x1")


def test_a_large_file_goes_up_in_parts_and_a_failed_upload_leaves_nothing(s3) -> None:  # noqa: ANN001
    data = random.Random(1).randbytes(storage.PART_BYTES * 2 + 12345)
    with s3.open_write("ab/cd/big") as out:
        for start in range(0, len(data), 1 << 20):
            out.write(data[start : start + (1 << 20)])
    with s3.open_read("ab/cd/big") as f:
        assert f.read() == data

    def upload_that_fails() -> None:
        with s3.open_write("ab/cd/broken") as out:
            out.write(data)  # two parts already uploaded …
            raise RuntimeError("the connection dropped")  # … then the upload fails

    with pytest.raises(RuntimeError):
        upload_that_fails()
    assert not s3.exists("ab/cd/broken")
    assert s3.client.list_multipart_uploads(Bucket=BUCKET).get("Uploads", []) == []


def test_the_vault_seals_into_s3_and_verifies_what_it_reads(s3) -> None:  # noqa: ANN001
    plaintext = b"synthetic screenshot bytes " * 50_000  # about 1.3 MB: two vault chunks
    item_id = uuid.uuid4()
    sealed = vault.seal(item_id, [plaintext], storage=s3)
    stored = s3.client.get_object(Bucket=BUCKET, Key="evidence/" + sealed.storage_key)["Body"].read()
    assert b"synthetic screenshot" not in stored

    class Item:  # what vault reads of an evidence item
        pk = item_id
        destroyed_at = None
        storage_key, wrapped_key, master_key_id = sealed.storage_key, sealed.wrapped_key, sealed.master_key_id
        chunk_size, chunk_count, size, sha256 = (
            sealed.chunk_size,
            sealed.chunk_count,
            sealed.size,
            sealed.sha256,
        )

    assert b"".join(vault.read_staged(Item, storage=s3)) == plaintext


def test_s3_is_chosen_by_the_environment_and_needs_a_bucket(monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setenv("AMPARO_EVIDENCE_STORAGE", "s3")
    monkeypatch.delenv("AMPARO_S3_BUCKET", raising=False)
    with pytest.raises(storage.ConfigError, match="AMPARO_S3_BUCKET"):
        storage.get_storage()
    monkeypatch.setenv("AMPARO_S3_BUCKET", BUCKET)
    monkeypatch.setenv("AMPARO_S3_REGION", "us-east-1")
    assert isinstance(storage.get_storage(), storage.S3Storage)
