"""Shared fixtures: real PostgreSQL and Redis (found or started) for every test package.

API fixtures live in tests/api/conftest.py so the engine's unit tests import no web stack.
"""

pytest_plugins = ["tests.fixtures_services"]
