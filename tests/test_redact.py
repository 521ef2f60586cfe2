from conformance.redact import PLACEHOLDER, Redactor


def test_known_secrets_and_credential_shaped_places_are_replaced() -> None:
    redactor = Redactor(["s3cret-token-value"])
    curl = (
        "curl -X POST 'http://h/ws/p/process-runs-integrations?token=abc123&with_handshake=asana' "
        "-H 'Authorization: RC-WSKEY other-key' -H 'X-API-Key: k2' -H 'Cookie: vai_token=c3' "
        '-d \'{"note": "s3cret-token-value"}\''
    )
    text = redactor.text(curl)
    for secret in ("abc123", "other-key", "k2", "c3", "s3cret-token-value"):
        assert secret not in text
    assert "with_handshake=asana" in text
    assert text.count(PLACEHOLDER) == 5


def test_short_or_empty_secrets_are_ignored() -> None:
    assert Redactor(["", None, "ab"]).text("a b ab") == "a b ab"
