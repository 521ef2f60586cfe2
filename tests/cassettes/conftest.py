from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def mock_cassettes() -> Path:
    return ROOT / "cassettes" / "mocks"


@pytest.fixture
def documented_cassettes() -> Path:
    return ROOT / "cassettes" / "documented"
