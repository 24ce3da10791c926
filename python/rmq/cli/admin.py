"""``rmq-admin``: the mqadmin command set (see :mod:`rmq.admin`)."""

from rmq.admin.main import main

__all__ = ["main"]
