"""``conformance list``: the vendors, their operations and catalogues, or the nightly matrix."""

from __future__ import annotations

import argparse
import json

from conformance.vendors.registry import APIS


def list_command(args: argparse.Namespace) -> int:
    from conformance.contract.catalogue import load_catalogue
    from conformance.contract.specs import load_spec

    if args.json:  # the nightly workflow's vendor matrix
        vendors = [
            {"api": name, "title": api.title, "credential": api.credential_env, "base_url": api.base_url_env}
            # a vendor that issues tokens: the variables of the client a nightly job signs in as
            | (
                {"client_id": api.oauth.client_id_env, "client_secret": api.oauth.client_secret_env}
                if api.oauth
                else {}
            )
            for name, api in APIS.items()
        ]
        print(json.dumps(vendors))
        return 0

    for name, api in APIS.items():
        spec, catalogue = load_spec(name), load_catalogue(name)
        print(f"{name}: {api.title} — {len(spec.operations)} operations, {len(catalogue.quirks)} catalogued")
        for operation in spec.operations.values():
            print(f"  {operation.id:<28} {operation.label}")
        assumptions = spec.assumptions()
        print(f"  assumptions where the documents are silent: {len(assumptions)}")
        for reason, pointers in assumptions.items():
            where = pointers[0] + (f" and {len(pointers) - 1} more" if len(pointers) > 1 else "")
            print(f"    - {' '.join(reason.split())} [{where}]")
    return 0
