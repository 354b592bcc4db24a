"""Loaded by pytest before Django's settings (`-p config.pytest_env` in pyproject.toml): the tests
run as a development install (DEBUG on, the demo's keys) unless the caller says otherwise.
Settings refuse to load without keys when DEBUG is off, and pytest-django reads them before any
conftest runs, so this cannot live in tests/conftest.py."""

import os

os.environ.setdefault("DJANGO_DEBUG", "1")
# Suites and fuzzers fire thousands of requests a minute with one key; the rate-limit tests
# (tests/access) set the limits they test.
os.environ.setdefault("API_RATE_LIMIT_PER_KEY", "100000/min")
os.environ.setdefault("API_RATE_LIMIT_PER_PARTNER", "100000/min")
os.environ.setdefault("USER_RATE_LIMIT", "100000/min")
