"""Consumers: push (listener driven), lite pull (poll), plain pull."""
