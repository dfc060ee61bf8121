//! The numbers and templates tables: credentials (sealed), health, quality, the overview
//! list, and each WABA's templates.

use sqlx::{AnyConnection, AnyPool};
use switchboard_shared::api::{Number, Template};
use switchboard_shared::numbers::{MessagingTier, QualityRating};
use switchboard_shared::support::{AssignmentMode, BusinessHours, SupportSettings};

use crate::clock::now_ms;
use crate::error::Result;

/// Saves a number (or updates its credentials); the token and secret come sealed.
pub(super) async fn save(pool: &AnyPool, n: &super::NewNumber, sealed_token: &str, sealed_secret: &str) -> Result<()> {
    sqlx::query(
        "INSERT INTO numbers (id, waba_id, access_token, app_secret, verify_token, created_at, time_zone) VALUES ($1, $2, $3, $4, $5, $6, COALESCE($7, 'UTC'))
         ON CONFLICT (id) DO UPDATE SET waba_id = excluded.waba_id, access_token = excluded.access_token,
           app_secret = excluded.app_secret, verify_token = excluded.verify_token, time_zone = COALESCE($8, numbers.time_zone)",
    )
    .bind(&n.id)
    .bind(&n.waba_id)
    .bind(sealed_token)
    .bind(sealed_secret)
    .bind(&n.verify_token)
    .bind(now_ms())
    .bind(&n.time_zone)
    .bind(&n.time_zone)
    .execute(pool)
    .await?;
    Ok(())
}

pub(super) async fn throughput(pool: &AnyPool, id: &str) -> Result<i64> {
    let (rate,): (i64,) = sqlx::query_as("SELECT throughput_per_sec FROM numbers WHERE id = $1").bind(id).fetch_one(pool).await?;
    Ok(rate)
}

/// Every number's sealed app secret.
pub(super) async fn sealed_app_secrets(pool: &AnyPool) -> Result<Vec<(String, String)>> {
    Ok(sqlx::query_as("SELECT id, app_secret FROM numbers").fetch_all(pool).await?)
}

pub(super) async fn has_verify_token(pool: &AnyPool, token: &str) -> Result<bool> {
    let (n,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM numbers WHERE verify_token = $1 AND verify_token <> ''").bind(token).fetch_one(pool).await?;
    Ok(n > 0)
}

/// What the Graph API said of a number's health.
pub(super) struct Health {
    pub display_phone_number: String,
    pub verified_name: String,
    pub messaging_limit: String,
    pub throughput_per_sec: i64,
}

pub(super) async fn record_health(conn: &mut AnyConnection, id: &str, h: &Health) -> Result<()> {
    sqlx::query(
        "UPDATE numbers SET display_phone_number = $1, verified_name = $2, messaging_limit = $3,
           throughput_per_sec = $4, connected = TRUE, problem = NULL WHERE id = $5",
    )
    .bind(&h.display_phone_number)
    .bind(&h.verified_name)
    .bind(&h.messaging_limit)
    .bind(h.throughput_per_sec)
    .bind(id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The number cannot send, and this is why (shown on its card until it is healthy again).
pub(super) async fn record_problem(conn: &mut AnyConnection, id: &str, problem: &str) -> Result<()> {
    sqlx::query("UPDATE numbers SET connected = FALSE, problem = $1 WHERE id = $2").bind(problem).bind(id).execute(&mut *conn).await?;
    Ok(())
}

pub(super) async fn sealed_token(pool: &AnyPool, id: &str) -> Result<Option<String>> {
    let row: Option<(String,)> = sqlx::query_as("SELECT access_token FROM numbers WHERE id = $1").bind(id).fetch_optional(pool).await?;
    Ok(row.map(|(t,)| t))
}

pub(super) async fn ids(pool: &AnyPool) -> Result<Vec<String>> {
    let rows: Vec<(String,)> = sqlx::query_as("SELECT id FROM numbers").fetch_all(pool).await?;
    Ok(rows.into_iter().map(|(id,)| id).collect())
}

/// A number as the overview lists it.
#[derive(sqlx::FromRow)]
struct NumberRow {
    id: String,
    waba_id: String,
    display_phone_number: String,
    verified_name: String,
    quality_rating: String,
    messaging_limit: String,
    throughput_per_sec: i64,
    connected: i64,
    problem: Option<String>,
    last_webhook_at: Option<i64>,
    unread: i64,
    disabled: i64,
    time_zone: String,
}

/// The numbers matching `condition` (on `n`, from `AuthUser::scope_sql` or an id check).
pub(super) async fn load(pool: &AnyPool, condition: &str) -> Result<Vec<Number>> {
    let rows: Vec<NumberRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT n.id, n.waba_id, n.display_phone_number, n.verified_name, n.quality_rating, n.messaging_limit,
                n.throughput_per_sec, CASE WHEN n.connected THEN 1 ELSE 0 END AS connected, n.problem, n.last_webhook_at,
                CAST(COALESCE((SELECT SUM(c.unread) FROM conversations c WHERE c.number_id = n.id), 0) AS BIGINT) AS unread,
                CASE WHEN n.disabled THEN 1 ELSE 0 END AS disabled, n.time_zone
         FROM numbers n WHERE {condition} ORDER BY n.display_phone_number, n.id"
    )))
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| Number {
            id: r.id,
            waba_id: r.waba_id,
            display_phone_number: r.display_phone_number,
            verified_name: r.verified_name,
            quality_rating: QualityRating::parse(&r.quality_rating),
            messaging_limit: MessagingTier::parse(&r.messaging_limit),
            throughput_per_sec: r.throughput_per_sec as u32,
            connected: r.connected != 0,
            problem: r.problem,
            unread: r.unread,
            last_webhook_at: r.last_webhook_at,
            disabled: r.disabled != 0,
            time_zone: r.time_zone,
        })
        .collect())
}

