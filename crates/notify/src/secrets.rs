//! The bot token and the SMTP password, kept out of the settings (which are exported and shown)
//! and out of logs: in the Windows Credential Manager on Windows, elsewhere in a file only the
//! owner can read. A reception PC on Linux usually boots into a kiosk session with no unlocked
//! Secret Service, so the file is the dependable choice there.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use otklik_domain::error::{Error, Result};

pub const TELEGRAM_TOKEN: &str = "telegram_token";
pub const SMTP_PASSWORD: &str = "smtp_password";
/// The key the network hub issued to this site (`otklik hub add-site`).
pub const UPLINK_KEY: &str = "uplink_key";
/// A desk PC's token at the reception (its `desk_pc` pairing), which its batches carry.
pub const RECEPTION_TOKEN: &str = "reception_token";

pub trait SecretStore: Send + Sync {
    fn get(&self, name: &str) -> Result<Option<String>>;
    /// `None` forgets the secret.
    fn set(&self, name: &str, value: Option<&str>) -> Result<()>;
    /// Where the secrets are, in words for the console.
    fn place(&self) -> String;
}

/// The store for this OS and data directory.
pub fn open(data_dir: &Path) -> Box<dyn SecretStore> {
    #[cfg(windows)]
    {
        Box::new(keyring_store::KeyringSecrets::new(data_dir))
    }
    #[cfg(not(windows))]
    {
        Box::new(FileSecrets::new(data_dir))
    }
}

/// `secrets.json` in the data directory, mode 0600, replaced atomically.
pub struct FileSecrets {
    path: PathBuf,
    lock: std::sync::Mutex<()>,
}

impl FileSecrets {
    pub fn new(data_dir: &Path) -> FileSecrets {
        FileSecrets {
            path: data_dir.join("secrets.json"),
            lock: std::sync::Mutex::new(()),
        }
    }

    fn read_all(&self) -> Result<BTreeMap<String, String>> {
        match std::fs::read(&self.path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
                Error::CommitFailed(format!("{} is unreadable: {e}", self.path.display()))
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(BTreeMap::new()),
            Err(e) => Err(Error::io(format!("cannot read {}", self.path.display()), e)),
        }
    }
}

impl SecretStore for FileSecrets {
    fn get(&self, name: &str) -> Result<Option<String>> {
        let _guard = self.lock.lock().expect("secrets lock");
        Ok(self.read_all()?.remove(name))
    }

    fn set(&self, name: &str, value: Option<&str>) -> Result<()> {
        let _guard = self.lock.lock().expect("secrets lock");
        let mut all = self.read_all()?;
        match value {
            Some(v) => all.insert(name.to_string(), v.to_string()),
            None => all.remove(name),
        };
        let tmp = self.path.with_extension("json.tmp");
        let bytes = serde_json::to_vec_pretty(&all).expect("secrets serialize");
        write_private(&tmp, &bytes)
            .and_then(|()| std::fs::rename(&tmp, &self.path))
            .map_err(|e| Error::io(format!("cannot write {}", self.path.display()), e))
    }

    fn place(&self) -> String {
        format!("{} (readable by its owner only)", self.path.display())
    }
}

/// Creates the file readable and writable by the owner only, before any byte is in it.
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path)?;
    #[cfg(unix)]
    {
        // An older file keeps its mode through open(): make sure.
        use std::os::unix::fs::PermissionsExt;
        f.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    }
    f.write_all(bytes)?;
    f.sync_all()
}

#[cfg(windows)]
mod keyring_store {
    use super::*;

    /// One Credential Manager entry per secret, named after the data directory so two
    /// installations on one PC keep theirs apart.
    pub struct KeyringSecrets {
        service: String,
    }

    impl KeyringSecrets {
        pub fn new(data_dir: &Path) -> KeyringSecrets {
            KeyringSecrets {
                service: format!("Otklik ({})", data_dir.display()),
            }
        }

        fn entry(&self, name: &str) -> Result<keyring::Entry> {
            keyring::Entry::new(&self.service, name)
                .map_err(|e| Error::CommitFailed(format!("the Credential Manager: {e}")))
        }
    }

    impl SecretStore for KeyringSecrets {
        fn get(&self, name: &str) -> Result<Option<String>> {
            match self.entry(name)?.get_password() {
                Ok(v) => Ok(Some(v)),
                Err(keyring::Error::NoEntry) => Ok(None),
                Err(e) => Err(Error::CommitFailed(format!("the Credential Manager: {e}"))),
            }
        }

        fn set(&self, name: &str, value: Option<&str>) -> Result<()> {
            let entry = self.entry(name)?;
            let r = match value {
                Some(v) => entry.set_password(v),
                None => match entry.delete_credential() {
                    Err(keyring::Error::NoEntry) => Ok(()),
                    other => other,
                },
            };
            r.map_err(|e| Error::CommitFailed(format!("the Credential Manager: {e}")))
        }

        fn place(&self) -> String {
            format!("the Windows Credential Manager ({})", self.service)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_secrets_round_trip_and_stay_private() {
        let dir = tempfile::tempdir().unwrap();
        let s = FileSecrets::new(dir.path());
        assert_eq!(s.get(TELEGRAM_TOKEN).unwrap(), None);
        s.set(TELEGRAM_TOKEN, Some("123:abc")).unwrap();
        s.set(SMTP_PASSWORD, Some("pw")).unwrap();
        assert_eq!(s.get(TELEGRAM_TOKEN).unwrap().as_deref(), Some("123:abc"));
        s.set(TELEGRAM_TOKEN, None).unwrap();
        assert_eq!(s.get(TELEGRAM_TOKEN).unwrap(), None);
        assert_eq!(s.get(SMTP_PASSWORD).unwrap().as_deref(), Some("pw"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join("secrets.json"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
