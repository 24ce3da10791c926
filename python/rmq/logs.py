"""Process logging: ``~/logs/rocketmqlogs/<process>.log`` as RocketMQ writes it."""

import logging
import os
from pathlib import Path

from rmq.config.settings import home

FORMAT = "%(asctime)s %(levelname)s %(name)s - %(message)s"


def log_dir() -> Path:
    """``$RMQ_LOG_DIR`` if set, else ``$HOME/logs/rocketmqlogs`` (RocketMQ's place)."""
    override = os.environ.get("RMQ_LOG_DIR")
    return Path(override) if override else home() / "logs" / "rocketmqlogs"


def setup_logging(process: str, level: int = logging.INFO) -> Path:
    """Send this process's log records to ``<log_dir>/<process>.log``; return that path."""
    directory = log_dir()
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{process}.log"
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter(FORMAT))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    return path
