"""Talking to servers: request policy, bounded transport, OAuth sign-in."""
