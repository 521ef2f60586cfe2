"""Recorded traffic: record it redacted, replay it through the run's classifier, diff two nights."""
