//! Configuration: flags, `SWITCHBOARD_*` environment variables, then a TOML file, then defaults.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::Deserialize;

/// How long a Graph API request may take unless configured (`graph_timeout_secs`).
pub const DEFAULT_GRAPH_TIMEOUT_SECS: u64 = 20;

/// The relay's settings as flags and environment variables. Every field is optional so a TOML
/// file can fill what neither gave.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ConfigArgs {
    /// A TOML file with any of the settings below (snake_case keys).
    #[arg(long, env = "SWITCHBOARD_CONFIG")]
    pub config: Option<PathBuf>,
    /// Address to listen on [default: 127.0.0.1:8080].
    #[arg(long, env = "SWITCHBOARD_LISTEN")]
    pub listen: Option<SocketAddr>,
    /// Directory for the embedded SQLite database [default: ./data].
    #[arg(long, env = "SWITCHBOARD_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// `postgres://…` to use PostgreSQL instead of SQLite.
    #[arg(long, env = "SWITCHBOARD_DATABASE_URL")]
    pub database_url: Option<String>,
    /// Graph API base URL [default: https://graph.facebook.com].
    #[arg(long, env = "SWITCHBOARD_GRAPH_BASE_URL")]
    pub graph_base_url: Option<String>,
    /// Graph API version [default: v25.0].
    #[arg(long, env = "SWITCHBOARD_GRAPH_API_VERSION")]
    pub graph_api_version: Option<String>,
    /// Seconds a Graph API request may take before its outcome counts as unknown (a send is
    /// then settled from its status webhook, or sent again after the reconcile window)
    /// [default: 20].
    #[arg(long, env = "SWITCHBOARD_GRAPH_TIMEOUT_SECS")]
    pub graph_timeout_secs: Option<u64>,
    /// Token Meta's webhook verification handshake must present.
    #[arg(long, env = "SWITCHBOARD_VERIFY_TOKEN")]
    pub verify_token: Option<String>,
    /// The Meta app secret that signs webhooks (numbers can also carry their own).
    #[arg(long, env = "SWITCHBOARD_APP_SECRET", hide_env_values = true)]
    pub app_secret: Option<String>,
    /// Directory with the built console [default: ./dist].
    #[arg(long, env = "SWITCHBOARD_CONSOLE_DIR")]
    pub console_dir: Option<PathBuf>,
    /// Origins allowed to call the API from a console hosted elsewhere (comma-separated).
    #[arg(long, env = "SWITCHBOARD_CORS_ORIGINS", value_delimiter = ',')]
    pub cors_origins: Option<Vec<String>>,
    /// Hours a sign-in lasts [default: 12].
    #[arg(long, env = "SWITCHBOARD_SESSION_HOURS")]
    pub session_hours: Option<u64>,
    /// The key that encrypts stored access tokens and app secrets: 64 hex characters
    /// (`openssl rand -hex 32`). Required by `serve`.
    #[arg(long, env = "SWITCHBOARD_SECRET_KEY", hide_env_values = true)]
    pub secret_key: Option<String>,
    /// A file holding that key, instead of `--secret-key`.
    #[arg(long, env = "SWITCHBOARD_SECRET_KEY_FILE")]
    pub secret_key_file: Option<PathBuf>,
    /// Linked devices for group control: `off`; `sim` (the sandbox's simulated sessions at the
    /// Graph base URL; the demo and tests); or `whatsapp` (real sessions through whatsapp-rust,
    /// stored under `<data dir>/linked/`; needs a relay built with `--features linked-device`)
    /// [default: off].
    #[arg(long, env = "SWITCHBOARD_LINKED_DEVICES")]
    pub linked_devices: Option<String>,
    /// Milliseconds between two group changes on one number in a bulk job (±25% jitter)
    /// [default: 4000]. WhatsApp bans numbers that change groups too fast.
    #[arg(long, env = "SWITCHBOARD_GROUP_PACE_MS")]
    pub group_pace_ms: Option<u64>,
    /// Members a number may add to groups per day [default: 50].
    #[arg(long, env = "SWITCHBOARD_GROUP_DAILY_ADD_CAP")]
    pub group_daily_add_cap: Option<i64>,
    /// Seconds a group change may go without the update that shows it took effect before it
    /// is flagged [default: 120].
    #[arg(long, env = "SWITCHBOARD_GROUP_CONFIRM_SECS")]
    pub group_confirm_secs: Option<u64>,
    /// Seconds an agent may be offline (console closed) or away before the conversations
    /// waiting on them go to colleagues on duty [default: 120].
    #[arg(long, env = "SWITCHBOARD_AWAY_GRACE_SECS")]
    pub away_grace_secs: Option<u64>,
    /// Largest file, in MB, the relay keeps: customers' files fetched from WhatsApp and files
    /// agents send (WhatsApp's own limits apply below it: 5 MB images, 16 MB video and audio) [default: 100, at most 100].
    #[arg(long, env = "SWITCHBOARD_MEDIA_MAX_MB")]
    pub media_max_mb: Option<u64>,
}

