"""Master/slave replication over the HA port, in RocketMQ 4.x's wire format, so an rmq slave
can follow an Apache master and the other way round."""
