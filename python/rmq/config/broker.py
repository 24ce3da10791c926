"""Broker settings (Java: ``BrokerConfig``).

Thread-pool sizes and Netty knobs load (so every RocketMQ file works) but rmq runs on one
asyncio loop per process; README's configuration section says which keys rmq acts on.
"""

import socket

from pydantic import Field

from rmq.config.settings import CPUS, JavaSettings, local_address


class BrokerConfig(JavaSettings):
    rocketmq_home: str | None = Field(None, alias="rocketmqHome")
    namesrv_addr: str | None = Field(None, alias="namesrvAddr")
    broker_ip1: str = Field(default_factory=local_address, alias="brokerIP1")
    broker_ip2: str = Field(default_factory=local_address, alias="brokerIP2")
    broker_name: str = Field(default_factory=socket.gethostname, alias="brokerName")
    broker_cluster_name: str = Field("DefaultCluster", alias="brokerClusterName")
    broker_id: int = Field(0, ge=0, alias="brokerId")
    broker_permission: int = Field(6, ge=0, le=15, alias="brokerPermission")
    default_topic_queue_nums: int = Field(8, ge=1, le=1024, alias="defaultTopicQueueNums")
    auto_create_topic_enable: bool = Field(True, alias="autoCreateTopicEnable")
    cluster_topic_enable: bool = Field(True, alias="clusterTopicEnable")
    broker_topic_enable: bool = Field(True, alias="brokerTopicEnable")
    auto_create_subscription_group: bool = Field(True, alias="autoCreateSubscriptionGroup")
    message_store_plug_in: str = Field("", alias="messageStorePlugIn")
    msg_trace_topic_name: str = Field("RMQ_SYS_TRACE_TOPIC", alias="msgTraceTopicName")
    trace_topic_enable: bool = Field(False, alias="traceTopicEnable")
    send_message_thread_pool_nums: int = Field(min(CPUS, 4), alias="sendMessageThreadPoolNums")
    put_message_future_thread_pool_nums: int = Field(
        min(CPUS, 4), alias="putMessageFutureThreadPoolNums"
    )
    pull_message_thread_pool_nums: int = Field(16 + CPUS * 2, alias="pullMessageThreadPoolNums")
    process_reply_message_thread_pool_nums: int = Field(
        16 + CPUS * 2, alias="processReplyMessageThreadPoolNums"
    )
    query_message_thread_pool_nums: int = Field(8 + CPUS, alias="queryMessageThreadPoolNums")
    admin_broker_thread_pool_nums: int = Field(16, alias="adminBrokerThreadPoolNums")
    client_manage_thread_pool_nums: int = Field(32, alias="clientManageThreadPoolNums")
    consumer_manage_thread_pool_nums: int = Field(32, alias="consumerManageThreadPoolNums")
    heartbeat_thread_pool_nums: int = Field(min(32, CPUS), alias="heartbeatThreadPoolNums")
    end_transaction_thread_pool_nums: int = Field(
        max(8 + CPUS * 2, min(CPUS, 4) * 4), alias="endTransactionThreadPoolNums"
    )
    flush_consumer_offset_interval: int = Field(1000 * 5, alias="flushConsumerOffsetInterval")
    flush_consumer_offset_history_interval: int = Field(
        1000 * 60, alias="flushConsumerOffsetHistoryInterval"
    )
    reject_transaction_message: bool = Field(False, alias="rejectTransactionMessage")
    fetch_namesrv_addr_by_address_server: bool = Field(
        False, alias="fetchNamesrvAddrByAddressServer"
    )
    send_thread_pool_queue_capacity: int = Field(10000, alias="sendThreadPoolQueueCapacity")
    put_thread_pool_queue_capacity: int = Field(10000, alias="putThreadPoolQueueCapacity")
    pull_thread_pool_queue_capacity: int = Field(100000, alias="pullThreadPoolQueueCapacity")
    reply_thread_pool_queue_capacity: int = Field(10000, alias="replyThreadPoolQueueCapacity")
    query_thread_pool_queue_capacity: int = Field(20000, alias="queryThreadPoolQueueCapacity")
    client_manager_thread_pool_queue_capacity: int = Field(
        1000000, alias="clientManagerThreadPoolQueueCapacity"
    )
    consumer_manager_thread_pool_queue_capacity: int = Field(
        1000000, alias="consumerManagerThreadPoolQueueCapacity"
    )
    heartbeat_thread_pool_queue_capacity: int = Field(
        50000, alias="heartbeatThreadPoolQueueCapacity"
    )
    end_transaction_pool_queue_capacity: int = Field(
        100000, alias="endTransactionPoolQueueCapacity"
    )
    filter_server_nums: int = Field(0, alias="filterServerNums")
    long_polling_enable: bool = Field(True, alias="longPollingEnable")
    short_polling_time_mills: int = Field(1000, alias="shortPollingTimeMills")
    notify_consumer_ids_changed_enable: bool = Field(True, alias="notifyConsumerIdsChangedEnable")
    high_speed_mode: bool = Field(False, alias="highSpeedMode")
    commercial_enable: bool = Field(True, alias="commercialEnable")
    commercial_timer_count: int = Field(1, alias="commercialTimerCount")
    commercial_trans_count: int = Field(1, alias="commercialTransCount")
    commercial_big_count: int = Field(1, alias="commercialBigCount")
    commercial_base_count: int = Field(1, alias="commercialBaseCount")
    transfer_msg_by_heap: bool = Field(True, alias="transferMsgByHeap")
    max_delay_time: int = Field(40, alias="maxDelayTime")
    region_id: str = Field("DefaultRegion", alias="regionId")
    register_broker_timeout_mills: int = Field(6000, alias="registerBrokerTimeoutMills")
    slave_read_enable: bool = Field(False, alias="slaveReadEnable")
    #: Java reads this one as a JVM system property (-D...); rmq from the properties file.
    rebalance_lock_max_live_time: int = Field(
        60_000, alias="rocketmq.broker.rebalance.lockMaxLiveTime"
    )
    disable_consume_if_consumer_read_slowly: bool = Field(
        False, alias="disableConsumeIfConsumerReadSlowly"
    )
    consumer_fallbehind_threshold: int = Field(
        1024 * 1024 * 1024 * 16, alias="consumerFallbehindThreshold"
    )
    broker_fast_failure_enable: bool = Field(True, alias="brokerFastFailureEnable")
    wait_time_mills_in_send_queue: int = Field(200, alias="waitTimeMillsInSendQueue")
    wait_time_mills_in_pull_queue: int = Field(5 * 1000, alias="waitTimeMillsInPullQueue")
    wait_time_mills_in_heartbeat_queue: int = Field(
        31 * 1000, alias="waitTimeMillsInHeartbeatQueue"
    )
    wait_time_mills_in_transaction_queue: int = Field(
        3 * 1000, alias="waitTimeMillsInTransactionQueue"
    )
    start_accept_send_request_time_stamp: int = Field(0, alias="startAcceptSendRequestTimeStamp")
    trace_on: bool = Field(True, alias="traceOn")
    enable_calc_filter_bit_map: bool = Field(False, alias="enableCalcFilterBitMap")
    expect_consumer_num_use_filter: int = Field(32, alias="expectConsumerNumUseFilter")
    max_error_rate_of_bloom_filter: int = Field(20, alias="maxErrorRateOfBloomFilter")
    filter_data_clean_time_span: int = Field(24 * 3600 * 1000, alias="filterDataCleanTimeSpan")
    filter_support_retry: bool = Field(False, alias="filterSupportRetry")
    enable_property_filter: bool = Field(False, alias="enablePropertyFilter")
    compressed_register: bool = Field(False, alias="compressedRegister")
    force_register: bool = Field(True, alias="forceRegister")
    register_name_server_period: int = Field(1000 * 30, alias="registerNameServerPeriod")
    transaction_time_out: int = Field(6 * 1000, alias="transactionTimeOut")
    transaction_check_max: int = Field(15, alias="transactionCheckMax")
    transaction_check_interval: int = Field(60 * 1000, alias="transactionCheckInterval")
    acl_enable: bool = Field(False, alias="aclEnable")
    store_reply_message_enable: bool = Field(True, alias="storeReplyMessageEnable")
    enable_detail_stat: bool = Field(True, alias="enableDetailStat")
    auto_delete_unused_stats: bool = Field(False, alias="autoDeleteUnusedStats")
    isolate_log_enable: bool = Field(False, alias="isolateLogEnable")
