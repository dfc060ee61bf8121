//! Linked devices: a number's companion session (like WhatsApp Web), paired by QR code or pair
//! code, whose connection state every group operation checks first. One task per device keeps
//! the session's events flowing into the groups tables and the connection state current; a
//! drop is recorded with its time, shown as a banner, and refuses operations at once.
//!
//! A session is a [`Device`]: the simulated one of the sandbox ([`super::sim`]) or, with the
//! `linked-device` feature, a real one through the whatsapp-rust crate ([`super::whatsapp`]).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use async_trait::async_trait;
use switchboard_shared::api::EventKind;
use switchboard_shared::groups::{Connection, LinkedDevice, LogoutReason, ProviderKind};
use tokio::sync::Notify;

use super::provider::{GroupChange, GroupProvider, GroupResult};
use super::sim::SimLinked;
use super::store;
use crate::clock::now_ms;
use crate::error::{AppError, Result};
use crate::AppState;

/// Which linked-device implementation the relay runs (`linked_devices` in the configuration).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Backend {
    /// None: numbers have only their Cloud API connection.
    Off,
    /// The sandbox's simulated sessions at this base URL (tests and the demo).
    Sim(String),
    /// Real sessions through whatsapp-rust, each stored in a file under this directory
    /// (`linked/` in the data directory). Only in a relay built with `linked-device`.
    WhatsApp(PathBuf),
}

/// A session's connection now, with the QR code or pair code to link it while pairing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    /// `Offline { since }` is filled in by the session task, which knows when it began.
    pub connection: Connection,
    pub qr: Option<String>,
    pub code: Option<String>,
}

/// Something that happened to one of the session's groups, numbered in the session's order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Happened {
    pub seq: u64,
    pub group: String,
    pub change: GroupChange,
}

/// What the session says after a sequence number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    pub status: Status,
    pub events: Vec<Happened>,
}

/// A linked-device session: the group operations, and the session's own life (pairing, its
/// events, logging out).
#[async_trait]
pub trait Device: GroupProvider {
    /// The connection and the group events after `after`, waiting up to `wait` for an event.
    async fn events(&self, after: u64, wait: Duration) -> GroupResult<Page>;
    /// Starts linking: a QR code to scan, or a code to type on the phone.
    async fn pair(&self, by_code: bool) -> GroupResult<Status>;
    /// Unlinks the session from the phone and forgets it.
    async fn logout(&self) -> GroupResult<()>;
}

/// A running session of one number.
pub struct Session {
    pub number_id: String,
    pub phone: String,
    pub provider: Arc<dyn Device>,
    pub connection: Arc<RwLock<Connection>>,
    pub stop: Notify,
}

/// Every linked session, by number id.
#[derive(Default)]
pub struct Sessions {
    map: RwLock<HashMap<String, Arc<Session>>>,
}

impl Sessions {
    pub fn provider(&self, number_id: &str) -> Option<Arc<dyn GroupProvider>> {
        self.get(number_id).map(|s| s.provider.clone() as Arc<dyn GroupProvider>)
    }

    pub fn get(&self, number_id: &str) -> Option<Arc<Session>> {
        self.map.read().expect("sessions lock").get(number_id).cloned()
    }

    fn insert(&self, s: Arc<Session>) -> Option<Arc<Session>> {
        self.map.write().expect("sessions lock").insert(s.number_id.clone(), s)
    }

    fn remove(&self, number_id: &str) -> Option<Arc<Session>> {
        self.map.write().expect("sessions lock").remove(number_id)
    }
}

fn stored(c: &Connection) -> (&'static str, Option<String>) {
    match c {
        Connection::LoggedOut { reason } => (
            "logged_out",
            Some(
                match reason {
                    LogoutReason::DeviceRemoved => "device_removed",
                    LogoutReason::Inactivity => "inactivity",
                    LogoutReason::NotPaired => "not_paired",
                }
                .into(),
            ),
        ),
        other => (other.name(), None),
    }
}

/// The connection a stored row describes.
fn connection_of(row: &store::DeviceRow) -> Connection {
    match row.state.as_str() {
        "online" => Connection::Online,
        "connecting" => Connection::Connecting,
        "offline" => Connection::Offline { since: row.state_since },
        "banned" => Connection::Banned,
        _ => Connection::LoggedOut {
            reason: match row.reason.as_deref() {
                Some("device_removed") => LogoutReason::DeviceRemoved,
                Some("inactivity") => LogoutReason::Inactivity,
                _ => LogoutReason::NotPaired,
            },
        },
    }
}

