"""Lists do what their parameters say, over many pages and many choices of parameters.

Each page is judged as it arrives (``behaviour.list_honours_its_parameters``: the limit, the
filters, no item twice on the page). What only a walk through the pages shows is judged here:
no item on two pages, and a total (where the list returns one) that agrees with the pages and
stays the same from page to page. Hypothesis chooses the page sizes within the documented
bounds and the filter values (the documented enumeration, else the values the server's own
first page shows), so each property is tried over many inputs rather than one example.

A live server's lists change while they are read (a run moves to another status, a new run
is listed first), and offset paging then repeats or skips an item without any lie. A walk that
finds an item on two pages or a total that disagrees is therefore walked again, and judged
only when the second walk sees the same pages: a server that ignores its offset does so every
time, a list that merely moved does not stay put.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st

from conformance.contract.extensions import ListSpec
from conformance.contract.model import Operation, Spec
from conformance.contract.parameters import parameters
from conformance.engine.caller import ApiCaller, Step
from conformance.findings import Deviation
from conformance.http.policy import DEFAULT_POLICY, RequestPolicy
from conformance.http.polite import polite_client
from conformance.judge.behaviour import describe, pointer_get
from conformance.vendors.registry import ApiInfo

#: Pages read per walk; page sizes are chosen up to ``LIMIT_CAP`` so that a few pages cover a list.
MAX_PAGES = 6
LIMIT_CAP = 4
#: Walks of one choice of parameters before a changing list is left unjudged.
WALKS = 3
#: Hypothesis examples per list: ``--max-examples``, within these bounds.
MIN_EXAMPLES, MAX_EXAMPLES = 3, 8


@dataclass
class Page:
    """One page of a walk: what was asked, the ids it listed, its total, and its checked step."""

    number: int
    params: dict[str, Any]
    ids: list[str]
    total: Any
    step: Step
    #: No page follows (the list says so); ``False`` on the last page a capped walk read.
    final: bool = False


def _same_origin(url: str, base_url: str) -> bool:
    """Credentials go only where the run was pointed: a ``next`` link elsewhere is not followed."""
    one, other = httpx.URL(url), httpx.URL(base_url)
    return (one.scheme, one.host, one.port) == (other.scheme, other.host, other.port)


def pages(
    caller: ApiCaller, operation: Operation, listing: ListSpec, values: dict[str, Any], max_pages: int
) -> Iterator[Page]:
    """Read a list page after page, from ``values`` (its path and query parameters)."""
    params, url = dict(values), None
    path_values = {k: v for k, v in values.items() if "{" + k + "}" in operation.path}
    followed: set[str] = set()
    paging = listing.paging
    for number in range(1, max_pages + 1):
        if url is None:
            _, response, step = caller.call({"operation": operation.id, "parameters": params})
        else:
            response, step = caller.call_url(operation, url, {**values, **path_values})
        body = _json(response)
        items = pointer_get(body, listing.items)
        if not isinstance(items, list):  # an error or an unreadable page: the walk is cut short
            yield Page(number, params, [], None, step)
            return
        ids = [str(i) for i in (pointer_get(item, listing.id) for item in items) if i is not None]
        total = pointer_get(body, listing.total) if listing.total else None
        following, url = None, None
        if paging is not None and items:
            if paging.style == "offset" and paging.parameter:
                limit = params.get(listing.limit or "")
                offset = int(params.get(paging.parameter) or 0) + len(items)
                full = not isinstance(limit, int) or len(items) >= limit
                if full and not (isinstance(total, int) and offset >= total):
                    following = {**params, paging.parameter: offset}
            elif paging.style == "token" and paging.parameter:
                token = pointer_get(body, paging.source)
                if isinstance(token, str) and token and token not in followed:
                    followed.add(token)
                    following = {**params, paging.parameter: token}
            elif paging.style == "next":
                link = pointer_get(body, paging.source)
                if isinstance(link, str) and link not in followed and _same_origin(link, caller.base_url):
                    followed.add(link)
                    url = link
                    following = dict(params)
        yield Page(number, params, ids, total, step, final=following is None)
        if following is None:
            return
        params = following


def _json(response: httpx.Response | None) -> Any:
    if response is None or not response.is_success:
        return None
    try:
        return response.json()
    except ValueError:
        return None


def judge_walk(
    spec: Spec, operation: Operation, listing: ListSpec, walk: list[Page], asked: str
) -> list[tuple[Deviation, str]]:
    """What only the pages together show: an item on two pages, a total that disagrees."""
    return [
        *_duplicate_item(spec, operation, listing, walk, asked),
        *_total_mismatch(spec, operation, listing, walk, asked),
    ]


def _duplicate_item(
    spec: Spec, operation: Operation, listing: ListSpec, walk: list[Page], asked: str
) -> list[tuple[Deviation, str]]:
    """The first item of the walk listed on an earlier page too, with the two pages' requests."""
    where: dict[str, Page] = {}
    for page in walk:
        for item_id in dict.fromkeys(page.ids):
            first = where.get(item_id)
            if first is not None and first is not page:
                deviation = _deviation(
                    spec,
                    operation,
                    listing.item_location(listing.id),
                    "duplicate-item",
                    "each item once",
                    item_id,
                    f"item `{item_id}` is on page {first.number} and page {page.number} ({asked})",
                    listing.paging.assumption if listing.paging else None,
                    listing,
                )
                return [(deviation, f"{first.step.request}\n{page.step.request}")]
            where.setdefault(item_id, page)
    return []


