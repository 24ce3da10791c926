"""The broker's reading of SEND_MESSAGE / SEND_MESSAGE_V2 headers: the same header from
either encoding, and bad fields refused with the field's name."""

import pytest

from rmq.broker.processors.send import SendHeader, parse_header
from rmq.common.codes import ResponseCode
from rmq.remoting.errors import RequestError
from tests.harness.broker_requests import send_request


def header(v2: bool, **fields: str | None) -> SendHeader:
    req = send_request("T", b"x", queue_id=3, v2=v2)
    assert req.ext_fields is not None
    short = {"producerGroup": "a", "queueId": "e", "bornTimestamp": "g", "batch": "m",
             "maxReconsumeTimes": "l", "reconsumeTimes": "j", "properties": "i"}  # fmt: skip
    for name, value in fields.items():
        key = short[name] if v2 else name
        if value is None:
            req.ext_fields.pop(key, None)
        else:
            req.ext_fields[key] = value
    return parse_header(req)


@pytest.mark.parametrize("v2", [True, False])
def test_both_encodings_read_the_same_fields(v2: bool) -> None:
    h = header(v2, maxReconsumeTimes="3", reconsumeTimes=" 2 ", batch="TRUE")
    assert (h.producer_group, h.topic, h.default_topic) == ("test_producer", "T", "TBW102")
    assert (h.default_topic_queue_nums, h.queue_id, h.sys_flag, h.flag) == (4, 3, 0, 0)
    assert (h.reconsume_times, h.max_reconsume_times, h.batch) == (2, 3, True)
    assert h.properties == "WAIT\x01true"


@pytest.mark.parametrize("v2", [True, False])
def test_optional_fields_take_their_defaults(v2: bool) -> None:
    h = header(v2, reconsumeTimes=None, batch=None, properties=None)
    assert (h.reconsume_times, h.max_reconsume_times, h.batch, h.properties) == (0, None, False, "")


@pytest.mark.parametrize(
    ("fields", "remark"),
    [
        ({"producerGroup": None}, "the header field producerGroup is missing"),
        ({"queueId": "one"}, "the header field queueId is not an integer: 'one'"),
        ({"queueId": str(2**31)}, "the header field queueId is out of range"),
        ({"bornTimestamp": str(2**63)}, "the header field bornTimestamp is out of range"),
        ({"maxReconsumeTimes": "-2147483649"}, "the header field maxReconsumeTimes is out"),
        ({"reconsumeTimes": ""}, "the header field reconsumeTimes is not an integer"),
    ],
)
@pytest.mark.parametrize("v2", [True, False])
def test_bad_fields_are_refused_by_name(
    v2: bool, fields: dict[str, str | None], remark: str
) -> None:
    with pytest.raises(RequestError) as refused:
        header(v2, **fields)
    assert refused.value.code == ResponseCode.SYSTEM_ERROR
    assert str(refused.value.remark).startswith(remark)
