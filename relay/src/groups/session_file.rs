//! A linked device's session file: the keys that make the relay a companion of the number (its
//! identity, Signal sessions, app-state keys), as whatsapp-rust's SQLite store, sealed at rest.
//!
//! The file is a SQLCipher database (AES-256, every page including the header) keyed with
//! [`SecretKey::derive`] of the relay's secret key for this number, so a copied data directory
//! without the key gives nothing away, and one number's key opens no other file. The key is
//! applied as the first statement on every connection the store opens, before its own pragmas
//! and migrations, and checked at once: a wrong key is a clear error, not a corrupted session.
//!
//! A session file from before sessions were sealed is sealed in place on first open.

use std::path::{Path, PathBuf};

use anyhow::Context;
use diesel::connection::SimpleConnection;
use diesel::Connection;
use whatsapp_rust_sqlite_storage::{SqliteStore, SqliteStoreConfig};

use crate::secrets::SecretKey;

/// The first 16 bytes of an unsealed SQLite database.
const PLAIN_HEADER: &[u8; 16] = b"SQLite format 3\0";

/// A number's session file under `dir`.
#[derive(Clone)]
pub struct SessionFile {
    pub path: PathBuf,
    /// SQLCipher's raw-key literal, `x'<64 hex>'`.
    key: String,
}

impl std::fmt::Debug for SessionFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionFile").field("path", &self.path).finish_non_exhaustive()
    }
}

impl SessionFile {
    pub fn new(dir: &Path, number_id: &str, secret: &SecretKey) -> SessionFile {
        let file: String = number_id.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_').collect();
        let key = format!("x'{}'", hex::encode(secret.derive(&format!("linked session {number_id}"))));
        SessionFile { path: dir.join(format!("{file}.db")), key }
    }