def _total_mismatch(
    spec: Spec, operation: Operation, listing: ListSpec, walk: list[Page], asked: str
) -> list[tuple[Deviation, str]]:
    """A total that changed from page to page, or disagrees with the items the pages hold (all of
    them when the walk reached the last page, at least those read when it was capped)."""
    totals = [page for page in walk if isinstance(page.total, int) and not isinstance(page.total, bool)]
    if not listing.total or not totals:
        return []
    counted = sum(len(page.ids) for page in walk)
    changed = next((page for page in totals if page.total != totals[0].total), None)
    if changed is not None:
        expected, observed, page = totals[0].total, changed.total, changed
        message = (
            f"the total went from {totals[0].total} on page {totals[0].number} to {changed.total} "
            f"on page {changed.number} ({asked})"
        )
    elif walk[-1].final and totals[0].total != counted:
        expected, observed, page = counted, totals[0].total, walk[-1]
        message = (
            f"total is {totals[0].total}, but paging through ({asked}) yielded {counted} items "
            f"in {len(walk)} page(s)"
        )
    elif totals[0].total < counted:
        expected, observed, page = f"at least {counted}", totals[0].total, walk[-1]
        message = (
            f"total is {totals[0].total}, but the first {len(walk)} pages ({asked}) hold {counted} items"
        )
    else:
        return []
    deviation = _deviation(
        spec, operation, listing.total, "total-mismatch", expected, observed, message, None, listing
    )
    requests = walk[0].step.request if page is walk[0] else f"{walk[0].step.request}\n{page.step.request}"
    return [(deviation, requests)]


def _deviation(
    spec: Spec,
    operation: Operation,
    location: str,
    kind: str,
    expected: Any,
    observed: Any,
    message: str,
    assumption: str | None,
    listing: ListSpec,
) -> Deviation:
    return Deviation(
        spec.api.name,
        operation.id,
        200,
        location,
        kind,
        expected,
        observed,
        message,
        assumption or listing.assumption,
    )


