"""The API fixtures (an app on a fresh migrated SQLite database) of tests/api."""

from tests.api.conftest import auth_client, auth_settings, client, settings, team

__all__ = ["auth_client", "auth_settings", "client", "settings", "team"]
