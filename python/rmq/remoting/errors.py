"""Errors of the remoting layer, each naming the peer an operator needs to look at."""


class RemotingError(Exception):
    """Base of every remoting failure."""


class RemotingConnectError(RemotingError):
    def __init__(self, addr: str, reason: str) -> None:
        super().__init__(f"connect to {addr} failed: {reason}")
        self.addr = addr


class RemotingTimeoutError(RemotingError):
    def __init__(self, addr: str, timeout: float, code: int) -> None:
        super().__init__(f"wait response from {addr} timed out after {timeout:g}s (request {code})")
        self.addr = addr


class ConnectionClosedError(RemotingError):
    def __init__(self, addr: str) -> None:
        super().__init__(f"connection to {addr} closed before the response arrived")
        self.addr = addr


class RequestError(Exception):
    """Raised by a request handler for bad input: answered with ``code`` and ``remark``."""

    def __init__(self, code: int, remark: str) -> None:
        super().__init__(remark)
        self.code = code
        self.remark = remark
