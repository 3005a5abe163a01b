//! surge: a discrete-event capacity simulator and planner.
//!
//! Layers, bottom up: [`engine`] (time, events, random streams) → [`system`] (services, pods,
//! pools, databases, caches, providers) and [`workload`] (k6 / Artillery load) → [`sim`] (one
//! run) → [`metrics`] and [`report`] (what a run measured, and its files) → [`cli`].

pub mod analytic;
pub mod autoscale;
pub mod bench;
pub mod calibrate;
pub mod cli;
pub mod compare;
pub mod config;
pub mod cost;
pub mod dist;
pub mod engine;
pub mod ensure;
pub mod error;
pub mod event;
pub mod filtrex;
pub mod gofloat;
pub mod import;
pub mod metrics;
pub mod report;
pub mod sim;
pub mod stale;
pub mod sweep;
pub mod system;
pub mod threshold;
pub mod workload;
