"""Vocabulary shared by every rmq process and client."""
