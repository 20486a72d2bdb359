"""Test oracles: second, independent implementations that the tests (and `bench judge`, in a source
checkout) check the runtime package against. No module of `sgcond_app` imports them."""
