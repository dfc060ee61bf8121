//! Business numbers: their credentials, health from the Graph API, and the overview list.

mod store;
pub mod templates;

pub use store::{automatic_assignment, for_broadcast, heard_from, set_support, support_of, template, ForBroadcast};

use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use secrecy::SecretString;
use switchboard_shared::api::{ConnectNumberRequest, Number, NumberChange};
use switchboard_shared::numbers::QualityRating;

use futures::future::BoxFuture;

use crate::access::AuthUser;
use crate::error::{ApiJson, AppError, Result};
use crate::hours::Schedule;
use crate::outbox::outcomes::{OutcomeListener, SendOutcome};
use crate::AppState;
use switchboard_shared::support::SupportSettings;

/// What it takes to connect a number.
#[derive(Clone)]
pub struct NewNumber {
    pub id: String,
    pub waba_id: String,
    pub access_token: String,
    pub app_secret: String,
    pub verify_token: String,
    /// IANA time zone; a new number without one is in UTC, a known one keeps its own.
    pub time_zone: Option<String>,
}

/// A number's Cloud API token, and whether the number can be used now, for the group
/// provider; `None` when the number is not connected to the Cloud API here.
pub async fn cloud_access(state: &AppState, id: &str) -> Result<Option<(SecretString, bool)>> {
    let Some((sealed, usable)) = store::cloud_access(&state.db.pool, id).await? else { return Ok(None) };
    let token = state.config.sealing_key()?.open(&sealed)?;
    Ok(Some((SecretString::from(token), usable)))
}

/// Whether a number connected to the Cloud API can be used now (`None`: not connected here),
/// without opening its token.
pub async fn cloud_usable(state: &AppState, id: &str) -> Result<Option<bool>> {
    Ok(store::cloud_access(&state.db.pool, id).await?.map(|(_, usable)| usable))
}

/// Every connected number's id.
pub async fn list_ids(state: &AppState) -> Result<Vec<String>> {
    store::ids(&state.db.pool).await
}

/// An IANA time zone name checked against the time zone database, in its canonical spelling.
pub fn check_time_zone(name: &str) -> Result<String> {
    let name = name.trim();
    let tz = jiff::tz::TimeZone::get(name).map_err(|_| {
        AppError::bad_request("invalid_time_zone", format!("{name:?} is not a time zone: use a name such as Asia/Taipei or Europe/London"))
    })?;
    Ok(tz.iana_name().unwrap_or(name).to_owned())
}

/// Checks a number against the Graph API, then saves it (or updates its credentials) and
/// starts its lane. A bad token or id is a clear error and nothing is saved.
pub async fn upsert(state: &AppState, n: &NewNumber) -> anyhow::Result<()> {
    let key = state.config.sealing_key()?;
    let token = SecretString::from(n.access_token.clone());
    state
        .cloud
        .phone_number(&n.id, &token)
        .await
        .map_err(|e| anyhow::anyhow!("WhatsApp did not accept phone number id {} with this access token: {e}", n.id))?;
    store::save(&state.db.pool, n, &key.seal(&n.access_token), &key.seal(&n.app_secret)).await?;
    reload_app_secrets(state).await?;
    check_health(state, &n.id, &token).await?;
    if let Err(e) = crate::numbers::templates::sync_waba(state, &n.waba_id, &token).await {
        tracing::warn!("templates of {}: {e}", n.waba_id);
    }
    state.number_connected(&n.id, store::throughput(&state.db.pool, &n.id).await?);
    Ok(())
}

/// The app secrets that sign webhooks: each number's, and the one in the configuration.
#[derive(Default)]
pub struct AppSecrets {
    pub by_number: std::collections::HashMap<String, SecretString>,
    pub configured: Option<SecretString>,
}

