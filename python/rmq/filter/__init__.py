"""Message filters evaluated on the broker: RocketMQ's SQL92 selector."""
