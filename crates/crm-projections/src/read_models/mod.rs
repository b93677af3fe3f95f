//! One module per read model, each holding its state, its part of the fold and its queries.
//! The fold itself (one pass over the log, each event decoded once) is [`crate::model::apply`];
//! it hands each event to the modules here.

pub mod accounts;
pub mod archive;
pub mod channels;
pub mod content;
pub mod dashboards;
pub mod explain;
pub mod org;
pub mod performance;
pub mod rule_versions;
pub mod sales;
pub mod segments;
pub mod service;
pub mod todos;