/// The same settings as read from a TOML file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    listen: Option<SocketAddr>,
    data_dir: Option<PathBuf>,
    database_url: Option<String>,
    graph_base_url: Option<String>,
    graph_api_version: Option<String>,
    graph_timeout_secs: Option<u64>,
    verify_token: Option<String>,
    app_secret: Option<String>,
    console_dir: Option<PathBuf>,
    cors_origins: Option<Vec<String>>,
    session_hours: Option<u64>,
    secret_key_file: Option<PathBuf>,
    linked_devices: Option<String>,
    group_pace_ms: Option<u64>,
    group_daily_add_cap: Option<i64>,
    group_confirm_secs: Option<u64>,
    away_grace_secs: Option<u64>,
    media_max_mb: Option<u64>,
}

/// Resolved settings.
#[derive(Clone)]
pub struct Config {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    pub database_url: String,
    pub graph_base_url: String,
    pub graph_api_version: String,
    pub graph_timeout: std::time::Duration,
    pub verify_token: Option<String>,
    pub app_secret: Option<secrecy::SecretString>,
    pub console_dir: PathBuf,
    pub cors_origins: Vec<String>,
    pub session_hours: u64,
    /// Encrypts stored access tokens and app secrets; `None` only for commands that never
    /// touch them.
    pub secret_key: Option<crate::secrets::SecretKey>,
    pub linked_devices: crate::groups::linked::Backend,
    pub group_pace: std::time::Duration,
    pub group_daily_add_cap: i64,
    pub group_confirm_window: std::time::Duration,
    /// How long an agent may be offline or away before their waiting conversations move.
    pub away_grace_ms: i64,
    /// Largest file the relay keeps, in bytes.
    pub media_max_bytes: u64,
}

impl std::fmt::Debug for Config {
    // Secrets stay out of logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("listen", &self.listen)
            .field("data_dir", &self.data_dir)
            .field("database", &if self.database_url.starts_with("postgres") { "postgres" } else { "sqlite" })
            .field("graph_base_url", &self.graph_base_url)
            .field("graph_api_version", &self.graph_api_version)
            .field("graph_timeout", &self.graph_timeout)
            .field("console_dir", &self.console_dir)
            .field("cors_origins", &self.cors_origins)
            .finish_non_exhaustive()
    }
}

impl Config {
    /// The key that seals stored tokens and app secrets, or why there is none.
    pub fn sealing_key(&self) -> anyhow::Result<&crate::secrets::SecretKey> {
        self.secret_key.as_ref().ok_or_else(|| anyhow::anyhow!("no secret key configured (SWITCHBOARD_SECRET_KEY or --secret-key-file)"))
    }
}

