"""Test fixtures live in tests/fixtures/, one module per real service the tests start or use."""

pytest_plugins: list[str] = [
    "tests.fixtures.chain",
    "tests.fixtures.db",
    "tests.fixtures.ipfs",
    "tests.fixtures.library",
    "tests.fixtures.anchored",
    "tests.fixtures.api_server",
    "tests.fixtures.hsm",
    "tests.fixtures.credentials",
]
