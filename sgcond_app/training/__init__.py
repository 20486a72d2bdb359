"""Training of the tiny backend's models on the tiny world (`python -m sgcond_app train WHAT`)."""
