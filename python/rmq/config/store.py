"""Message store settings (Java: ``MessageStoreConfig``)."""

from enum import StrEnum
from typing import ClassVar

from pydantic import Field

from rmq.config.settings import JavaSettings, default_store_root


class BrokerRole(StrEnum):
    ASYNC_MASTER = "ASYNC_MASTER"
    SYNC_MASTER = "SYNC_MASTER"
    SLAVE = "SLAVE"


class FlushDiskType(StrEnum):
    ASYNC_FLUSH = "ASYNC_FLUSH"
    SYNC_FLUSH = "SYNC_FLUSH"


class MessageStoreConfig(JavaSettings):
    store_path_root_dir: str = Field(default_factory=default_store_root, alias="storePathRootDir")
    store_path_commit_log: str | None = Field(None, alias="storePathCommitLog")
    store_path_dledger_commit_log: str | None = Field(None, alias="storePathDLedgerCommitLog")
    read_only_commit_log_store_paths: str | None = Field(None, alias="readOnlyCommitLogStorePaths")
    mapped_file_size_commit_log: int = Field(
        1024 * 1024 * 1024, gt=0, alias="mappedFileSizeCommitLog"
    )
    mapped_file_size_consume_queue: int = Field(
        300000 * 20, gt=0, alias="mappedFileSizeConsumeQueue"
    )
    enable_consume_queue_ext: bool = Field(False, alias="enableConsumeQueueExt")
    mapped_file_size_consume_queue_ext: int = Field(
        48 * 1024 * 1024, alias="mappedFileSizeConsumeQueueExt"
    )
    bit_map_length_consume_queue_ext: int = Field(64, alias="bitMapLengthConsumeQueueExt")
    flush_interval_commit_log: int = Field(500, alias="flushIntervalCommitLog")
    commit_interval_commit_log: int = Field(200, alias="commitIntervalCommitLog")
    use_reentrant_lock_when_put_message: bool = Field(True, alias="useReentrantLockWhenPutMessage")
    flush_commit_log_timed: bool = Field(True, alias="flushCommitLogTimed")
    flush_interval_consume_queue: int = Field(1000, alias="flushIntervalConsumeQueue")
    clean_resource_interval: int = Field(10000, alias="cleanResourceInterval")
    delete_commit_log_files_interval: int = Field(100, alias="deleteCommitLogFilesInterval")
    delete_consume_queue_files_interval: int = Field(100, alias="deleteConsumeQueueFilesInterval")
    destroy_maped_file_interval_forcibly: int = Field(
        1000 * 120, alias="destroyMapedFileIntervalForcibly"
    )
    redelete_hanged_file_interval: int = Field(1000 * 120, alias="redeleteHangedFileInterval")
    delete_when: str = Field("04", pattern=r"^\d{1,2}(;\d{1,2})*$", alias="deleteWhen")
    disk_max_used_space_ratio: int = Field(75, ge=0, le=100, alias="diskMaxUsedSpaceRatio")
    file_reserved_time: int = Field(72, ge=0, alias="fileReservedTime")
    put_msg_index_hight_water: int = Field(600000, alias="putMsgIndexHightWater")
    max_message_size: int = Field(1024 * 1024 * 4, gt=0, alias="maxMessageSize")
    check_crc_on_recover: bool = Field(True, alias="checkCRCOnRecover")
    flush_commit_log_least_pages: int = Field(4, alias="flushCommitLogLeastPages")
    commit_commit_log_least_pages: int = Field(4, alias="commitCommitLogLeastPages")
    flush_least_pages_when_warm_maped_file: int = Field(
        1024 // 4 * 16, alias="flushLeastPagesWhenWarmMapedFile"
    )
    flush_consume_queue_least_pages: int = Field(2, alias="flushConsumeQueueLeastPages")
    flush_commit_log_thorough_interval: int = Field(
        1000 * 10, alias="flushCommitLogThoroughInterval"
    )
    commit_commit_log_thorough_interval: int = Field(200, alias="commitCommitLogThoroughInterval")
    flush_consume_queue_thorough_interval: int = Field(
        1000 * 60, alias="flushConsumeQueueThoroughInterval"
    )
    max_transfer_bytes_on_message_in_memory: int = Field(
        1024 * 256, alias="maxTransferBytesOnMessageInMemory"
    )
    max_transfer_count_on_message_in_memory: int = Field(
        32, alias="maxTransferCountOnMessageInMemory"
    )
    max_transfer_bytes_on_message_in_disk: int = Field(
        1024 * 64, alias="maxTransferBytesOnMessageInDisk"
    )
    max_transfer_count_on_message_in_disk: int = Field(8, alias="maxTransferCountOnMessageInDisk")
    access_message_in_memory_max_ratio: int = Field(40, alias="accessMessageInMemoryMaxRatio")
    message_index_enable: bool = Field(True, alias="messageIndexEnable")
    max_hash_slot_num: int = Field(5000000, alias="maxHashSlotNum")
    max_index_num: int = Field(5000000 * 4, alias="maxIndexNum")
    max_msgs_num_batch: int = Field(64, alias="maxMsgsNumBatch")
    message_index_safe: bool = Field(False, alias="messageIndexSafe")
    ha_listen_port: int = Field(10912, ge=1, le=65535, alias="haListenPort")
    ha_send_heartbeat_interval: int = Field(1000 * 5, alias="haSendHeartbeatInterval")
    ha_housekeeping_interval: int = Field(1000 * 20, alias="haHousekeepingInterval")
    ha_transfer_batch_size: int = Field(1024 * 32, alias="haTransferBatchSize")
    ha_master_address: str | None = Field(None, alias="haMasterAddress")
    ha_slave_fallbehind_max: int = Field(1024 * 1024 * 256, alias="haSlaveFallbehindMax")
    broker_role: BrokerRole = Field(BrokerRole.ASYNC_MASTER, alias="brokerRole")
    flush_disk_type: FlushDiskType = Field(FlushDiskType.ASYNC_FLUSH, alias="flushDiskType")
    sync_flush_timeout: int = Field(1000 * 5, alias="syncFlushTimeout")
    slave_timeout: int = Field(3000, alias="slaveTimeout")
    message_delay_level: str = Field(
        "1s 5s 10s 30s 1m 2m 3m 4m 5m 6m 7m 8m 9m 10m 20m 30m 1h 2h", alias="messageDelayLevel"
    )
    flush_delay_offset_interval: int = Field(1000 * 10, alias="flushDelayOffsetInterval")
    clean_file_forcibly_enable: bool = Field(True, alias="cleanFileForciblyEnable")
    warm_maped_file_enable: bool = Field(False, alias="warmMapedFileEnable")
    offset_check_in_slave: bool = Field(False, alias="offsetCheckInSlave")
    debug_lock_enable: bool = Field(False, alias="debugLockEnable")
    duplication_enable: bool = Field(False, alias="duplicationEnable")
    disk_fall_recorded: bool = Field(True, alias="diskFallRecorded")
    os_page_cache_busy_time_out_mills: int = Field(1000, alias="osPageCacheBusyTimeOutMills")
    default_query_max_num: int = Field(32, alias="defaultQueryMaxNum")
    transient_store_pool_enable: bool = Field(False, alias="transientStorePoolEnable")
    transient_store_pool_size: int = Field(5, alias="transientStorePoolSize")
    fast_fail_if_no_buffer_in_store_pool: bool = Field(False, alias="fastFailIfNoBufferInStorePool")
    enable_dleger_commit_log: bool = Field(False, alias="enableDLegerCommitLog")
    dleger_group: str | None = Field(None, alias="dLegerGroup")
    dleger_peers: str | None = Field(None, alias="dLegerPeers")
    dleger_self_id: str | None = Field(None, alias="dLegerSelfId")
    preferred_leader_id: str | None = Field(None, alias="preferredLeaderId")
    enable_batch_push: bool = Field(False, alias="enableBatchPush")
    enable_schedule_message_stats: bool = Field(True, alias="enableScheduleMessageStats")
    enable_lmq: bool = Field(False, alias="enableLmq")
    enable_multi_dispatch: bool = Field(False, alias="enableMultiDispatch")
    max_lmq_consume_queue_num: int = Field(20000, alias="maxLmqConsumeQueueNum")
    enable_schedule_async_deliver: bool = Field(False, alias="enableScheduleAsyncDeliver")
    schedule_async_deliver_max_pending_limit: int = Field(
        2000, alias="scheduleAsyncDeliverMaxPendingLimit"
    )
    schedule_async_deliver_max_resend_num2_blocked: int = Field(
        3, alias="scheduleAsyncDeliverMaxResendNum2Blocked"
    )

    # Not keys of Apache RocketMQ 4.9 (it derives these from storePathRootDir and ignores
    # them), but the seed's broker files set them, so rmq honours them when present.
    store_path_consume_queue: str | None = Field(None, alias="storePathConsumeQueue")
    store_path_index: str | None = Field(None, alias="storePathIndex")
    store_checkpoint: str | None = Field(None, alias="storeCheckpoint")
    abort_file: str | None = Field(None, alias="abortFile")

    legacy_keys: ClassVar[dict[str, tuple[str, ...]]] = {
        "mappedFileSizeCommitLog": ("mapedFileSizeCommitLog",),
        "mappedFileSizeConsumeQueue": ("mapedFileSizeConsumeQueue",),
        "storePathConsumeQueue": ("storePathConsumerQueue",),
    }
