//! Autoscalers: controllers that change replica counts during a run.

pub mod driver;
pub mod asg;
pub mod asg_config;
pub mod hpa;
pub mod hpa_config;
