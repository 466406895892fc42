"""SMS providers: exact requests seen by a local server playing Africa's Talking or a Kannel/Jasmin
gateway, error classification, and conformance of every implementation to the Protocol."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import pytest

from amparo.intake import providers
from amparo.intake.providers import (
    AfricasTalkingProvider,
    GenericHttpProvider,
    LogProvider,
    ProviderError,
    SmsProvider,
)


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    form: dict[str, str]


@dataclass
class FakeProvider:
    """A local HTTP server: records each request and answers with the next queued (status, body)."""

    url: str
    received: list[Received] = field(default_factory=list)
    answers: list[tuple[int, str]] = field(default_factory=list)

    def answer(self, status: int, body: str) -> None:
        self.answers.append((status, body))


def at_success(message_id: str = "ATXid_1") -> str:
    return json.dumps(
        {
            "SMSMessageData": {
                "Message": "Sent to 1/1 Total Cost: MZN 1.0000",
                "Recipients": [
                    {
                        "statusCode": 101,
                        "number": "+258840000000",
                        "status": "Success",
                        "cost": "MZN 1.0000",
                        "messageId": message_id,
                    }
                ],
            }
        }
    )


@pytest.fixture
def fake_provider() -> Iterator[FakeProvider]:
    state = FakeProvider(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (the http.server API)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode("utf-8")
            form = {k: v[0] for k, v in parse_qs(body, keep_blank_values=True).items()}
            state.received.append(Received("POST", self.path, dict(self.headers.items()), form))
            status, text = state.answers.pop(0) if state.answers else (201, at_success())
            data = text.encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.mark.parametrize("implementation", providers.PROVIDERS)
def test_every_provider_satisfies_the_protocol(implementation: type) -> None:
    if implementation is AfricasTalkingProvider:
        instance = implementation(username="u", api_key="k", base_url="http://127.0.0.1:9")
    elif implementation is GenericHttpProvider:
        instance = implementation(url="http://127.0.0.1:9/send", username="u", password="p")
    else:
        instance = implementation()
    assert isinstance(instance, SmsProvider)
    assert instance.name in {"africastalking", "generic_http", "log"}


def test_africastalking_receives_the_exact_form_and_api_key(fake_provider: FakeProvider) -> None:
    fake_provider.answer(201, at_success("ATXid_abc"))
    provider = AfricasTalkingProvider(username="amparo", api_key="secret-key", base_url=fake_provider.url)
    result = provider.send(to="+258841234567", message="Olá, recebemos", sender="1458")
    assert result.provider_message_id == "ATXid_abc"
    [request] = fake_provider.received
    assert request.path == "/version1/messaging"
    assert request.headers["apiKey"] == "secret-key"
    assert request.headers["Accept"] == "application/json"
    assert request.form == {
        "username": "amparo",
        "to": "+258841234567",
        "message": "Olá, recebemos",
        "from": "1458",
    }


def test_africastalking_omits_from_when_the_channel_has_no_sender(fake_provider: FakeProvider) -> None:
    AfricasTalkingProvider(username="u", api_key="k", base_url=fake_provider.url).send(
        to="+258841234567", message="x"
    )
    assert "from" not in fake_provider.received[0].form


def test_africastalking_server_error_is_retryable(fake_provider: FakeProvider) -> None:
    fake_provider.answer(500, "oops")
    provider = AfricasTalkingProvider(username="u", api_key="k", base_url=fake_provider.url)
    with pytest.raises(ProviderError) as caught:
        provider.send(to="+258841234567", message="x")
    assert caught.value.retryable
    assert caught.value.reason == "http:500"


def test_africastalking_invalid_number_is_not_retried_and_names_no_number(
    fake_provider: FakeProvider,
) -> None:
    body = json.dumps(
        {
            "SMSMessageData": {
                "Recipients": [{"statusCode": 403, "status": "InvalidPhoneNumber", "number": "+258841234567"}]
            }
        }
    )
    fake_provider.answer(201, body)
    with pytest.raises(ProviderError) as caught:
        AfricasTalkingProvider(username="u", api_key="k", base_url=fake_provider.url).send(
            to="+258841234567", message="x"
        )
    assert not caught.value.retryable
    assert "841234567" not in str(caught.value)


def test_africastalking_unauthorised_is_not_retried(fake_provider: FakeProvider) -> None:
    fake_provider.answer(401, "The supplied authentication is invalid")
    with pytest.raises(ProviderError) as caught:
        AfricasTalkingProvider(username="u", api_key="bad", base_url=fake_provider.url).send(
            to="+258841234567", message="x"
        )
    assert not caught.value.retryable


def test_malformed_provider_answer_is_retryable(fake_provider: FakeProvider) -> None:
    fake_provider.answer(201, "<html>proxy error</html>")
    with pytest.raises(ProviderError) as caught:
        AfricasTalkingProvider(username="u", api_key="k", base_url=fake_provider.url).send(
            to="+258841234567", message="x"
        )
    assert caught.value.retryable


def test_unreachable_provider_is_retryable() -> None:
    provider = AfricasTalkingProvider(username="u", api_key="k", base_url="http://127.0.0.1:9", timeout=1)
    with pytest.raises(ProviderError) as caught:
        provider.send(to="+258841234567", message="x")
    assert caught.value.retryable
    assert caught.value.reason.startswith("transport:")


def test_generic_gateway_receives_kannel_fields_and_jasmin_id(fake_provider: FakeProvider) -> None:
    fake_provider.answer(200, 'Success "07033084-5cfd-4812-90a4-e4d24ffb6e3d"')
    provider = GenericHttpProvider(url=fake_provider.url + "/send", username="amparo", password="pw")
    result = provider.send(to="+258841234567", message="Recebemos a sua mensagem", sender="1458")
    assert result.provider_message_id == "07033084-5cfd-4812-90a4-e4d24ffb6e3d"
    [request] = fake_provider.received
    assert request.path == "/send"
    assert request.form == {
        "username": "amparo",
        "password": "pw",
        "to": "+258841234567",
        "text": "Recebemos a sua mensagem",
        "charset": "UTF-8",
        "coding": "0",
        "from": "1458",
    }


def test_generic_gateway_marks_ucs2_text(fake_provider: FakeProvider) -> None:
    fake_provider.answer(202, "0: Accepted for delivery")
    GenericHttpProvider(url=fake_provider.url + "/cgi-bin/sendsms", username="u", password="p").send(
        to="+258841234567", message="Não"
    )
    assert fake_provider.received[0].form["coding"] == "2"


def test_generic_gateway_error_status_is_classified(fake_provider: FakeProvider) -> None:
    fake_provider.answer(503, "busy")
    with pytest.raises(ProviderError) as caught:
        GenericHttpProvider(url=fake_provider.url, username="u", password="p").send(
            to="+258841234567", message="x"
        )
    assert caught.value.retryable


def test_log_provider_sends_nothing_and_logs_no_number_or_text(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("INFO", logger="amparo.intake.providers")
    result = LogProvider().send(to="+258841234567", message="segredo")
    assert result.provider_message_id.startswith("log-")
    assert "841234567" not in caplog.text
    assert "segredo" not in caplog.text
