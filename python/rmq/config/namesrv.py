"""NameServer settings (Java: ``NamesrvConfig``)."""

from pydantic import Field

from rmq.config.settings import (
    JavaSettings,
    default_kv_config_path,
    default_namesrv_config_path,
)


class NamesrvConfig(JavaSettings):
    rocketmq_home: str | None = Field(None, alias="rocketmqHome")
    kv_config_path: str = Field(default_factory=default_kv_config_path, alias="kvConfigPath")
    config_store_path: str = Field(
        default_factory=default_namesrv_config_path, alias="configStorePath"
    )
    product_env_name: str = Field("center", alias="productEnvName")
    cluster_test: bool = Field(False, alias="clusterTest")
    order_message_enable: bool = Field(False, alias="orderMessageEnable")

    # rmq additions: Apache RocketMQ 4.9 hard-codes these (10 s scan, 120 s expiry).
    scan_not_active_broker_interval: int = Field(10_000, gt=0, alias="scanNotActiveBrokerInterval")
    broker_channel_expired_time: int = Field(120_000, gt=0, alias="brokerChannelExpiredTime")
