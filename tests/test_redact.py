from conformance.contract.catalogue import load_catalogue
from conformance.contract.specs import load_spec
from conformance.engine.session import ApiSession
from conformance.findings import Deviation
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


def test_a_deviation_seen_again_only_counts_and_its_request_is_written_once() -> None:
    """The session redacts a finding and writes its curl line for the first deviation only; a
    repeat (the same values as received, an echoed secret included) adds to the count."""
    spec = load_spec("kognitos")
    session = ApiSession(spec, load_catalogue("kognitos"), Redactor(["s3cret-token-value"]))
    operation = spec.operations["getRun"]
    echoed = Deviation(
        "kognitos", "getRun", 200, "/note", "type-mismatch", "integer", "s3cret-token-value", "note is text"
    )
    written: list[str] = []

    def curl() -> str:
        written.append("curl")
        return "curl -H 'x-api-key: s3cret-token-value' http://h/v2/runs/1"

    for _ in range(3):
        session.record(operation, [echoed, echoed], curl, "contract")
    [finding] = session.findings
    assert finding.count == 6 and written == ["curl"]
    assert "s3cret-token-value" not in f"{finding.observed} {finding.request}"
    assert session.stats["getRun"].cases == 3
