"""Step definitions: common.py (shared, loaded from conftest.py) and test_NN_<stage>.py."""
