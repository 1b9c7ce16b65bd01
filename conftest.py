"""Top-level conftest: the xenlab plugin (layout: see pytest.ini). An installed xenlab also
registers it through its pytest11 entry point; then this line finds it loaded already."""

pytest_plugins = ["xenlab.plugin"]
