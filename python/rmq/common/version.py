"""Protocol version numbers (ordinals of Java's ``MQVersion.Version``).

Every command carries its sender's ordinal in ``version``; peers gate features on it.
"""

from typing import Final

#: V3_0_11: REGISTER_BROKER bodies from senders at or above it are RegisterBrokerBody JSON.
V3_0_11: Final = 37
#: V3_4_9: a broker honours maxReconsumeTimes from send headers of senders above it.
V3_4_9: Final = 121
#: V4_1_0_SNAPSHOT: a Java consumer refuses SQL92 filters against servers below it.
V4_1_0_SNAPSHOT: Final = 232
#: V4_9_4: a NameServer answers standard (quoted-key) route JSON to requests at or above it.
V4_9_4: Final = 401
#: V4_9_7: what rmq stamps on everything it sends, and reports as its version.
V4_9_7: Final = 407

CURRENT_VERSION: Final = V4_9_7
CURRENT_VERSION_DESC: Final = "V4_9_7"
