import pytest

from amparo.lib.env import ConfigError, env_phone_number, env_url


def test_a_phone_number_setting_accepts_short_codes_and_full_numbers():
    assert env_phone_number("N", "116", environ={}) == "116"
    assert env_phone_number("N", "116", environ={"N": " 119 "}) == "119"
    assert env_phone_number("N", "116", environ={"N": "+258 21 325 031"}) == "+25821325031"


@pytest.mark.parametrize("raw", ["11a", "call 112", "+", "1", "tel:112", "1234567890123456"])
def test_a_phone_number_setting_refuses_what_cannot_be_dialled(raw):
    with pytest.raises(ConfigError, match="number to dial"):
        env_phone_number("N", "116", environ={"N": raw})


def test_an_address_setting_must_be_absolute_http():
    assert env_url("U", "https://a.example/x", environ={}) == "https://a.example/x"
    assert env_url("U", "x", environ={"U": "https://neutral.example/"}) == "https://neutral.example/"
    for raw in ["javascript:alert(1)", "//evil.example", "ftp://a.example/", "https://a b.example/"]:
        with pytest.raises(ConfigError):
            env_url("U", "x", environ={"U": raw})
