//! Autoscalers: controllers that change replica counts during a run.

pub mod driver;
pub mod hpa;
pub mod hpa_config;
