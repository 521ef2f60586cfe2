"""The vendor registry and the built-in vendor declarations."""
