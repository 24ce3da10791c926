"""SEND_MESSAGE_V2 / SEND_BATCH_MESSAGE headers: the short field names Java's
``SendMessageRequestHeaderV2`` puts on the wire (smaller frames, same fields as V1)."""

from typing import Final

#: SendMessageRequestHeaderV2's one-letter names for the V1 field names.
V2_NAMES: Final = {
    "producerGroup": "a",
    "topic": "b",
    "defaultTopic": "c",
    "defaultTopicQueueNums": "d",
    "queueId": "e",
    "sysFlag": "f",
    "bornTimestamp": "g",
    "flag": "h",
    "properties": "i",
    "reconsumeTimes": "j",
    "unitMode": "k",
    "maxReconsumeTimes": "l",
    "batch": "m",
}

#: The other way round.
V1_NAMES: Final = {short: name for name, short in V2_NAMES.items()}