    /// Opens the store, creating the file (in a directory only the relay's user can read) or
    /// sealing an unsealed one first.
    pub async fn open(&self) -> anyhow::Result<SqliteStore> {
        let dir = self.path.parent().expect("a session file has a directory");
        std::fs::create_dir_all(dir)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
        }
        let this = self.clone();
        tokio::task::spawn_blocking(move || {
            this.seal_if_plain()?;
            this.check_key()
        })
        .await??;
        let key = self.key.clone();
        let config = SqliteStoreConfig::default().with_connection_init(move |conn| {
            conn.batch_execute(&format!("PRAGMA key = \"{key}\";"))?;
            // Reads page 1: fails here, clearly, on a file sealed with another key.
            conn.batch_execute("SELECT count(*) FROM sqlite_master;")?;
            Ok(())
        });
        Ok(SqliteStore::with_config(&self.path.to_string_lossy(), config).await?)
    }

    /// Fails at once, saying why, when the file exists but this key does not open it (the
    /// store's pool would only give up after its connection timeout).
    fn check_key(&self) -> anyhow::Result<()> {
        if !self.path.exists() {
            return Ok(());
        }
        let mut conn = diesel::SqliteConnection::establish(&self.path.to_string_lossy())?;
        conn.batch_execute(&format!("PRAGMA key = \"{}\"; SELECT count(*) FROM sqlite_master;", self.key)).map_err(|_| {
            anyhow::anyhow!(
                "the linked session {} cannot be opened with this secret key (was the key changed since it was paired?)",
                self.path.display()
            )
        })
    }

    /// Deletes the file and its journal (unlinked or logged out: the keys are worthless now).
    pub fn remove(&self) {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", self.path.display()));
        }
    }

    /// Whether the file on disk is an unsealed SQLite database.
    pub fn is_plain(&self) -> bool {
        use std::io::Read;
        let mut head = [0u8; 16];
        std::fs::File::open(&self.path).and_then(|mut f| f.read_exact(&mut head)).is_ok() && &head == PLAIN_HEADER
    }

    /// Seals an unsealed file in place: SQLCipher copies it into a sealed file beside it, which
    /// then takes its place (a crash in between leaves the unsealed original, sealed next time).
    fn seal_if_plain(&self) -> anyhow::Result<()> {
        if !self.is_plain() {
            return Ok(());
        }
        let sealing = PathBuf::from(format!("{}.sealing", self.path.display()));
        let _ = std::fs::remove_file(&sealing);
        let mut conn = diesel::SqliteConnection::establish(&self.path.to_string_lossy())?;
        let target = sealing.to_string_lossy().replace('\'', "''");
        conn.batch_execute(&format!(
            "ATTACH DATABASE '{target}' AS sealed KEY \"{}\"; SELECT sqlcipher_export('sealed'); DETACH DATABASE sealed;",
            self.key
        ))
        .with_context(|| format!("sealing the linked session {}", self.path.display()))?;
        drop(conn);
        for suffix in ["-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", self.path.display()));
        }
        std::fs::rename(&sealing, &self.path)?;
        tracing::info!("sealed the linked session {}", self.path.display());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(byte: &str) -> SecretKey {
        SecretKey::from_hex(&byte.repeat(32)).unwrap()
    }

    /// Every byte of the session directory, journals included.
    fn bytes_of(dir: &Path) -> Vec<u8> {
        let mut all = Vec::new();
        for entry in std::fs::read_dir(dir).unwrap() {
            all.extend(std::fs::read(entry.unwrap().path()).unwrap());
        }
        all
    }

    /// A device in the store whose push name we can look for in the file's bytes.
    async fn save_device(store: &SqliteStore, push_name: &str) {
        use whatsapp_rust::wacore::store::traits::DeviceStore as _;
        let mut device = whatsapp_rust::wacore::store::Device::new();
        device.push_name = push_name.to_owned();
        store.save(&device).await.unwrap();
    }

    async fn push_name(store: &SqliteStore) -> Option<String> {
        use whatsapp_rust::wacore::store::traits::DeviceStore as _;
        store.load().await.unwrap().map(|d| d.push_name)
    }

    #[tokio::test]
    async fn a_session_is_sealed_with_its_own_key_and_opens_with_it_only() {
        let dir = tempfile::tempdir().unwrap();
        let linked = dir.path().join("linked");
        let file = SessionFile::new(&linked, "n1", &key("ab"));
        let store = file.open().await.unwrap();
        save_device(&store, "Mong Kok Shop 旺角").await;
        drop(store);
        assert!(!file.is_plain(), "the file is not a readable SQLite database");
        assert!(!bytes_of(&linked).windows(13).any(|w| w == b"Mong Kok Shop"), "nothing stored is readable in the file or its journal");
        // Reopened with the same secret (a restart): the session is there.
        let again = SessionFile::new(&linked, "n1", &key("ab")).open().await.unwrap();
        assert_eq!(push_name(&again).await.as_deref(), Some("Mong Kok Shop 旺角"));
        drop(again);
        // Another secret key, or another number's key, opens nothing.
        let Err(wrong) = SessionFile::new(&linked, "n1", &key("cd")).open().await else { panic!("another key opened the session") };
        assert!(format!("{wrong:#}").contains("secret key"), "{wrong:#}");
        let mut other_number = SessionFile::new(&linked, "n2", &key("ab"));
        other_number.path = file.path.clone();
        assert!(other_number.open().await.is_err());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&linked).unwrap().permissions().mode() & 0o777, 0o700);
        }
        file.remove();
        assert!(!file.path.exists());
    }

    #[tokio::test]
    async fn a_session_stored_unsealed_is_sealed_in_place_and_keeps_its_keys() {
        let dir = tempfile::tempdir().unwrap();
        let linked = dir.path().join("linked");
        std::fs::create_dir_all(&linked).unwrap();
        let file = SessionFile::new(&linked, "n1", &key("ab"));
        // What an earlier relay wrote: the store without a key.
        let plain = SqliteStore::new(&file.path.to_string_lossy()).await.unwrap();
        save_device(&plain, "Before sealing").await;
        drop(plain);
        assert!(file.is_plain());
        let store = file.open().await.unwrap();
        assert_eq!(push_name(&store).await.as_deref(), Some("Before sealing"), "the pairing survives sealing");
        drop(store);
        assert!(!file.is_plain());
        assert!(!bytes_of(&linked).windows(14).any(|w| w == b"Before sealing"));
        assert!(!PathBuf::from(format!("{}.sealing", file.path.display())).exists());
    }
}
