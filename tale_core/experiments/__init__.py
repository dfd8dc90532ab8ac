"""Experiment kinds planned on the engine: playground, sweep, search, benchmark."""
