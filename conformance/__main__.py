from conformance.cli.main import console

raise SystemExit(console())