impl ConfigArgs {
    /// Layers flags/environment over the TOML file over the defaults.
    pub fn resolve(self) -> anyhow::Result<Config> {
        let file = match &self.config {
            Some(path) => read_file(path)?,
            None => FileConfig::default(),
        };
        let data_dir = self.data_dir.or(file.data_dir).unwrap_or_else(|| PathBuf::from("data"));
        let secret_key = match (self.secret_key, self.secret_key_file.or(file.secret_key_file)) {
            (Some(hex), _) => Some(crate::secrets::SecretKey::from_hex(&hex)?),
            (None, Some(path)) => Some(crate::secrets::SecretKey::from_file(&path)?),
            (None, None) => None,
        };
        let database_url = self.database_url.or(file.database_url).unwrap_or_else(|| crate::db::sqlite_url(&data_dir));
        let graph_base_url = self.graph_base_url.or(file.graph_base_url).unwrap_or_else(|| "https://graph.facebook.com".into());
        let linked_devices = match self.linked_devices.or(file.linked_devices).as_deref().unwrap_or("off") {
            "off" => crate::groups::linked::Backend::Off,
            "sim" => crate::groups::linked::Backend::Sim(graph_base_url.clone()),
            "whatsapp" if cfg!(feature = "linked-device") => crate::groups::linked::Backend::WhatsApp(data_dir.join("linked")),
            "whatsapp" => anyhow::bail!(
                "linked_devices = \"whatsapp\" needs a relay built with the linked-device feature (cargo build --release --features linked-device)"
            ),
            other => anyhow::bail!("linked_devices must be off, sim or whatsapp, not {other:?}"),
        };
        Ok(Config {
            listen: self.listen.or(file.listen).unwrap_or_else(|| "127.0.0.1:8080".parse().expect("valid default")),
            data_dir,
            database_url,
            graph_base_url,
            graph_api_version: self.graph_api_version.or(file.graph_api_version).unwrap_or_else(|| "v25.0".into()),
            graph_timeout: std::time::Duration::from_secs(
                self.graph_timeout_secs.or(file.graph_timeout_secs).unwrap_or(DEFAULT_GRAPH_TIMEOUT_SECS).clamp(1, 600),
            ),
            verify_token: self.verify_token.or(file.verify_token),
            app_secret: self.app_secret.or(file.app_secret).map(Into::into),
            console_dir: self.console_dir.or(file.console_dir).unwrap_or_else(|| PathBuf::from("dist")),
            cors_origins: self.cors_origins.or(file.cors_origins).unwrap_or_default(),
            session_hours: self.session_hours.or(file.session_hours).unwrap_or(12),
            secret_key,
            linked_devices,
            group_pace: std::time::Duration::from_millis(self.group_pace_ms.or(file.group_pace_ms).unwrap_or(4000)),
            group_daily_add_cap: self.group_daily_add_cap.or(file.group_daily_add_cap).unwrap_or(50).max(0),
            group_confirm_window: std::time::Duration::from_secs(self.group_confirm_secs.or(file.group_confirm_secs).unwrap_or(120).max(1)),
            away_grace_ms: self.away_grace_secs.or(file.away_grace_secs).unwrap_or(120).min(86_400) as i64 * 1000,
            media_max_bytes: self.media_max_mb.or(file.media_max_mb).unwrap_or(100).clamp(1, 100) * 1024 * 1024,
        })
    }
}

fn read_file(path: &Path) -> anyhow::Result<FileConfig> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    toml::from_str(&text).with_context(|| format!("parsing {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_override_the_file_and_the_file_overrides_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("relay.toml");
        std::fs::write(&path, "listen = \"127.0.0.1:9999\"\ngraph_api_version = \"v24.0\"\n").unwrap();
        let args = ConfigArgs { config: Some(path), graph_api_version: Some("v26.0".into()), ..Default::default() };
        let config = args.resolve().unwrap();
        assert_eq!(config.listen.port(), 9999);
        assert_eq!(config.graph_api_version, "v26.0");
        assert_eq!(config.graph_base_url, "https://graph.facebook.com");
        assert!(config.database_url.starts_with("sqlite://data/"));
    }

    #[test]
    fn an_unknown_key_in_the_file_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("relay.toml");
        std::fs::write(&path, "lisen = \"127.0.0.1:9999\"\n").unwrap();
        let err = ConfigArgs { config: Some(path), ..Default::default() }.resolve().unwrap_err();
        assert!(format!("{err:#}").contains("unknown field `lisen`"), "{err:#}");
    }
}
