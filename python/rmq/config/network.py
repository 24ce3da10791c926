"""Network settings of the remoting server and client (Java: ``NettyServerConfig``,
``NettyClientConfig``). Many are Netty thread and buffer knobs that rmq accepts so that
existing files load; the ones rmq acts on are noted in README's configuration section."""

from typing import Annotated

from pydantic import Field

from rmq.config.settings import CPUS, JavaSettings

Port = Annotated[int, Field(ge=1, le=65535)]


class NettyServerConfig(JavaSettings):
    listen_port: Port = Field(8888, alias="listenPort")
    server_worker_threads: int = Field(8, alias="serverWorkerThreads")
    server_callback_executor_threads: int = Field(0, alias="serverCallbackExecutorThreads")
    server_selector_threads: int = Field(3, alias="serverSelectorThreads")
    server_oneway_semaphore_value: int = Field(256, alias="serverOnewaySemaphoreValue")
    server_async_semaphore_value: int = Field(64, alias="serverAsyncSemaphoreValue")
    server_channel_max_idle_time_seconds: int = Field(120, alias="serverChannelMaxIdleTimeSeconds")
    server_socket_snd_buf_size: int = Field(0, alias="serverSocketSndBufSize")
    server_socket_rcv_buf_size: int = Field(0, alias="serverSocketRcvBufSize")
    write_buffer_high_water_mark: int = Field(0, alias="writeBufferHighWaterMark")
    write_buffer_low_water_mark: int = Field(0, alias="writeBufferLowWaterMark")
    server_socket_backlog: int = Field(1024, alias="serverSocketBacklog")
    server_pooled_byte_buf_allocator_enable: bool = Field(
        True, alias="serverPooledByteBufAllocatorEnable"
    )
    use_epoll_native_selector: bool = Field(False, alias="useEpollNativeSelector")

    # rmq additions: Java takes these from system properties or 5.x keys.
    bind_address: str = Field("0.0.0.0", alias="bindAddress")
    frame_max_length: int = Field(16 * 1024 * 1024, ge=1024, alias="frameMaxLength")


class NettyClientConfig(JavaSettings):
    client_worker_threads: int = Field(4, alias="clientWorkerThreads")
    client_callback_executor_threads: int = Field(CPUS, alias="clientCallbackExecutorThreads")
    client_oneway_semaphore_value: int = Field(65535, alias="clientOnewaySemaphoreValue")
    client_async_semaphore_value: int = Field(65535, alias="clientAsyncSemaphoreValue")
    connect_timeout_millis: int = Field(3000, alias="connectTimeoutMillis")
    channel_not_active_interval: int = Field(1000 * 60, alias="channelNotActiveInterval")
    client_channel_max_idle_time_seconds: int = Field(120, alias="clientChannelMaxIdleTimeSeconds")
    client_socket_snd_buf_size: int = Field(0, alias="clientSocketSndBufSize")
    client_socket_rcv_buf_size: int = Field(0, alias="clientSocketRcvBufSize")
    client_pooled_byte_buf_allocator_enable: bool = Field(
        False, alias="clientPooledByteBufAllocatorEnable"
    )
    client_close_socket_if_timeout: bool = Field(True, alias="clientCloseSocketIfTimeout")
    use_tls: bool = Field(False, alias="useTLS")
    write_buffer_high_water_mark: int = Field(0, alias="writeBufferHighWaterMark")
    write_buffer_low_water_mark: int = Field(0, alias="writeBufferLowWaterMark")
