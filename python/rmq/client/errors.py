"""What the client raises (Java: ``MQClientException``, ``MQBrokerException``)."""


class ClientError(Exception):
    """The client cannot do what was asked: no route, bad settings, not started..."""

    def __init__(self, message: str, code: int = -1) -> None:
        super().__init__(message)
        self.code = code


class BrokerError(Exception):
    """A broker (or NameServer) answered with an error code."""

    def __init__(self, code: int, remark: str | None, addr: str) -> None:
        super().__init__(f"CODE: {code} DESC: {remark} BROKER: {addr}")
        self.code = code
        self.remark = remark or ""
        self.addr = addr
