//! The engine's error type: what went wrong, in words a clinic's IT person can act on.

use std::path::PathBuf;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Something the caller named does not exist (a desk, a registrar, a rating).
    #[error("{what} {id} does not exist")]
    NotFound { what: &'static str, id: i64 },

    /// A value the caller sent is not acceptable; `field` names it.
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },

    /// The request is well-formed but contradicts the current state.
    #[error("{0}")]
    Conflict(String),

    /// A PIN or password that does not match.
    #[error("{0}")]
    Forbidden(String),

    /// No credential, or one that is wrong or expired (a token, a login, a panel pairing).
    #[error("{0}")]
    Unauthorized(String),

    /// Asked again too soon (a patient panel's lock-out, repeated wrong passwords).
    #[error("{message}")]
    TooSoon {
        message: String,
        retry_after_secs: u64,
    },

    /// Too busy to take this now (PIN and password checks queued up); not the caller's fault.
    #[error("{message}")]
    Busy {
        message: String,
        retry_after_secs: u64,
    },

    #[error(
        "the database at {path} has schema version {found}, newer than this Otklik knows \
         (up to {known}); install the newer Otklik that wrote it, or restore a backup"
    )]
    SchemaTooNew {
        path: PathBuf,
        found: i64,
        known: i64,
    },

    /// The database failed (the store's SQLite error, or another database's).
    #[error("storage error: {0}")]
    Storage(#[source] Box<dyn std::error::Error + Send + Sync>),

    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },

    /// The batch this change was part of could not be committed (disk full, disk gone).
    #[error("could not save: {0}")]
    CommitFailed(String),

    #[error("the engine is shutting down")]
    ShuttingDown,
}

impl Error {
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Invalid {
            field: field.into(),
            message: message.into(),
        }
    }

    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Error::Io {
            context: context.into(),
            source,
        }
    }
}

#[cfg(feature = "sqlite")]
impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Self {
        Error::Storage(Box::new(e))
    }
}
