"""Generators of the files the loader tests read, made the way real tools make them."""