impl AppSecrets {
    /// The secrets that may sign a body naming these phone-number ids: each known number's own
    /// secret must sign it (a body naming two numbers of different apps is refused). A body
    /// that names no known number (an account-level change) may be signed by any of them.
    pub fn signers_for(&self, number_ids: &[String]) -> SignerCheck<'_> {
        let known: Vec<&SecretString> = number_ids.iter().filter_map(|id| self.by_number.get(id)).collect();
        if known.is_empty() {
            SignerCheck::Any(self.by_number.values().chain(self.configured.iter()).collect())
        } else {
            SignerCheck::Each(known)
        }
    }
}

pub enum SignerCheck<'a> {
    /// One of these must have signed the body.
    Any(Vec<&'a SecretString>),
    /// Every one of these must have signed it (in practice they are one app's secret).
    Each(Vec<&'a SecretString>),
}

/// Re-reads the app secrets that may sign webhooks.
pub async fn reload_app_secrets(state: &AppState) -> anyhow::Result<()> {
    let rows = store::sealed_app_secrets(&state.db.pool).await?;
    let mut secrets = AppSecrets { configured: state.config.app_secret.clone(), ..AppSecrets::default() };
    if !rows.is_empty() {
        let key = state.config.sealing_key()?;
        for (id, sealed) in rows {
            secrets.by_number.insert(id, SecretString::from(key.open(&sealed)?));
        }
    }
    *state.app_secrets.write().await = secrets;
    Ok(())
}

/// Whether a webhook verification token is the configured one or any number's.
pub async fn is_verify_token(state: &AppState, token: &str) -> bool {
    if state.config.verify_token.as_deref() == Some(token) {
        return true;
    }
    store::has_verify_token(&state.db.pool, token).await.unwrap_or(false)
}

/// How often every number's health (quality, limit, throughput) and templates are fetched.
const HEALTH_CHECK_EVERY: Duration = Duration::from_secs(300);

/// Asks the Graph API for a number's health and stores what it says (or the problem).
pub async fn check_health(state: &AppState, id: &str, token: &SecretString) -> anyhow::Result<()> {
    match state.cloud.phone_number(id, token).await {
        Ok(info) => {
            let throughput = match info.throughput.as_ref().and_then(|t| t.level.as_deref()) {
                Some("HIGH") => switchboard_shared::limits::HIGH_THROUGHPUT_PER_SEC,
                _ => switchboard_shared::limits::DEFAULT_THROUGHPUT_PER_SEC,
            };
            let quality = info.quality_rating.as_deref().map_or(QualityRating::Unknown, QualityRating::parse);
            let health = store::Health {
                display_phone_number: info.display_phone_number.unwrap_or_default(),
                verified_name: info.verified_name.unwrap_or_default(),
                messaging_limit: info.whatsapp_business_manager_messaging_limit.unwrap_or_default(),
                throughput_per_sec: throughput as i64,
            };
            let mut tx = state.db.pool.begin().await?;
            store::record_health(&mut tx, id, &health).await?;
            record_quality(&mut tx, id, quality).await?;
            tx.commit().await?;
        }
        Err(e) => {
            tracing::warn!("health check of {id} failed: {e}");
            store::record_problem(&mut *state.db.pool.acquire().await?, id, &e.to_string()).await?;
        }
    }
    Ok(())
}

/// Checks one number's health now (Meta said its quality or limit changed).
pub async fn recheck(state: &AppState, id: &str) {
    let Ok(Some(sealed)) = store::sealed_token(&state.db.pool, id).await else { return };
    let token = match state.config.sealing_key().and_then(|k| k.open(&sealed)) {
        Ok(t) => SecretString::from(t),
        Err(e) => return tracing::error!("cannot read the access token of {id}: {e:#}"),
    };
    if let Err(e) = check_health(state, id, &token).await {
        tracing::error!("recording health of {id}: {e}");
    }
}

/// Checks every number's health every five minutes.
pub async fn health_loop(state: AppState) {
    loop {
        for id in store::ids(&state.db.pool).await.unwrap_or_default() {
            recheck(&state, &id).await;
        }
        if let Err(e) = crate::numbers::templates::sync_all(&state).await {
            tracing::warn!("template sync: {e}");
        }
        tokio::time::sleep(HEALTH_CHECK_EVERY).await;
    }
}

/// `GET /api/v1/numbers`: the numbers in the user's scope.
pub async fn list(State(state): State<AppState>, user: AuthUser) -> Result<Json<Vec<Number>>> {
    Ok(Json(store::load(&state.db.pool, &user.scope_sql("n.id", None)).await?))
}

fn digits_only(what: &str, value: &str) -> Result<String> {
    let value = value.trim();
    if !switchboard_shared::access::is_meta_id(value) {
        return Err(AppError::bad_request("invalid_number", format!("The {what} is the long number Meta shows (digits only).")));
    }
    Ok(value.to_owned())
}

async fn one_number(state: &AppState, id: &str) -> Result<Number> {
    let digits = digits_only("phone-number id", id)?;
    store::load(&state.db.pool, &format!("n.id = '{digits}'")).await?.pop().ok_or(AppError::NotFound)
}

/// `POST /api/v1/numbers`: connect a number, checked against the Graph API before it is saved.
pub async fn connect(
    State(state): State<AppState>,
    user: AuthUser,
    ApiJson(request): ApiJson<ConnectNumberRequest>,
) -> Result<(StatusCode, Json<Number>)> {
    let n = NewNumber {
        id: digits_only("phone-number id", &request.phone_number_id)?,
        waba_id: digits_only("WhatsApp Business Account id", &request.waba_id)?,
        access_token: request.access_token.trim().to_owned(),
        app_secret: request.app_secret.trim().to_owned(),
        verify_token: request.verify_token.trim().to_owned(),
        time_zone: request.time_zone.as_deref().map(check_time_zone).transpose()?,
    };
    if !user.covers(&n.id) {
        return Err(AppError::Forbidden("That number is outside the numbers you manage.".into()));
    }
    if n.access_token.is_empty() || n.app_secret.is_empty() {
        return Err(AppError::bad_request("missing_secret", "Both the access token and the app secret are needed."));
    }
    let existed = one_number(&state, &n.id).await.ok();
    upsert(&state, &n).await.map_err(|e| AppError::bad_request("graph_refused", format!("{e:#}")))?;
    let number = one_number(&state, &n.id).await?;
    let mut conn = state.db.pool.acquire().await?;
    // Secrets never reach the log: the entry holds what the list shows.
    crate::access::audit::record_on(
        &mut conn,
        &user,
        &[&n.id],
        if existed.is_some() { "number.update" } else { "number.connect" },
        &format!("number:{}", n.id),
        existed.map(|b| serde_json::json!(b)),
        Some(serde_json::json!(number)),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(number)))
}