pub(super) async fn set_disabled(conn: &mut AnyConnection, id: &str, disabled: bool) -> Result<()> {
    sqlx::query("UPDATE numbers SET disabled = $1 WHERE id = $2").bind(disabled).bind(id).execute(&mut *conn).await?;
    Ok(())
}

pub(super) async fn set_time_zone(conn: &mut AnyConnection, id: &str, zone: &str) -> Result<()> {
    sqlx::query("UPDATE numbers SET time_zone = $1 WHERE id = $2").bind(zone).bind(id).execute(&mut *conn).await?;
    Ok(())
}

pub(super) async fn delete(conn: &mut AnyConnection, id: &str) -> Result<()> {
    sqlx::query("DELETE FROM numbers WHERE id = $1").bind(id).execute(&mut *conn).await?;
    Ok(())
}

/// Sets a number's quality rating; returns the one it had.
pub(super) async fn swap_quality(conn: &mut AnyConnection, id: &str, rating: QualityRating) -> Result<Option<QualityRating>> {
    let before: Option<(String,)> =
        sqlx::query_as("SELECT quality_rating FROM numbers WHERE id = $1").bind(id).fetch_optional(&mut *conn).await?;
    sqlx::query("UPDATE numbers SET quality_rating = $1 WHERE id = $2").bind(rating.as_str()).bind(id).execute(&mut *conn).await?;
    Ok(before.map(|(b,)| QualityRating::parse(&b)))
}

/// (id, display phone number) of every number.
pub(super) async fn display_numbers(conn: &mut AnyConnection) -> Result<Vec<(String, String)>> {
    Ok(sqlx::query_as("SELECT id, display_phone_number FROM numbers").fetch_all(&mut *conn).await?)
}

/// Meta sent a webhook for these numbers just now.
pub async fn heard_from(conn: &mut AnyConnection, numbers: &[&str], at: i64) -> Result<()> {
    if numbers.is_empty() {
        return Ok(());
    }
    let sql = format!("UPDATE numbers SET last_webhook_at = $1 WHERE id IN ({})", crate::db::list_placeholders_after(1, numbers.len()));
    let mut q = sqlx::query(sqlx::AssertSqlSafe(crate::db::for_backend(conn, sql))).bind(at);
    for n in numbers {
        q = q.bind(*n);
    }
    q.execute(&mut *conn).await?;
    Ok(())
}

/// What a broadcast needs to know of the number it goes through.
#[derive(sqlx::FromRow)]
pub struct ForBroadcast {
    pub waba_id: String,
    pub disabled: i64,
    pub time_zone: String,
}

