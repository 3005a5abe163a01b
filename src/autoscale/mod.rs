//! Autoscalers: controllers that change replica counts during a run.

pub mod hpa;
pub mod hpa_config;