/// `PATCH /api/v1/numbers/{id}`: disable (stop sending; webhooks are still kept) or enable,
/// and set the time zone.
pub async fn update(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
    ApiJson(change): ApiJson<NumberChange>,
) -> Result<Json<Number>> {
    let time_zone = change.time_zone.as_deref().map(check_time_zone).transpose()?;
    if change.disabled.is_none() && time_zone.is_none() {
        return Err(AppError::bad_request("invalid_body", "nothing to change: give \"disabled\" or \"time_zone\""));
    }
    let before = one_number(&state, &id).await?;
    if !user.covers(&before.id) {
        return Err(AppError::NotFound);
    }
    let mut after = before.clone();
    let mut tx = state.db.pool.begin().await?;
    if let Some(disabled) = change.disabled {
        store::set_disabled(&mut tx, &before.id, disabled).await?;
        after.disabled = disabled;
        let action = if disabled { "number.disable" } else { "number.enable" };
        crate::access::audit::record_on(
            &mut tx,
            &user,
            &[&before.id],
            action,
            &format!("number:{}", before.id),
            Some(serde_json::json!(before)),
            Some(serde_json::json!(after)),
        )
        .await?;
    }
    if let Some(zone) = time_zone {
        store::set_time_zone(&mut tx, &before.id, &zone).await?;
        let was = after.clone();
        after.time_zone = zone;
        crate::access::audit::record_on(
            &mut tx,
            &user,
            &[&before.id],
            "number.time_zone",
            &format!("number:{}", before.id),
            Some(serde_json::json!(was)),
            Some(serde_json::json!(after)),
        )
        .await?;
    }
    tx.commit().await?;
    state.number_changed(&after.id);
    Ok(Json(one_number(&state, &id).await?))
}

