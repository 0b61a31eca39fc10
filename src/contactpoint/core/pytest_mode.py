"""A pytest plugin (loaded with ``-p`` from pyproject.toml) that selects test mode.

It must run before pytest-django imports the settings, which is earlier than any conftest.py.
"""

import os

os.environ.setdefault("CONTACTPOINT_MODE", "test")
