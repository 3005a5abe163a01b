//! Autoscalers: controllers that change replica counts during a run.

pub mod asg;
pub mod asg_config;
pub mod driver;
pub mod hpa;
pub mod hpa_config;
