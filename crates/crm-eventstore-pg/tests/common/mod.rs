//! The test server and a fresh database per test: `crm_eventstore_pg::testing`.
#![allow(unused_imports)] // each test binary uses its part

pub use crm_eventstore_pg::testing::{fresh_database, fresh_store};
