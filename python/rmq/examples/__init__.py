"""Runnable equivalents of Apache RocketMQ's example programs (``python -m rmq.examples.X``);
each reads the NameServer address from NAMESRV_ADDR, as the Java examples do."""
