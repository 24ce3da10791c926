"""Configuration: ``.properties`` files and the typed settings of each rmq process."""
