"""``rmq-admin``: Apache RocketMQ's mqadmin command set in Python (same names, flags and
output columns), for rmq and Apache RocketMQ clusters alike."""