/// A QR code's text as an SVG image the console shows as it is.
pub fn qr_svg(text: &str) -> Option<String> {
    let code = qrcode::QrCode::new(text.as_bytes()).ok()?;
    Some(code.render::<qrcode::render::svg::Color>().min_dimensions(220, 220).quiet_zone(true).build())
}

pub fn present(row: &store::DeviceRow) -> LinkedDevice {
    LinkedDevice {
        number_id: row.number_id.clone(),
        phone: row.phone.clone(),
        label: row.label.clone(),
        connection: connection_of(row),
        qr_svg: row.qr.as_deref().and_then(qr_svg),
        pair_code: row.pair_code.clone(),
        groups: row.groups as u32,
    }
}

/// Starts a session task for every stored device.
pub async fn start_all(state: &AppState) -> anyhow::Result<()> {
    if state.config.linked_devices == Backend::Off {
        return Ok(());
    }
    for row in store::devices(&state.db.pool, "1 = 1").await? {
        start(state, &row);
    }
    Ok(())
}

/// Starts (or restarts) the session task of a device.
pub fn start(state: &AppState, row: &store::DeviceRow) {
    let connection = Arc::new(RwLock::new(connection_of(row)));
    let provider: Arc<dyn Device> = match &state.config.linked_devices {
        Backend::Off => return,
        Backend::Sim(base) => Arc::new(SimLinked::new(base, &row.phone, connection.clone())),
        #[cfg(feature = "linked-device")]
        Backend::WhatsApp(dir) => {
            let Some(secret) = &state.config.secret_key else {
                tracing::error!("the linked session of {} needs the secret key that seals it", row.phone);
                return;
            };
            super::whatsapp::WaDevice::start(dir, secret, &row.number_id, &row.phone, row.event_seq as u64, connection.clone())
        }
        #[cfg(not(feature = "linked-device"))]
        Backend::WhatsApp(_) => {
            tracing::error!("linked_devices = \"whatsapp\" needs a relay built with the linked-device feature");
            return;
        }
    };
    let session =
        Arc::new(Session { number_id: row.number_id.clone(), phone: row.phone.clone(), provider, connection, stop: Notify::new() });
    if let Some(old) = state.groups.linked.insert(session.clone()) {
        old.stop.notify_one();
    }
    tokio::spawn(run(state.clone(), session, row.event_seq as u64));
}

/// Records a connection state (and QR or pair code); publishes a `linked_device` event when it
/// changed.
async fn record(state: &AppState, s: &Session, c: &Connection, qr: Option<&str>, code: Option<&str>) -> Result<bool> {
    *s.connection.write().expect("connection lock") = c.clone();
    let (name, reason) = stored(c);
    let mut tx = state.db.pool.begin().await?;
    let changed = store::set_device_state(&mut tx, &s.number_id, name, reason.as_deref(), qr, code).await?;
    let mut events = Vec::new();
    if changed {
        let kind = EventKind::LinkedDevice { state: name.to_owned() };
        events.push(crate::events::append(&mut tx, &s.number_id, None, kind).await?);
        if !c.is_online() {
            crate::access::audit::record_on(
                &mut tx,
                crate::access::audit::Actor::System,
                &[&s.number_id],
                "linked_device.state",
                &s.phone,
                None,
                Some(serde_json::json!({"state": name, "reason": reason})),
            )
            .await?;
        }
    }
    tx.commit().await?;
    state.events.publish(events);
    Ok(changed)
}