pub async fn for_broadcast(conn: &mut AnyConnection, id: &str) -> Result<Option<ForBroadcast>> {
    Ok(sqlx::query_as("SELECT waba_id, CASE WHEN disabled THEN 1 ELSE 0 END AS disabled, time_zone FROM numbers WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?)
}

/// Replaces one WABA's templates.
pub(super) async fn replace_templates(
    conn: &mut AnyConnection,
    waba_id: &str,
    list: &[switchboard_shared::wire::TemplateInfo],
    now: i64,
) -> Result<()> {
    sqlx::query("DELETE FROM templates WHERE waba_id = $1").bind(waba_id).execute(&mut *conn).await?;
    for t in list {
        sqlx::query(
            "INSERT INTO templates (waba_id, name, language, id, category, status, components, synced_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
             ON CONFLICT (waba_id, name, language) DO NOTHING",
        )
        .bind(waba_id)
        .bind(&t.name)
        .bind(t.language.clone().unwrap_or_default())
        .bind(&t.id)
        .bind(t.category.clone().unwrap_or_default().to_uppercase())
        .bind(t.status.clone().unwrap_or_default().to_uppercase())
        .bind(serde_json::to_string(&t.components).map_err(anyhow::Error::from)?)
        .bind(now)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// (WABA, sealed token) of every enabled number, by number id.
pub(super) async fn waba_tokens(pool: &AnyPool) -> Result<Vec<(String, String)>> {
    Ok(sqlx::query_as("SELECT waba_id, access_token FROM numbers WHERE disabled = FALSE ORDER BY id").fetch_all(pool).await?)
}

/// (number, WABA) of every number.
pub(super) async fn wabas(pool: &AnyPool) -> Result<Vec<(String, String)>> {
    Ok(sqlx::query_as("SELECT id, waba_id FROM numbers").fetch_all(pool).await?)
}

#[derive(sqlx::FromRow)]
struct TemplateRow {
    waba_id: String,
    name: String,
    language: String,
    category: String,
    status: String,
    components: String,
    synced_at: i64,
}

impl From<TemplateRow> for Template {
    fn from(r: TemplateRow) -> Self {
        Template {
            waba_id: r.waba_id,
            name: r.name,
            language: r.language,
            category: r.category,
            status: r.status,
            components: serde_json::from_str(&r.components).unwrap_or_default(),
            synced_at: r.synced_at,
        }
    }
}

pub(super) async fn templates(pool: &AnyPool) -> Result<Vec<Template>> {
    let rows: Vec<TemplateRow> =
        sqlx::query_as("SELECT waba_id, name, language, category, status, components, synced_at FROM templates ORDER BY name, language")
            .fetch_all(pool)
            .await?;
    Ok(rows.into_iter().map(Template::from).collect())
}

/// One template of a WABA, if it is synced.
pub async fn template(conn: &mut AnyConnection, waba_id: &str, name: &str, language: &str) -> Result<Option<Template>> {
    let row: Option<TemplateRow> = sqlx::query_as(
        "SELECT waba_id, name, language, category, status, components, synced_at FROM templates WHERE waba_id = $1 AND name = $2 AND language = $3",
    )
    .bind(waba_id)
    .bind(name)
    .bind(language)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.map(Template::from))
}

/// A number's sealed token and whether it can be used now (connected and not disabled).
pub(super) async fn cloud_access(pool: &AnyPool, id: &str) -> Result<Option<(String, bool)>> {
    let row: Option<(String, i64, i64)> = sqlx::query_as(
        "SELECT access_token, CASE WHEN connected THEN 1 ELSE 0 END, CASE WHEN disabled THEN 1 ELSE 0 END FROM numbers WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(pool)
    .await?;
    Ok(row.map(|(t, connected, disabled)| (t, connected != 0 && disabled == 0)))
}

/// A number's support settings and time zone; `None` for an unknown number.
pub async fn support_of(conn: &mut AnyConnection, number_id: &str) -> Result<Option<(SupportSettings, String)>> {
    let row: Option<(Option<String>, String, String)> =
        sqlx::query_as("SELECT hours, assignment, time_zone FROM numbers WHERE id = $1").bind(number_id).fetch_optional(&mut *conn).await?;
    Ok(row.map(|(hours, assignment, tz)| {
        let hours = hours.and_then(|h| serde_json::from_str::<BusinessHours>(&h).ok());
        (SupportSettings { hours, assignment: AssignmentMode::parse(&assignment).unwrap_or_default() }, tz)
    }))
}

/// The numbers whose conversations are assigned automatically, with their settings and time
/// zones.
pub async fn automatic_assignment(conn: &mut AnyConnection) -> Result<Vec<(String, SupportSettings, String)>> {
    let rows: Vec<(String, Option<String>, String, String)> =
        sqlx::query_as("SELECT id, hours, assignment, time_zone FROM numbers WHERE assignment <> 'manual' ORDER BY id")
            .fetch_all(&mut *conn)
            .await?;
    Ok(rows
        .into_iter()
        .map(|(id, hours, assignment, tz)| {
            let hours = hours.and_then(|h| serde_json::from_str::<BusinessHours>(&h).ok());
            (id, SupportSettings { hours, assignment: AssignmentMode::parse(&assignment).unwrap_or_default() }, tz)
        })
        .collect())
}

pub async fn set_support(conn: &mut AnyConnection, number_id: &str, settings: &SupportSettings) -> Result<bool> {
    let hours = match &settings.hours {
        Some(h) => Some(serde_json::to_string(h).map_err(anyhow::Error::from)?),
        None => None,
    };
    let done = sqlx::query("UPDATE numbers SET hours = $1, assignment = $2 WHERE id = $3")
        .bind(hours)
        .bind(settings.assignment.as_str())
        .bind(number_id)
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected() == 1)
}
