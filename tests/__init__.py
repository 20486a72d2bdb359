"""The test suite (a package, so that tests import their oracles as `tests.oracles...`)."""