/// `DELETE /api/v1/numbers/{id}`: forget the number's credentials. Its conversations stay in
/// the record; anything still queued for it waits, unsent, in case it is connected again.
pub async fn remove(State(state): State<AppState>, user: AuthUser, Path(id): Path<String>) -> Result<StatusCode> {
    let before = one_number(&state, &id).await?;
    if !user.covers(&before.id) {
        return Err(AppError::NotFound);
    }
    let mut tx = state.db.pool.begin().await?;
    store::delete(&mut tx, &before.id).await?;
    crate::access::audit::record_on(
        &mut tx,
        &user,
        &[&before.id],
        "number.remove",
        &format!("number:{}", before.id),
        Some(serde_json::json!(before)),
        None,
    )
    .await?;
    tx.commit().await?;
    reload_app_secrets(&state).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Marks a number unable to send, with WhatsApp's reason (a revoked token): its lane pauses
/// and its card says why, until it is connected again. The outbox says so as a send outcome.
pub struct SendListener;

impl OutcomeListener for SendListener {
    fn record<'a>(
        &'a self,
        conn: &'a mut sqlx::AnyConnection,
        outcomes: &'a [SendOutcome<'a>],
        _at: i64,
        _events: &'a mut Vec<switchboard_shared::api::Event>,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            for o in outcomes {
                if let SendOutcome::NumberStopped { number_id, reason } = *o {
                    store::record_problem(conn, number_id, reason).await?;
                }
            }
            Ok(())
        })
    }
}

/// Records a number's quality rating. A fall to RED pauses every broadcast through it at once
/// (the quality kill switch); staying RED does not pause again what someone chose to resume.
/// Both the health check and Meta's quality webhook come through here.
pub async fn record_quality(conn: &mut sqlx::AnyConnection, id: &str, rating: QualityRating) -> Result<()> {
    let before = store::swap_quality(conn, id, rating).await?;
    if rating == QualityRating::Red && before.is_some_and(|b| b != QualityRating::Red) {
        crate::quality_fell_to_red(conn, id).await?;
    }
    Ok(())
}

/// The number whose display phone number is `display`, compared on digits only (`+852 5550
/// 0101` is `85255500101`): quality webhooks name a number by its phone number, not its id.
pub async fn find_by_display_number(conn: &mut sqlx::AnyConnection, display: &str) -> Result<Option<String>> {
    let only_digits = |s: &str| s.chars().filter(char::is_ascii_digit).collect::<String>();
    let wanted = only_digits(display);
    if wanted.is_empty() {
        return Ok(None);
    }
    let numbers = store::display_numbers(conn).await?;
    Ok(numbers.into_iter().find(|(_, shown)| only_digits(shown) == wanted).map(|(id, _)| id))
}

/// A number's support settings, ready to ask.
#[derive(Clone)]
pub struct NumberSupport {
    pub settings: SupportSettings,
    pub schedule: Option<Schedule>,
}

impl NumberSupport {
    pub fn new(settings: SupportSettings, time_zone: &str) -> NumberSupport {
        let schedule = settings.hours.clone().and_then(|h| Schedule::new(h, time_zone));
        NumberSupport { settings, schedule }
    }

    /// Open now: always, without business hours.
    pub fn is_open(&self, now: i64) -> bool {
        self.schedule.as_ref().is_none_or(|s| s.is_open(now))
    }
}
