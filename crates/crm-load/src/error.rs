//! The crate's one error type. A bad row is not an error: it is reported in
//! [`crate::ImportReport::rejects`] and the import goes on. These variants are what stops a
//! load as a whole: a file that cannot be read as the CSV it claims to be (refused before the
//! first command, so nothing is written) or a store that fails underneath.

use std::path::PathBuf;

use crm_app::AppError;

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("{}: {source}", .path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// The file is larger than an import reads at once (`crate::import::FILE_BYTES_MAX`).
    #[error("{}: {bytes} bytes, more than the {max} an import reads at once; split the file (by date or account range) and import the parts; nothing was imported", .path.display())]
    TooLarge { path: PathBuf, bytes: u64, max: u64 },

    /// The bytes are not text in the requested (or any supported) encoding.
    #[error("{}: {reason}; nothing was imported", .path.display())]
    Encoding { path: PathBuf, reason: String },

    /// The file is not CSV at all (binary data, empty, unreadable header).
    #[error("{}: not a CSV file: {reason}; nothing was imported", .path.display())]
    NotCsv { path: PathBuf, reason: String },

    /// The header does not match the format of the kind being imported.
    #[error("{}: wrong header for a {kind} file: {problems}; nothing was imported", .path.display())]
    Header {
        path: PathBuf,
        kind: &'static str,
        problems: Box<HeaderProblems>,
    },

    /// The reject file could not be written (the import itself finished).
    #[error("reject file {}: {reason}", .path.display())]
    RejectFile { path: PathBuf, reason: String },

    /// The command side failed for a reason that is not about the row (the store is
    /// unavailable or poisoned, an event does not decode): the load stops here. Rows sent so
    /// far are recorded; re-running resumes.
    #[error("the command side failed: {0}")]
    App(#[from] AppError),

    /// The demo's last business day (`DemoConfig::until`, `--until`) is after today's date in
    /// China Standard Time: a demo ends today or earlier. Refused before anything is written.
    #[error("the demo's last business day {until} is in the future (today is {today} in China Standard Time, UTC+8); give a date up to {today}; nothing was written")]
    DemoUntilInFuture {
        until: time::Date,
        today: time::Date,
    },

    /// The demo generator built a value the domain's parsers refuse (a generator bug).
    #[error("demo data could not be generated: {0}")]
    Demo(String),
}

/// What is wrong with a header: the columns by name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderProblems {
    pub missing: Vec<String>,
    pub unexpected: Vec<String>,
    pub duplicated: Vec<String>,
    /// The message: the lists above and the columns the format has.
    pub(crate) detail: String,
}

impl std::fmt::Display for HeaderProblems {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.detail)
    }
}
