import pytest

from alerts.scenarios import load_directory


@pytest.fixture
def children(tmp_path):
    return load_directory(tmp_path)
