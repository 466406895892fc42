"""Settings come from the environment through strict helpers that refuse bad values loudly."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth.hashers import check_password, make_password

from amparo.lib.env import ConfigError, decode_key, env_bool, env_int, env_list, env_secret, env_str

PROJECT_DIR = Path(__file__).resolve().parents[3]
KEY = base64.b64encode(bytes(range(32))).decode()


# --- env_bool ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("raw", ["1", "true", "TRUE", " yes ", "on"])
def test_env_bool_accepts_true_spellings(raw):
    assert env_bool("AMPARO_X", False, environ={"AMPARO_X": raw}) is True


@pytest.mark.parametrize("raw", ["0", "false", "No", "off", ""])
def test_env_bool_accepts_false_spellings(raw):
    assert env_bool("AMPARO_X", True, environ={"AMPARO_X": raw}) is False


def test_env_bool_uses_the_default_when_unset():
    assert env_bool("AMPARO_X", True, environ={}) is True


@pytest.mark.parametrize("raw", ["maybe", "2", "enabled", "y"])
def test_env_bool_rejects_anything_else_naming_the_variable(raw):
    with pytest.raises(
        ConfigError, match=rf"AMPARO_X must be one of 1/0, true/false, yes/no, on/off; got '{raw}'"
    ):
        env_bool("AMPARO_X", False, environ={"AMPARO_X": raw})


# --- env_int, env_list, env_str ----------------------------------------------------------------------


def test_env_int_reads_whole_numbers_and_defaults_when_blank():
    assert env_int("AMPARO_N", 5, environ={"AMPARO_N": " 42 "}) == 42
    assert env_int("AMPARO_N", 5, environ={"AMPARO_N": ""}) == 5
    assert env_int("AMPARO_N", 5, environ={}) == 5


@pytest.mark.parametrize("raw", ["abc", "1.5", "10s", "0x10"])
def test_env_int_rejects_what_is_not_a_whole_number(raw):
    with pytest.raises(ConfigError, match=rf"AMPARO_N must be a whole number; got '{raw}'"):
        env_int("AMPARO_N", 5, environ={"AMPARO_N": raw})


def test_env_int_rejects_values_below_the_minimum():
    with pytest.raises(ConfigError, match="AMPARO_N must be at least 1; got 0"):
        env_int("AMPARO_N", 5, minimum=1, environ={"AMPARO_N": "0"})


def test_env_list_splits_on_commas_and_drops_blanks():
    assert env_list("AMPARO_L", ["x"], environ={"AMPARO_L": " a, b ,,c "}) == ["a", "b", "c"]
    assert env_list("AMPARO_L", ["x"], environ={}) == ["x"]
    assert env_str("AMPARO_S", "d", environ={}) == "d"


# --- env_secret and NAME_FILE ------------------------------------------------------------------------


def test_env_secret_reads_the_variable_stripped():
    assert env_secret("AMPARO_K", environ={"AMPARO_K": "  s3cret\n"}) == "s3cret"


def test_env_secret_reads_the_file_named_by_name_file(tmp_path):
    secret = tmp_path / "secret"
    secret.write_text("from-a-file\n", encoding="utf-8")
    assert env_secret("AMPARO_K", environ={"AMPARO_K_FILE": str(secret)}) == "from-a-file"


def test_env_secret_is_none_when_neither_is_set():
    assert env_secret("AMPARO_K", environ={}) is None


def test_env_secret_refuses_both_the_variable_and_its_file(tmp_path):
    secret = tmp_path / "secret"
    secret.write_text("x", encoding="utf-8")
    with pytest.raises(ConfigError, match="Set either AMPARO_K or AMPARO_K_FILE, not both"):
        env_secret("AMPARO_K", environ={"AMPARO_K": "y", "AMPARO_K_FILE": str(secret)})


def test_env_secret_file_that_cannot_be_read_is_an_error_naming_it(tmp_path):
    missing = tmp_path / "nowhere"
    with pytest.raises(ConfigError, match=rf"AMPARO_K_FILE names '{missing}', which cannot be read"):
        env_secret("AMPARO_K", environ={"AMPARO_K_FILE": str(missing)})


# --- decode_key ----------------------------------------------------------------------------------------


def test_decode_key_accepts_32_bytes_of_base64():
    assert decode_key("AMPARO_MASTER_KEY", KEY) == bytes(range(32))


@pytest.mark.parametrize("raw", ["not base64!", "abc", "ÿÿÿÿ"])
def test_decode_key_rejects_what_is_not_base64_and_says_how_to_make_one(raw):
    with pytest.raises(ConfigError, match=r"AMPARO_MASTER_KEY must be base64; generate one with: python -c"):
        decode_key("AMPARO_MASTER_KEY", raw)


def test_decode_key_rejects_the_wrong_length():
    with pytest.raises(ConfigError, match="AMPARO_MASTER_KEY must decode to 32 bytes; it decodes to 16"):
        decode_key("AMPARO_MASTER_KEY", base64.b64encode(bytes(16)).decode())


# --- The settings module as a whole --------------------------------------------------------------------


def import_settings(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """Import amparo.settings in a fresh interpreter with only `env` (and PATH) set."""
    clean = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "AMPARO_DATA_DIR": str(tmp_path / "data"),
    }
    clean.update(env)
    code = "import amparo.settings as s; print(s.PASSWORD_HASHERS[0]); print(len(s.AMPARO_OLD_MASTER_KEYS))"
    return subprocess.run(  # noqa: S603  (our own interpreter, fixed code)
        [sys.executable, "-c", code],
        env=clean,
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_settings_refuse_to_load_without_a_secret_key(tmp_path):
    result = import_settings(tmp_path, AMPARO_MASTER_KEY=KEY)
    assert result.returncode != 0
    assert "ConfigError: AMPARO_SECRET_KEY (or AMPARO_SECRET_KEY_FILE) is not set" in result.stderr


def test_settings_refuse_to_load_without_a_master_key(tmp_path):
    result = import_settings(tmp_path, AMPARO_SECRET_KEY="s" * 50)
    assert result.returncode != 0
    assert "ConfigError: AMPARO_MASTER_KEY (or AMPARO_MASTER_KEY_FILE) is not set" in result.stderr


def test_settings_refuse_a_master_key_that_is_not_32_bytes(tmp_path):
    result = import_settings(
        tmp_path, AMPARO_SECRET_KEY="s" * 50, AMPARO_MASTER_KEY=base64.b64encode(b"short").decode()
    )
    assert result.returncode != 0
    assert "ConfigError: AMPARO_MASTER_KEY must decode to 32 bytes" in result.stderr


def test_settings_refuse_a_short_secret_key(tmp_path):
    result = import_settings(tmp_path, AMPARO_SECRET_KEY="short", AMPARO_MASTER_KEY=KEY)
    assert "ConfigError: AMPARO_SECRET_KEY must be at least 32 characters long" in result.stderr


def test_settings_refuse_a_malformed_boolean(tmp_path):
    result = import_settings(
        tmp_path, AMPARO_SECRET_KEY="s" * 50, AMPARO_MASTER_KEY=KEY, AMPARO_DEBUG="sometimes"
    )
    assert "ConfigError: AMPARO_DEBUG must be one of" in result.stderr


def test_demo_key_files_are_ignored_outside_demo_mode(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "secret_key").write_text("d" * 50)
    (data / "master_key").write_text(KEY)
    result = import_settings(tmp_path)
    assert "ConfigError: AMPARO_SECRET_KEY (or AMPARO_SECRET_KEY_FILE) is not set" in result.stderr
    assert import_settings(tmp_path, AMPARO_DEMO="1").returncode == 0


def test_settings_load_from_secret_files(tmp_path):
    (tmp_path / "secret").write_text("s" * 50 + "\n")
    (tmp_path / "master").write_text(KEY + "\n")
    old = base64.b64encode(os.urandom(32)).decode()
    result = import_settings(
        tmp_path,
        AMPARO_SECRET_KEY_FILE=str(tmp_path / "secret"),
        AMPARO_MASTER_KEY_FILE=str(tmp_path / "master"),
        AMPARO_OLD_MASTER_KEYS=f"{old}, ",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["django.contrib.auth.hashers.Argon2PasswordHasher", "1"]


def test_production_hashes_passwords_with_argon2():
    import amparo.settings as production

    assert production.PASSWORD_HASHERS == ["django.contrib.auth.hashers.Argon2PasswordHasher"]
    encoded = make_password("correct horse battery staple", hasher="argon2")
    assert encoded.startswith("argon2$argon2id$")
    assert check_password("correct horse battery staple", encoded)
