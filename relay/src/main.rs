//! `switchboard`: serve, demo, migrate, user and number administration, backup and restore.

use clap::{Parser, Subcommand};
use switchboard_relay::access::auth;
use switchboard_relay::{AppState, ConfigArgs, Relay};
use switchboard_shared::access::Scope;
use tracing_subscriber::EnvFilter;

#[derive(Parser)]
#[command(name = "switchboard", version, about = "Self-hosted WhatsApp cloud-control console: the relay")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the relay.
    Serve(#[command(flatten)] ConfigArgs),
    /// Run the relay with a built-in sandbox standing in for Meta, demo numbers and traffic.
    #[cfg(feature = "demo")]
    Demo(#[command(flatten)] ConfigArgs),
    /// Create or upgrade the database schema, then exit.
    Migrate(#[command(flatten)] ConfigArgs),
    /// Manage console users.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Manage business numbers.
    Number {
        #[command(subcommand)]
        command: NumberCommand,
    },
    /// Write the whole database to a file (safe while the relay runs: one consistent snapshot).
    Backup {
        /// The file to write.
        #[arg(long)]
        to: std::path::PathBuf,
        #[command(flatten)]
        config: ConfigArgs,
    },
    /// Read a backup into an empty database (SQLite or PostgreSQL, whichever the config names).
    Restore {
        /// The backup file.
        #[arg(long)]
        from: std::path::PathBuf,
        #[command(flatten)]
        config: ConfigArgs,
    },
}

#[derive(Subcommand)]
enum NumberCommand {
    /// Connect a business number (checked against the Graph API before it is saved).
    Add {
        /// Meta's phone-number id (not the phone number itself).
        #[arg(long)]
        id: String,
        /// The WhatsApp Business Account id.
        #[arg(long)]
        waba_id: String,
        #[arg(long, env = "SWITCHBOARD_ACCESS_TOKEN", hide_env_values = true)]
        access_token: String,
        /// The Meta app's secret, which signs its webhooks.
        #[arg(long, env = "SWITCHBOARD_NUMBER_APP_SECRET", hide_env_values = true)]
        app_secret: String,
        /// The token you enter in Meta's webhook settings.
        #[arg(long, default_value = "")]
        verify_token: String,
        /// The IANA time zone the number's business runs in (Asia/Taipei); scheduled broadcasts
        /// start at their wall-clock time here. UTC for a new number if not given.
        #[arg(long)]
        time_zone: Option<String>,
        #[command(flatten)]
        config: ConfigArgs,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create a user, or update the password and role of an existing one.
    Add {
        #[arg(long)]
        email: String,
        #[arg(long, env = "SWITCHBOARD_USER_PASSWORD", hide_env_values = true)]
        password: String,
        /// Administrator, Supervisor, Agent, Analyst or a custom role (any case).
        #[arg(long, default_value = "Agent")]
        role: String,
        /// `all`, or the phone-number ids this user works on, separated by commas.
        #[arg(long, default_value = "all")]
        numbers: String,
        #[arg(long)]
        name: Option<String>,
        #[command(flatten)]
        config: ConfigArgs,
    },
}

fn prepare_data_dir(config: &switchboard_relay::Config) -> anyhow::Result<()> {
    if !config.database_url.starts_with("postgres") {
        std::fs::create_dir_all(&config.data_dir)?;
    }
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_env("SWITCHBOARD_LOG").unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn")))
        .init();
    match Cli::parse().command {
        Command::Serve(args) => {
            let relay = Relay::start(args.resolve()?).await?;
            tracing::info!("Switchboard relay listening on {}", relay.url());
            tokio::signal::ctrl_c().await?;
        }
        #[cfg(feature = "demo")]
        Command::Demo(args) => {
            use switchboard_relay::demo;
            let password = std::env::var("SWITCHBOARD_ADMIN_PASSWORD").ok().filter(|p| !p.is_empty());
            // `SWITCHBOARD_DEMO_UPDATES_PER_WEBHOOK=1`: the sandbox behaves like Meta at its worst.
            let mut options = demo::DemoOptions::default();
            if let Some(n) = std::env::var("SWITCHBOARD_DEMO_UPDATES_PER_WEBHOOK").ok().and_then(|v| v.trim().parse().ok()) {
                options.updates_per_webhook = n;
            }
            let demo = demo::start(args.resolve()?, options, password).await?;
            println!();
            println!("  Switchboard demo is running.");
            println!("  Console:  {}/", demo.relay.url());
            println!("  Sign in:  {} / {}", demo::ADMIN_EMAIL, demo.admin_password);
            println!("  Sandbox:  {} (stands in for Meta's Graph API)", demo.sandbox.url);
            println!();
            println!("  Press Ctrl-C to stop.");
            tokio::signal::ctrl_c().await?;
        }
        Command::Migrate(args) => {
            AppState::new(args.resolve()?).await?;
            println!("database is up to date");
        }
        Command::Number { command: NumberCommand::Add { id, waba_id, access_token, app_secret, verify_token, time_zone, config } } => {
            let time_zone =
                time_zone.map(|z| switchboard_relay::numbers::check_time_zone(&z)).transpose().map_err(|e| anyhow::anyhow!("{e}"))?;
            let state = AppState::new(config.resolve()?).await?;
            let number =
                switchboard_relay::numbers::NewNumber { id: id.clone(), waba_id, access_token, app_secret, verify_token, time_zone };
            switchboard_relay::numbers::upsert(&state, &number).await?;
            println!("number {id} is connected");
        }
        Command::Backup { to, config } => {
            let config = config.resolve()?;
            prepare_data_dir(&config)?;
            let db = switchboard_relay::Db::connect(&config.database_url).await?;
            let summary = switchboard_relay::backup::backup(&db, &to).await?;
            println!("backed up {} rows from {} tables to {}", summary.rows, summary.tables, to.display());
        }
        Command::Restore { from, config } => {
            let config = config.resolve()?;
            prepare_data_dir(&config)?;
            let db = switchboard_relay::Db::connect(&config.database_url).await?;
            let summary = switchboard_relay::backup::restore(&db, &from).await?;
            println!("restored {} rows into {} tables from {}", summary.rows, summary.tables, from.display());
        }
        Command::User { command: UserCommand::Add { email, password, role, numbers, name, config } } => {
            let scope = Scope::parse_list(&numbers).map_err(|e| anyhow::anyhow!("--numbers: {e}"))?;
            let state = AppState::new(config.resolve()?).await?;
            let name = name.unwrap_or_else(|| email.split('@').next().unwrap_or_default().to_owned());
            let id = auth::upsert_user(&state, &email, &name, &password, &role, &scope).await?;
            let role = switchboard_relay::access::role_of(&state.db.pool, id).await?.unwrap_or_default();
            let on = match &scope {
                Scope::All => "all numbers".to_owned(),
                Scope::Numbers(ids) => ids.iter().cloned().collect::<Vec<_>>().join(", "),
            };
            println!("user {email} (id {id}) has role {role} on {on}");
        }
    }
    Ok(())
}
