"""The broker: request handling over the Rust store (Java: ``BrokerController``)."""
