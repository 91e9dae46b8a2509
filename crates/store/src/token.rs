//! The API token: from `OTKLIK_API_TOKEN`, or generated once and kept in the data directory,
//! readable by its owner only.

use std::fs;
use std::io::Write;
use std::path::Path;

use otklik_domain::error::{Error, Result};

pub const ENV: &str = "OTKLIK_API_TOKEN";
const FILE: &str = "api-token";

/// The token to require: the environment's if set, else the stored one (created if missing).
pub fn load_or_create(data_dir: &Path) -> Result<String> {
    if let Ok(t) = std::env::var(ENV) {
        let t = t.trim().to_string();
        if t.len() < 16 {
            return Err(Error::invalid(ENV, "must be at least 16 characters long"));
        }
        return Ok(t);
    }
    let path = data_dir.join(FILE);
    match fs::read_to_string(&path) {
        Ok(t) if !t.trim().is_empty() => return Ok(t.trim().to_string()),
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(Error::io(format!("cannot read {}", path.display()), e)),
    }
    let token = hex::encode(rand::random::<[u8; 24]>());
    let mut file = owner_only::create(&path)
        .map_err(|e| Error::io(format!("cannot create {}", path.display()), e))?;
    file.write_all(format!("{token}\n").as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(|e| Error::io(format!("cannot write {}", path.display()), e))?;
    tracing::info!(path = %path.display(), "generated a new API token");
    Ok(token)
}

/// Compares without stopping at the first differing byte, so timing does not reveal the token.
pub fn matches(expected: &str, given: &str) -> bool {
    let (a, b) = (expected.as_bytes(), given.as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(unix)]
mod owner_only {
    use std::fs::{File, OpenOptions};
    use std::os::unix::fs::OpenOptionsExt;
    use std::path::Path;

    pub fn create(path: &Path) -> std::io::Result<File> {
        OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
    }
}

#[cfg(not(unix))]
mod owner_only {
    use std::fs::{File, OpenOptions};
    use std::path::Path;

    /// On Windows the data directory lives in the user's profile, which other users cannot read.
    pub fn create(path: &Path) -> std::io::Result<File> {
        OpenOptions::new().write(true).create_new(true).open(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comparison_is_exact() {
        assert!(matches("abcdef", "abcdef"));
        assert!(!matches("abcdef", "abcdeg"));
        assert!(!matches("abcdef", "abcde"));
        assert!(!matches("abcdef", ""));
    }

    #[cfg(unix)]
    #[test]
    fn a_generated_token_is_kept_and_private() {
        use std::os::unix::fs::PermissionsExt;
        if std::env::var(ENV).is_ok() {
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let a = load_or_create(dir.path()).unwrap();
        let b = load_or_create(dir.path()).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.len(), 48);
        let mode = fs::metadata(dir.path().join(FILE))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}
