"""Top-level conftest: the xenlab plugin and the shared steps (layout: see pytest.ini)."""

pytest_plugins = ["xenlab.plugin", "steps.common"]
