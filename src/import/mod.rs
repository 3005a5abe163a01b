//! Other tools' load-test files read as they are and turned into surge scenarios.

pub mod artillery;