class ListExplorer:
    """Walks one list operation with parameters hypothesis chooses."""

    def __init__(self, caller: ApiCaller, operation: Operation, listing: ListSpec) -> None:
        self.caller, self.operation, self.listing = caller, operation, listing
        self.spec = caller.spec
        self.base = caller.example_step(operation)["parameters"]

    def walk(self, values: dict[str, Any]) -> Iterator[Step]:
        """Walk the pages for ``values``; a cross-page finding counts once two walks agree on the pages."""
        asked = describe(values, [self.listing.limit or "", *(f.parameter for f in self.listing.filters)])
        previous: list[list[str]] | None = None
        for _ in range(WALKS):
            walk = list(pages(self.caller, self.operation, self.listing, values, MAX_PAGES))
            for page in walk:
                yield page.step
            found = judge_walk(self.spec, self.operation, self.listing, walk, asked or "no parameters")
            if not found:
                return
            shape = [[*page.ids, str(page.total)] for page in walk]
            if shape == previous:
                for deviation, requests in found:
                    yield Step(self.operation, [deviation], requests)
                return
            previous = shape

    def strategy(
        self, first: dict[str, list[Any]]
    ) -> tuple[st.SearchStrategy[dict[str, Any]], dict[str, Any]] | None:
        """Page sizes within the documented bounds, and filter values: the documented enumeration,
        else what the server's first page lists (and the documented example). With it, the choice
        tried first: the smallest page, and for each optional filter a value that some item of the
        first page does not have (so that a server ignoring the filter shows it)."""
        known = parameters(self.spec, self.operation.id)
        fixed: dict[str, st.SearchStrategy[Any]] = {}
        optional: dict[str, st.SearchStrategy[Any]] = {}
        telling: dict[str, Any] = {}
        listing = self.listing
        if listing.limit and listing.limit in known:
            low, high = _bounds(self.spec, known[listing.limit].schema)
            fixed[listing.limit] = st.integers(low, high)
            telling[listing.limit] = low
        for rule in listing.filters:
            parameter = known.get(rule.parameter)
            if parameter is None:
                continue
            listed = [str(v) for v in first.get(rule.field, []) if isinstance(v, str | int)]
            values = _enum(self.spec, parameter.schema) or sorted(
                set(listed) | ({str(self.base[rule.parameter])} if rule.parameter in self.base else set())
            )
            if not values:
                if parameter.required:
                    return None
                continue
            (fixed if parameter.required else optional)[rule.parameter] = st.sampled_from(values)
            if parameter.required:
                telling[rule.parameter] = self.base.get(rule.parameter, values[0])
            else:
                telling[rule.parameter] = next((v for v in values if any(v != x for x in listed)), values[0])
        if not fixed and not optional:
            return None
        return st.fixed_dictionaries(fixed, optional=optional), telling

    def explore(self, examples: int, seed: int | None) -> Iterator[Step]:
        first_values: dict[str, list[Any]] = {}
        _, response, step = self.caller.call({"operation": self.operation.id, "parameters": self.base})
        yield step
        items = pointer_get(_json(response), self.listing.items)
        if not isinstance(items, list):
            return  # the documented example names nothing this server lists (a real tenant's ids differ)
        for rule in self.listing.filters:
            first_values[rule.field] = [pointer_get(item, rule.field) for item in items]
        chosen = self.strategy(first_values)
        if chosen is None:
            return
        strategy, telling = chosen
        steps: list[Step] = []

        @settings(
            max_examples=max(MIN_EXAMPLES, min(examples, MAX_EXAMPLES)),
            phases=[Phase.explicit, Phase.generate],
            database=None,
            deadline=None,
            derandomize=seed is None,
            suppress_health_check=list(HealthCheck),
            print_blob=False,
        )
        @example(telling)
        @given(strategy)
        def probe(choice: dict[str, Any]) -> None:
            steps.extend(self.walk({**self.base, **choice}))

        if seed is not None:
            probe = hypothesis_seed(seed)(probe)
        probe()
        yield from steps


def _bounds(spec: Spec, schema: dict[str, Any]) -> tuple[int, int]:
    """The page sizes to try: from the documented minimum (at least 1) up to ``LIMIT_CAP``."""
    numeric = [spec.resolve(s) for s in (schema, *schema.get("anyOf", []), *schema.get("oneOf", []))]
    minimum = max((s["minimum"] for s in numeric if "minimum" in s), default=1)
    maximum = min((s["maximum"] for s in numeric if "maximum" in s), default=LIMIT_CAP)
    low = max(1, math.ceil(minimum))
    return low, max(low, min(LIMIT_CAP, math.floor(maximum)))


def _enum(spec: Spec, schema: Any) -> list[Any]:
    schema = spec.resolve(schema)
    if not isinstance(schema, dict):
        return []
    if "enum" in schema:
        return [value for value in schema["enum"] if value is not None]
    for keyword in ("anyOf", "oneOf", "allOf"):
        for branch in schema.get(keyword) or []:
            found = _enum(spec, branch)
            if found:
                return found
    return []


def explore(caller: ApiCaller, examples: int, seed: int | None) -> Iterator[Step]:
    """Every list operation of the caller's spec with an ``x-list``."""
    for operation in caller.spec.operations.values():
        listing = operation.listing
        if listing is not None:
            yield from ListExplorer(caller, operation, listing).explore(examples, seed)


def explore_lists(
    api: ApiInfo,
    spec: Spec,
    base_url: str,
    token: str,
    policy: RequestPolicy = DEFAULT_POLICY,
    examples: int = 10,
    seed: int | None = None,
) -> Iterator[Step]:
    """Page through every list with an ``x-list``, its page sizes and filters chosen by hypothesis."""
    with polite_client(policy) as client:
        yield from explore(ApiCaller(api, spec, base_url, token, client, policy), examples, seed)
