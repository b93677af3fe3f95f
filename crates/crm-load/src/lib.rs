//! Bulk loads through the real command path: the back-office CSV import (`import`) and the
//! deterministic demo data set (`demo`). Both build `crm_app::AppCommand`s and send them to
//! `crm_app::App::execute`, so every row is authorized and decided by the domain exactly like
//! a command from the API; nothing here writes to the store directly.
//!
//! Re-running is always safe: command ids and the ids of new entities are derived from
//! business keys (import) or from the seed (demo), so a command sent again is recognised by
//! crm-app's idempotency and a re-imported row addresses the aggregate it created.
//!
//! Boundary: knows crm-app, the domain and the store's public API; knows nothing of the CLI,
//! terminals or HTTP. Progress is reported through callbacks; drawing it is the caller's job.

mod error;
pub mod ids;
pub mod import;
mod lanes;

pub mod demo;

pub use demo::{demo, DemoConfig, DemoProfile, DemoProgress, DemoReport};

pub use error::{HeaderProblems, LoadError};
pub use import::{
    import, ImportKind, ImportOptions, ImportProgress, ImportReport, RejectedRow, TextEncoding,
};
