"""Top-level conftest: the xenlab plugin and the shared steps (layout: see pytest.ini)."""

pytest_plugins = ["pytester", "xenlab.plugin", "steps.common"]
