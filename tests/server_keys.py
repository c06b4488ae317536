"""Keys the test servers are configured with (imported by tests/conftest.py and
by tests that call the REST API; a module of its own because two conftest.py
files share one module name)."""

#: The bootstrap admin key of the test servers (Authorization: Bearer ADMIN_KEY).
ADMIN_KEY = "test-admin-key-0123456789"
