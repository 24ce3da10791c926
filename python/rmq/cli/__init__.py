"""Console entry points: rmq-namesrv, rmq-broker, rmq-standalone, rmq-admin."""
