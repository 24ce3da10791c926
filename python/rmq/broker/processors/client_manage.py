"""HEART_BEAT, UNREGISTER_CLIENT, GET_CONSUMER_LIST_BY_GROUP, CHECK_CLIENT_CONFIG
(Java: ``ClientManageProcessor``, ``ConsumerManageProcessor``)."""

from typing import Any

from rmq.broker.context import BrokerContext
from rmq.broker.subscription import EXPRESSION_TAG, Subscription, SubscriptionParseError
from rmq.common import fastjson
from rmq.common import topic as names
from rmq.common.codes import RequestCode, ResponseCode
from rmq.common.perm import PERM_READ, PERM_WRITE
from rmq.remoting.command import RemotingCommand
from rmq.remoting.connection import Connection
from rmq.remoting.dispatch import Dispatcher
from rmq.remoting.errors import RequestError
from rmq.remoting.fields import required


def _heartbeat_body(req: RemotingCommand) -> dict[str, Any]:
    try:
        data = fastjson.loads(req.body or b"{}")
    except ValueError as exc:
        raise RequestError(ResponseCode.SYSTEM_ERROR, f"bad HeartbeatData body: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("clientID"), str):
        raise RequestError(ResponseCode.SYSTEM_ERROR, "HeartbeatData needs a clientID")
    return data


class ClientManageProcessor:
    def __init__(self, ctx: BrokerContext) -> None:
        self._ctx = ctx

    def register(self, dispatcher: Dispatcher) -> None:
        dispatcher.register(RequestCode.HEART_BEAT, self.heartbeat)
        dispatcher.register(RequestCode.UNREGISTER_CLIENT, self.unregister)
        dispatcher.register(RequestCode.GET_CONSUMER_LIST_BY_GROUP, self.consumer_list)
        dispatcher.register(RequestCode.CHECK_CLIENT_CONFIG, self.check_client_config)

    def heartbeat(self, conn: Connection, req: RemotingCommand) -> RemotingCommand:
        ctx = self._ctx
        data = _heartbeat_body(req)
        client_id = data["clientID"]
        for consumer in data.get("consumerDataSet") or ():
            if not isinstance(consumer, dict) or not isinstance(consumer.get("groupName"), str):
                raise RequestError(ResponseCode.SYSTEM_ERROR, "consumer data needs a groupName")
            group = consumer["groupName"]
            try:
                subs = [
                    Subscription.from_json(s) for s in consumer.get("subscriptionDataSet") or ()
                ]
            except (SubscriptionParseError, ValueError, TypeError) as exc:
                raise RequestError(
                    ResponseCode.SUBSCRIPTION_PARSE_FAILED, f"bad subscription of {group}: {exc}"
                ) from None
            config = ctx.groups.find(group)
            if config is not None:
                ctx.topics.create_retry(
                    f"{names.RETRY_GROUP_TOPIC_PREFIX}{group}",
                    config.retry_queue_nums,
                    PERM_WRITE | PERM_READ,
                )
            ctx.clients.register_consumer(
                group,
                conn,
                client_id,
                req.language,
                req.version,
                consume_type=str(consumer.get("consumeType") or "CONSUME_PASSIVELY"),
                message_model=str(consumer.get("messageModel") or "CLUSTERING"),
                consume_from_where=str(
                    consumer.get("consumeFromWhere") or "CONSUME_FROM_LAST_OFFSET"
                ),
                subscriptions=subs,
            )
        for producer in data.get("producerDataSet") or ():
            if isinstance(producer, dict) and isinstance(producer.get("groupName"), str):
                ctx.clients.register_producer(
                    producer["groupName"], conn, client_id, req.language, req.version
                )
        return req.answer()

    def unregister(self, conn: Connection, req: RemotingCommand) -> RemotingCommand:
        required(req, "clientID")
        producer = req.field("producerGroup")
        consumer = req.field("consumerGroup")
        if producer:
            self._ctx.clients.unregister_producer(producer, conn)
        if consumer:
            self._ctx.clients.unregister_consumer(consumer, conn)
        return req.answer()

    def consumer_list(self, conn: Connection, req: RemotingCommand) -> RemotingCommand:
        group = required(req, "consumerGroup")
        info = self._ctx.clients.consumer_group(group)
        ids = info.client_ids() if info is not None else []
        if not ids:
            return req.answer(ResponseCode.SYSTEM_ERROR, f"no consumer for this group, {group}")
        return req.answer(body=fastjson.dumps({"consumerIdList": ids}))

    def check_client_config(self, conn: Connection, req: RemotingCommand) -> RemotingCommand:
        # Only SQL92/class filters need checking; TAG subscriptions always pass.
        try:
            body = fastjson.loads(req.body or b"{}")
        except ValueError as exc:
            raise RequestError(ResponseCode.SYSTEM_ERROR, f"bad body: {exc}") from None
        sub = body.get("subscriptionData") if isinstance(body, dict) else None
        if not isinstance(sub, dict):
            return req.answer()
        kind = str(sub.get("expressionType") or EXPRESSION_TAG)
        if kind == EXPRESSION_TAG:
            return req.answer()
        if not self._ctx.broker.enable_property_filter:
            return req.answer(
                ResponseCode.SYSTEM_ERROR,
                f"The broker does not support consumer to filter message by {kind}",
            )
        try:
            Subscription.parse(str(sub.get("topic") or ""), sub.get("subString"), kind, 0)
        except SubscriptionParseError as exc:
            return req.answer(ResponseCode.SUBSCRIPTION_PARSE_FAILED, str(exc))
        return req.answer()
