"""rmq.client: a pure-Python asyncio RocketMQ client for rmq and Apache RocketMQ 4.9.x.

The names follow the Java client's (``DefaultMQProducer`` is :class:`Producer`,
``DefaultMQPushConsumer`` is :class:`PushConsumer`, options in snake_case);
:mod:`rmq.client.blocking` wraps them for scripts that do not use asyncio.
"""

from rmq.client.allocate import (
    AllocateAveragely,
    AllocateAveragelyByCircle,
    AllocateByConfig,
    AllocateByMachineRoom,
    AllocateConsistentHash,
)
from rmq.client.config import ClientConfig
from rmq.client.consumer.base import (
    CONSUME_FROM_FIRST_OFFSET,
    CONSUME_FROM_LAST_OFFSET,
    CONSUME_FROM_TIMESTAMP,
)
from rmq.client.consumer.listener import (
    ConsumeConcurrentlyContext,
    ConsumeConcurrentlyStatus,
    ConsumeOrderlyContext,
    ConsumeOrderlyStatus,
)
from rmq.client.consumer.lite_pull import LitePullConsumer
from rmq.client.consumer.pull import PullConsumer
from rmq.client.consumer.push import PushConsumer
from rmq.client.consumer.rebalance import BROADCASTING, CLUSTERING
from rmq.client.errors import BrokerError, ClientError
from rmq.client.message import (
    Message,
    MessageExt,
    MessageQueue,
    PullResult,
    PullStatus,
    SendResult,
    SendStatus,
)
from rmq.client.producer import Producer, SendCallback, split_batch
from rmq.client.transaction import (
    LocalTransactionState,
    TransactionListener,
    TransactionProducer,
    TransactionSendResult,
)

__all__ = [
    "BROADCASTING",
    "CLUSTERING",
    "CONSUME_FROM_FIRST_OFFSET",
    "CONSUME_FROM_LAST_OFFSET",
    "CONSUME_FROM_TIMESTAMP",
    "AllocateAveragely",
    "AllocateAveragelyByCircle",
    "AllocateByConfig",
    "AllocateByMachineRoom",
    "AllocateConsistentHash",
    "BrokerError",
    "ClientConfig",
    "ClientError",
    "ConsumeConcurrentlyContext",
    "ConsumeConcurrentlyStatus",
    "ConsumeOrderlyContext",
    "ConsumeOrderlyStatus",
    "LitePullConsumer",
    "LocalTransactionState",
    "Message",
    "MessageExt",
    "MessageQueue",
    "Producer",
    "PullConsumer",
    "PullResult",
    "PullStatus",
    "PushConsumer",
    "SendCallback",
    "SendResult",
    "SendStatus",
    "TransactionListener",
    "TransactionProducer",
    "TransactionSendResult",
    "split_batch",
]