/// One device's session: long-polls its events, keeps the connection state, and syncs every
/// group when it comes (back) online.
async fn run(state: AppState, s: Arc<Session>, mut after: u64) {
    let mut offline_since: Option<i64> = None;
    // Whether the groups were read since the session last came online.
    let mut synced = false;
    loop {
        // Until the groups are read, ask without waiting, so an online session is synced at once.
        let wait = if synced { Duration::from_secs(20) } else { Duration::ZERO };
        let page = tokio::select! {
            page = s.provider.events(after, wait) => page,
            _ = s.stop.notified() => return,
        };
        let was_online = s.connection.read().expect("connection lock").is_online();
        match page {
            Err(e) => {
                // The session itself is unreachable: offline since the first failure.
                let since = *offline_since.get_or_insert_with(now_ms);
                tracing::debug!("linked session {} unreachable: {e}", s.number_id);
                let _ = record(&state, &s, &Connection::Offline { since }, None, None).await;
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_millis(500)) => {}
                    _ = s.stop.notified() => return,
                }
            }
            Ok(page) => {
                let mut c = page.status.connection.clone();
                if let Connection::Offline { since } = &mut c {
                    *since = *offline_since.get_or_insert_with(now_ms);
                }
                if c.is_online() {
                    offline_since = None;
                }
                let _ = record(&state, &s, &c, page.status.qr.as_deref(), page.status.code.as_deref()).await;
                if !c.is_online() || !was_online {
                    synced = false;
                }
                if c.is_online() && !synced {
                    match super::sync_number(&state, &s.number_id, ProviderKind::Linked).await {
                        Ok(_) => synced = true,
                        Err(e) => tracing::warn!("syncing the groups of {} failed: {e}", s.number_id),
                    }
                }
                for e in &page.events {
                    let change = &e.change;
                    let result = async {
                        let mut tx = state.db.pool.begin().await?;
                        let mut out = Vec::new();
                        if store::one(&mut tx, &e.group).await?.is_some() || matches!(change, GroupChange::Appeared(_)) {
                            super::apply_change(&mut tx, &s.number_id, ProviderKind::Linked, &e.group, change, &mut out).await?;
                        }
                        store::set_event_seq(&mut tx, &s.number_id, e.seq as i64).await?;
                        tx.commit().await?;
                        state.events.publish(out);
                        Ok::<_, AppError>(())
                    }
                    .await;
                    if let Err(err) = result {
                        tracing::warn!("a group event of {} could not be stored: {err}", s.number_id);
                        break;
                    }
                    after = e.seq;
                }
                if !c.is_online() {
                    tokio::select! {
                        _ = tokio::time::sleep(Duration::from_millis(300)) => {}
                        _ = s.stop.notified() => return,
                    }
                }
            }
        }
    }
}

/// The number id a phone's linked device belongs to: the Cloud API number with that display
/// number when there is one (the device joins it), else the phone itself.
pub async fn number_for_phone(state: &AppState, phone: &str) -> Result<String> {
    let mut conn = state.db.pool.acquire().await?;
    Ok(crate::numbers::find_by_display_number(&mut conn, phone).await?.unwrap_or_else(|| phone.to_owned()))
}

/// Adds a linked device to a number (or a new number known only by its phone) and starts
/// pairing it: a QR code to scan, or a code to type on the phone.
pub async fn pair(state: &AppState, number_id: &str, phone: &str, label: &str, by_code: bool) -> Result<LinkedDevice> {
    if state.config.linked_devices == Backend::Off {
        return Err(AppError::bad_request(
            "linked_devices_off",
            "Linked devices are not turned on in this relay's configuration (linked_devices).",
        ));
    }
    let mut conn = state.db.pool.acquire().await?;
    store::add_device(&mut conn, number_id, phone, label).await?;
    let row = store::device(&mut conn, number_id).await?.ok_or(AppError::NotFound)?;
    drop(conn);
    if state.groups.linked.get(number_id).is_none() {
        start(state, &row);
    }
    let session = state.groups.linked.get(number_id).ok_or(AppError::NotFound)?;
    let status = session.provider.pair(by_code).await.map_err(|e| AppError::from_group(e, None))?;
    let mut c = status.connection.clone();
    if let Connection::Offline { since } = &mut c {
        *since = now_ms();
    }
    record(state, &session, &c, status.qr.as_deref(), status.code.as_deref()).await?;
    let mut conn = state.db.pool.acquire().await?;
    let row = store::device(&mut conn, number_id).await?.ok_or(AppError::NotFound)?;
    Ok(present(&row))
}

/// Unlinks a device: the session is logged out and its groups leave the list.
pub async fn unlink(state: &AppState, number_id: &str) -> Result<bool> {
    if let Some(s) = state.groups.linked.remove(number_id) {
        let _ = s.provider.logout().await;
        s.stop.notify_one();
    }
    let mut tx = state.db.pool.begin().await?;
    let removed = store::remove_device(&mut tx, number_id).await?;
    let kind = EventKind::LinkedDevice { state: "removed".into() };
    let e = crate::events::append(&mut tx, number_id, None, kind).await?;
    tx.commit().await?;
    state.events.publish(vec![e]);
    Ok(removed)
}

pub async fn devices(state: &AppState, scope: &str) -> Result<Vec<LinkedDevice>> {
    Ok(store::devices(&state.db.pool, scope).await?.iter().map(present).collect())
}
