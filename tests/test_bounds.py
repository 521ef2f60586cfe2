"""``bounds.ReadLimits``: how much of a body and of a file a command reads, one value from where
``--max-body-mb`` is read to every reader, so that the file bound is worked out in one place."""

from __future__ import annotations

import dataclasses

import pytest

from conformance.bounds import DEFAULT_LIMITS, FILE_BODIES, MAX_BODY_BYTES, ReadLimits

MB = 1024 * 1024


def test_the_limits_of_a_number_of_megabytes_bound_a_body_and_a_file_of_several_bodies() -> None:
    limits = ReadLimits.from_megabytes(0.5)
    assert limits == ReadLimits(MB // 2)
    assert (limits.body_bytes, limits.file_bytes) == (MB // 2, FILE_BODIES * MB // 2)
    assert DEFAULT_LIMITS == ReadLimits.from_megabytes(10) == ReadLimits(MAX_BODY_BYTES)
    assert DEFAULT_LIMITS.file_bytes == 40 * MB


def test_the_limits_are_a_frozen_value() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        DEFAULT_LIMITS.body_bytes = 1  # type: ignore[misc]
    assert len({ReadLimits(MB), ReadLimits.from_megabytes(1)}) == 1  # hashable, compared by value
