"""Every kind of finding is a row of one table: a misspelled kind is an error where it is named,
never a new (breaking) kind; and every check that can raise a finding says what it rests on."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from conformance.contract.catalogue import load_catalogue_file
from conformance.errors import CatalogueError
from conformance.findings import Deviation
from conformance.kinds import KINDS, Basis, UnknownKind, kind_of
from conformance.vendors.registry import SPECS_DIR, get_api


def test_a_misspelled_kind_is_an_error_where_it_is_named() -> None:
    with pytest.raises(UnknownKind, match="feild-name-alias"):
        Deviation("kognitos", "getRun", 200, "/stage", "feild-name-alias", "stage", "stag")
    with pytest.raises(UnknownKind):
        kind_of("negative_data_rejectoin")


def test_a_catalogue_entry_of_a_misspelled_kind_is_refused(tmp_path: Path) -> None:
    catalogue = yaml.safe_load((SPECS_DIR / "quirks" / "kognitos.yaml").read_text())
    catalogue["quirks"][0]["kind"] = "timestamp-without-ofset"
    path = tmp_path / "kognitos.yaml"
    path.write_text(yaml.safe_dump(catalogue))
    with pytest.raises(CatalogueError, match="timestamp-without-ofset"):
        load_catalogue_file(get_api("kognitos"), path)


def test_every_schemathesis_check_that_runs_is_a_kind_with_what_it_rests_on() -> None:
    from schemathesis.checks import CHECKS

    from conformance.engine.bridge import REPLACED_CHECKS

    ours = {"conformance_contract"}  # the suite's own check: its findings carry kinds of their own
    running = {check.__name__ for check in CHECKS.get_all()} - set(REPLACED_CHECKS) - ours
    assert running <= set(KINDS)
    for name in running:
        kind = kind_of(name)
        assert kind.basis is Basis.CONTRACT or kind.rests_on, name
    conventions = {name for name, kind in KINDS.items() if kind.basis is Basis.CONVENTION}
    assert {"unsupported_method", "allow_header_conformance", "negative_data_rejection"} <= conventions
    assert "positive_data_acceptance" not in conventions and "ignored_auth" not in conventions
