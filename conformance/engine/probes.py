"""Probes made before and beside the phases: is the configuration right (credential, base URL),
and does every secured operation refuse a request without credentials."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import httpx

from conformance.contract.model import Spec
from conformance.engine.caller import ApiCaller, Step
from conformance.errors import ConformanceError, CredentialRefused
from conformance.http.policy import DEFAULT_POLICY, RequestPolicy
from conformance.http.polite import polite_client
from conformance.vendors.registry import ApiInfo


class WrongBaseUrl(ConformanceError):
    """No documented path answers at the base URL: a configuration error, not drift."""


def check_configuration(
    api: ApiInfo, spec: Spec, base_url: str, token: str, policy: RequestPolicy = DEFAULT_POLICY
) -> None:
    """Before anything is judged, read every documented ``GET`` once with the credential.

    When every one is refused (401/403) the credential is wrong; when every one answers 404 (a
    collection among them) the base URL does not lead to the API, or the examples name ids the
    tenant does not have. Either would otherwise read as drift on every operation of a red night.
    """
    gets = [op for op in spec.operations.values() if op.method == "get"]
    with polite_client(policy) as client:
        caller = ApiCaller(api, spec, base_url, token, client, policy)
        answers = [(op, caller.call(caller.example_step(op))) for op in gets]
    statuses = [(op, response, step) for op, (_, response, step) in answers if response is not None]
    if not statuses:
        return
    count = len(statuses)
    refused = Counter(
        response.status_code for _, response, _ in statuses if response.status_code in (401, 403)
    )
    if sum(refused.values()) == count:
        status = refused.most_common(1)[0][0]
        raise CredentialRefused(
            f"{api.name} refused the credential ({status} on {count}/{count} operations): "
            f"check {api.credential_env} (or --token)"
        )
    if all(response.status_code == 404 for _, response, _ in statuses):
        hint = base_path_hint(spec.base_path, httpx.URL(base_url).path)
        raise WrongBaseUrl(
            f"no documented path of {api.name} answered at {base_url} (404 on {count}/{count}): {hint}"
        )


def probe_credentials(
    api: ApiInfo,
    spec: Spec,
    base_url: str,
    token: str,
    policy: RequestPolicy = DEFAULT_POLICY,
) -> Iterator[Step]:
    """Call every operation without credentials: the refusal is judged like any response (its
    status and error body), and an operation that answers 2xx although it declares security, or
    takes the credential in the vendor's query parameter, does not enforce authentication."""
    with polite_client(policy) as client:
        caller = ApiCaller(api, spec, base_url, token, client, policy)
        for operation in spec.operations.values():
            _, response, checked = caller.call(caller.example_step(operation), credentials=False)
            yield checked
            carried = api.query_carrier in {parameter["name"] for parameter in spec.parameters(operation)}
            if response is not None and response.is_success and (spec.secured(operation) or carried):
                ignored = caller.deviation(
                    operation,
                    response.status_code,
                    "status",
                    "auth-not-enforced",
                    "401 or 403",
                    response.status_code,
                )
                yield Step(operation, [ignored], checked.request)


def base_path_hint(documented: str, given: str) -> str:
    """What to check when no documented path answers: a base URL's path that lacks the documented
    base path, or carries segments after it (``/api/v1`` where the paths already start ``/v1``)."""
    given = given.rstrip("/")
    if documented and not given.endswith(documented):
        at = given.find(documented + "/")
        if at >= 0:
            extra = given[at + len(documented) :]
            return f"the base URL has {extra} after {documented}: the documented paths add it themselves"
        return f"is the base URL missing {documented}?"
    return "check the base URL and the ids the spec's examples name"
