//! RocketMQ's SQL92 message filter, evaluated where the records are read.
pub mod java_values;
pub mod sql92;
