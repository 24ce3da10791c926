"""rmq-console: the web dashboard (Ops, Dashboard, Cluster, Topic, Consumer, Producer,
Message, dead letters, trace) over the remoting protocol, for rmq and Apache RocketMQ alike."""
