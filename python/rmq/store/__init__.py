"""Typed facade over the Rust engine ``rmq._store``: results as Python values, durability
as awaitables. No storage logic lives here."""
