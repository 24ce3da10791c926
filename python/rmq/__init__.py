"""rmq: a RocketMQ-compatible message broker with a Python control plane and a Rust store.

Packages:
- ``rmq.common``: vocabulary shared by servers and clients (codes, names, perms, versions).
- ``rmq.remoting``: the RocketMQ remoting protocol (frames, headers, asyncio server/client).
- ``rmq.config``: ``.properties`` files and the typed settings of each process.
- ``rmq.namesrv``: the NameServer.
- ``rmq.cli``: console entry points.
"""

__version__ = "0.1.0"
