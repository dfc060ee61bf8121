//! CSV import: column mapping, E.164 phones, merging, rejected rows with reasons, progress;
//! stored before the answer and finished after a restart.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;
use switchboard_shared::api::{normalize_labels, AttributeKind, ImportMapping, ImportStatus};
use switchboard_shared::segment::{parse_date, AttrValue};

use super::store::*;
use crate::access::audit;
use crate::access::AuthUser;
use crate::clock::now_ms;
use crate::error::{AppError, Result};
use crate::AppState;

/// Largest CSV an import takes (100,000 rows with a dozen columns fit easily).
pub const MAX_IMPORT_BYTES: usize = 64 * 1024 * 1024;
/// Rows per INSERT statement when saving an import.
pub(super) const WRITE_CHUNK: usize = 400;

/// Rows read so far by the imports running now (the rest of an import's state is stored).
#[derive(Default)]
pub struct Imports {
    rows_read: Mutex<HashMap<i64, u64>>,
}

impl Imports {
    fn set_read(&self, id: i64, rows: u64) {
        self.rows_read.lock().expect("imports lock").insert(id, rows);
    }

    fn read_so_far(&self, id: i64) -> u64 {
        self.rows_read.lock().expect("imports lock").get(&id).copied().unwrap_or(0)
    }

    fn forget(&self, id: i64) {
        self.rows_read.lock().expect("imports lock").remove(&id);
    }
}

/// Normalises a phone number to E.164 digits (no `+`), with `default_country` for numbers
/// written without a country code.
pub fn normalize_phone(raw: &str, default_country: Option<phonenumber::country::Id>) -> Result<String, String> {
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        return Err("no phone number".into());
    }
    // "00" is the international prefix in most of the world; "852…" without + is common too.
    let candidate = trimmed.strip_prefix("00").map(|r| format!("+{r}")).unwrap_or_else(|| trimmed.to_owned());
    let parsed = phonenumber::parse(default_country, &candidate)
        .or_else(|_| phonenumber::parse(None, format!("+{candidate}")))
        .map_err(|e| format!("{trimmed:?} is not a phone number ({e})"))?;
    if !phonenumber::is_valid(&parsed) {
        return Err(format!("{trimmed:?} is not a valid number for its country"));
    }
    let e164 = parsed.format().mode(phonenumber::Mode::E164).to_string();
    Ok(e164.trim_start_matches('+').to_owned())
}

pub(super) fn parse_bool(s: &str) -> Option<bool> {
    match s.trim().to_lowercase().as_str() {
        "yes" | "y" | "true" | "1" | "是" | "x" => Some(true),
        "no" | "n" | "false" | "0" | "否" | "" => Some(false),
        _ => None,
    }
}

pub(super) fn parse_attr(kind: AttributeKind, s: &str) -> Result<Option<AttrValue>, String> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    Ok(Some(match kind {
        AttributeKind::Text => AttrValue::Text(s.to_owned()),
        AttributeKind::Number => AttrValue::Number(
            s.replace(',', "").parse::<f64>().ok().filter(|n| n.is_finite()).ok_or_else(|| format!("{s:?} is not a number"))?,
        ),
        AttributeKind::Date => AttrValue::Date(parse_date(s).ok_or_else(|| format!("{s:?} is not a date (YYYY-MM-DD)"))?),
        AttributeKind::Bool => AttrValue::Bool(parse_bool(s).ok_or_else(|| format!("{s:?} is not yes or no"))?),
    }))
}

/// One contact as an import builds it.
#[derive(Debug, Default, Clone)]
pub(super) struct Row {
    pub(super) name: Option<String>,
    pub(super) tags: Vec<String>,
    pub(super) attributes: BTreeMap<String, AttrValue>,
    pub(super) opted_in: Option<bool>,
}

impl Row {
    pub(super) fn merge(&mut self, later: Row) {
        if later.name.is_some() {
            self.name = later.name;
        }
        for t in later.tags {
            if !self.tags.iter().any(|x| x.to_lowercase() == t.to_lowercase()) {
                self.tags.push(t);
            }
        }
        self.attributes.extend(later.attributes);
        if later.opted_in.is_some() {
            self.opted_in = later.opted_in;
        }
    }
}

/// The result of reading a file: rows by phone in file order, and what was rejected.
#[derive(Debug)]
pub(super) struct Parsed {
    rows: Vec<(String, Row)>,
    merged_in_file: u64,
    rejected: Vec<(u64, String, String)>,
    total: u64,
}

pub(super) fn check_mapping(m: &ImportMapping, headers: &csv::StringRecord) -> Result<(), String> {
    let find = |name: &str| headers.iter().any(|h| h.trim().eq_ignore_ascii_case(name.trim()));
    let mut named: Vec<&str> = vec![m.phone.as_str()];
    named.extend(m.name.as_deref());
    named.extend(m.tags.as_deref());
    named.extend(m.opted_in.as_deref());
    named.extend(m.attributes.iter().map(|a| a.column.as_str()));
    if let Some(missing) = named.iter().find(|n| !find(n)) {
        let have: Vec<&str> = headers.iter().collect();
        return Err(format!("the file has no column {missing:?} (its columns: {})", have.join(", ")));
    }
    for a in &m.attributes {
        if a.key.is_empty() || !a.key.chars().all(|c| c.is_alphanumeric() || c == '_') {
            return Err(format!("{:?}: an attribute name is letters, digits and _", a.key));
        }
        if ["name", "phone", "tag", "tags", "opted_in", "opted_out", "last_inbound", "last_outbound", "replied", "number"]
            .contains(&a.key.to_lowercase().as_str())
        {
            return Err(format!("{:?} is a built-in field; choose another attribute name", a.key));
        }
    }
    Ok(())
}

/// Reads the whole file; `progress` is called every few thousand rows.
pub(super) fn parse_csv(bytes: &[u8], m: &ImportMapping, progress: &dyn Fn(u64)) -> Result<Parsed, String> {
    let country: Option<phonenumber::country::Id> = if m.default_country.trim().is_empty() {
        None
    } else {
        Some(
            m.default_country
                .trim()
                .to_uppercase()
                .parse()
                .map_err(|_| format!("{:?} is not a country code (like HK or TW)", m.default_country))?,
        )
    };
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(bytes);
    let headers = reader.headers().map_err(|e| format!("the first line is not a CSV header: {e}"))?.clone();
    check_mapping(m, &headers)?;
    let col = |name: &str| headers.iter().position(|h| h.trim().eq_ignore_ascii_case(name.trim()));
    let phone_col = col(&m.phone).expect("checked");
    let name_col = m.name.as_deref().and_then(col);
    let tags_col = m.tags.as_deref().and_then(col);
    let opt_col = m.opted_in.as_deref().and_then(col);
    let attr_cols: Vec<(usize, &str, AttributeKind)> =
        m.attributes.iter().filter_map(|a| Some((col(&a.column)?, a.key.as_str(), a.kind))).collect();
    let add_tags = normalize_labels(&m.add_tags)?;

    let mut index: HashMap<String, usize> = HashMap::new();
    let mut out = Parsed { rows: Vec::new(), merged_in_file: 0, rejected: Vec::new(), total: 0 };
    let mut record = csv::ByteRecord::new();
    loop {
        let line = reader.position().line();
        match reader.read_byte_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                out.total += 1;
                out.rejected.push((line, String::new(), format!("unreadable line: {e}")));
                continue;
            }
        }
        out.total += 1;
        if out.total.is_multiple_of(5_000) {
            progress(out.total);
        }
        let field = |i: usize| String::from_utf8_lossy(record.get(i).unwrap_or_default()).trim().to_owned();
        let raw_phone = field(phone_col);
        let row = (|| -> Result<(String, Row), String> {
            if record.iter().all(|f| f.iter().all(u8::is_ascii_whitespace)) {
                return Err("empty line".into());
            }
            let phone = normalize_phone(&raw_phone, country)?;
            let mut row = Row { name: name_col.map(field).filter(|n| !n.is_empty()), ..Row::default() };
            let mut tags: Vec<String> = tags_col.map(field).unwrap_or_default().split([';', ',']).map(str::to_owned).collect();
            tags.extend(add_tags.iter().cloned());
            row.tags = normalize_labels(&tags)?;
            // An empty consent cell says nothing: an existing contact keeps its consent.
            if let Some(value) = opt_col.map(field).filter(|v| !v.is_empty()) {
                row.opted_in = Some(parse_bool(&value).ok_or_else(|| format!("opt-in {value:?} is not yes or no"))?);
            }
            for (c, key, kind) in &attr_cols {
                if let Some(v) = parse_attr(*kind, &field(*c)).map_err(|e| format!("{key}: {e}"))? {
                    row.attributes.insert((*key).to_owned(), v);
                }
            }
            Ok((phone, row))
        })();
        match row {
            Ok((phone, row)) => match index.get(&phone) {
                Some(&i) => {
                    out.rows[i].1.merge(row);
                    out.merged_in_file += 1;
                }
                None => {
                    index.insert(phone.clone(), out.rows.len());
                    out.rows.push((phone, row));
                }
            },
            Err(reason) => out.rejected.push((line, raw_phone, reason)),
        }
    }
    progress(out.total);
    Ok(out)
}

pub(super) fn rejected_csv(rejected: &[(u64, String, String)]) -> Vec<u8> {
    let mut w = csv::Writer::from_writer(b"\xEF\xBB\xBF".to_vec());
    let _ = w.write_record(["line", "phone", "reason"]);
    for (line, phone, reason) in rejected {
        let _ = w.write_record([line.to_string().as_str(), phone, reason]);
    }
    w.into_inner().unwrap_or_default()
}

pub(super) fn split_list(s: &str) -> Vec<String> {
    s.split(',').filter(|t| !t.is_empty()).map(str::to_owned).collect()
}

/// `POST /api/v1/contacts/import?mapping=…` with the CSV as the body: starts an import and
/// answers at once with its id; `GET /api/v1/contacts/import/{id}` follows it.
pub async fn import(
    State(state): State<AppState>,
    user: AuthUser,
    Query(q): Query<switchboard_shared::api::ImportQuery>,
    body: axum::body::Body,
) -> Result<(StatusCode, Json<ImportStatus>)> {
    let mapping: ImportMapping = serde_json::from_str(&q.mapping)
        .map_err(|e| AppError::bad_request("invalid_mapping", format!("the column mapping is not valid: {e}")))?;
    let bytes = axum::body::to_bytes(body, MAX_IMPORT_BYTES)
        .await
        .map_err(|_| AppError::bad_request("too_large", format!("the file is larger than {} MB", MAX_IMPORT_BYTES >> 20)))?;
    // Check the header and mapping now, so a wrong mapping is an immediate, clear refusal.
    {
        let trimmed = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes);
        let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(trimmed);
        let headers =
            reader.headers().map_err(|e| AppError::bad_request("invalid_csv", format!("the first line is not a CSV header: {e}")))?;
        check_mapping(&mapping, headers).map_err(|m| AppError::bad_request("invalid_mapping", m))?;
        if !mapping.default_country.trim().is_empty()
            && mapping.default_country.trim().to_uppercase().parse::<phonenumber::country::Id>().is_err()
        {
            return Err(AppError::bad_request(
                "invalid_mapping",
                format!("{:?} is not a country code (like HK or TW)", mapping.default_country),
            ));
        }
    }
    // Stored with its audit entry before the answer: from here on the import cannot be lost.
    let mut tx = state.db.pool.begin().await?;
    let id = store_import(&mut tx, user.id, &mapping, &bytes, now_ms()).await?;
    let after = json!({"id": id, "bytes": bytes.len(), "mapping": mapping});
    audit::record(&mut tx, &user, "contacts.import", "contacts", None, Some(after)).await?;
    tx.commit().await?;
    tokio::spawn(run_import(state.clone(), id, mapping, bytes.to_vec()));
    Ok((StatusCode::ACCEPTED, Json(ImportStatus { id, ..ImportStatus::default() })))
}

/// Reads an import's file and saves its rows; the rows and the finished status are one
/// transaction, so a relay that stops before the commit simply runs the import again.
pub(super) async fn run_import(state: AppState, id: i64, mapping: ImportMapping, bytes: Vec<u8>) {
    state.imports.set_read(id, 0);
    let s = state.clone();
    let parsed = tokio::task::spawn_blocking(move || parse_csv(&bytes, &mapping, &|done| s.imports.set_read(id, done))).await;
    let mut status = ImportStatus { id, finished: true, ..ImportStatus::default() };
    let outcome = match parsed {
        Ok(Ok(parsed)) => {
            status.total = parsed.total;
            status.done = parsed.total;
            status.rejected = parsed.rejected.len() as u64;
            let rejected = rejected_csv(&parsed.rejected);
            let saved = async {
                let mut tx = state.db.pool.begin().await?;
                let (created, updated) = save_rows(&mut tx, &parsed.rows).await?;
                status.created = created;
                status.merged = updated + parsed.merged_in_file;
                finish_import(&mut tx, id, &status, &rejected).await?;
                tx.commit().await?;
                Ok::<_, AppError>(())
            }
            .await;
            saved.map_err(|e| (format!("nothing was saved: {e}"), rejected))
        }
        Ok(Err(message)) => Err((message, Vec::new())),
        Err(e) => Err((e.to_string(), Vec::new())),
    };
    if let Err((message, rejected)) = outcome {
        // Nothing was saved (the transaction rolled back): no contact counts as created.
        status = ImportStatus { id, finished: true, error: Some(message), created: 0, merged: 0, ..status };
        // Recorded until it is: a failure to record is retried, never dropped.
        loop {
            let recorded = async {
                let mut tx = state.db.pool.begin().await?;
                finish_import(&mut tx, id, &status, &rejected).await?;
                tx.commit().await?;
                Ok::<_, AppError>(())
            }
            .await;
            match recorded {
                Ok(()) => break,
                Err(e) => {
                    tracing::error!("recording the failure of import {id}: {e}");
                    tokio::time::sleep(crate::db::RETRY_AFTER_ERROR).await;
                }
            }
        }
    }
    state.imports.forget(id);
}

/// At start: runs again every import a stopped relay left unfinished.
pub async fn resume_imports(state: &AppState) -> Result<()> {
    for (id, mapping, body) in unfinished_imports(&state.db.pool).await? {
        let mapping: ImportMapping = serde_json::from_str(&mapping).map_err(anyhow::Error::from)?;
        tracing::warn!("import {id} was not finished when the relay stopped; running it again");
        tokio::spawn(run_import(state.clone(), id, mapping, body.unwrap_or_default()));
    }
    Ok(())
}

/// An import of `user`'s as stored, with the progress of one still running.
pub(super) async fn stored_import(state: &AppState, user: &AuthUser, id: i64) -> Result<ImportStatus> {
    let row = import_row(&state.db.pool, id).await?;
    let (_, status, finished) = row.filter(|(owner, _, _)| *owner == user.id).ok_or(AppError::NotFound)?;
    let mut status: ImportStatus = serde_json::from_str(&status).map_err(anyhow::Error::from)?;
    status.id = id;
    if finished == 0 {
        // Running (or about to run again): its progress is only in memory.
        status.finished = false;
        status.done = state.imports.read_so_far(id);
    }
    Ok(status)
}

/// `GET /api/v1/contacts/import/{id}`: progress and outcome.
pub async fn import_status(State(state): State<AppState>, user: AuthUser, Path(id): Path<i64>) -> Result<Json<ImportStatus>> {
    Ok(Json(stored_import(&state, &user, id).await?))
}

/// `GET /api/v1/contacts/import/{id}/rejected`: every row not imported, with the reason.
pub async fn import_rejected(State(state): State<AppState>, user: AuthUser, Path(id): Path<i64>) -> Result<Response> {
    stored_import(&state, &user, id).await?;
    let rejected = rejected_rows(&state.db.pool, id).await?;
    Ok((
        [(header::CONTENT_TYPE, "text/csv; charset=utf-8"), (header::CONTENT_DISPOSITION, "attachment; filename=\"rejected-rows.csv\"")],
        rejected.unwrap_or_default(),
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phones_become_e164_with_the_default_country() {
        let hk: phonenumber::country::Id = "HK".parse().unwrap();
        assert_eq!(normalize_phone("9123 4567", Some(hk)).unwrap(), "85291234567");
        assert_eq!(normalize_phone("+852 9123-4567", Some(hk)).unwrap(), "85291234567");
        assert_eq!(normalize_phone("00852 91234567", None).unwrap(), "85291234567");
        assert_eq!(normalize_phone("85291234567", None).unwrap(), "85291234567");
        let tw: phonenumber::country::Id = "TW".parse().unwrap();
        assert_eq!(normalize_phone("0912 345 678", Some(tw)).unwrap(), "886912345678");
        assert!(normalize_phone("12", Some(hk)).is_err());
        assert!(normalize_phone("call me", Some(hk)).is_err());
        assert!(normalize_phone("", Some(hk)).is_err());
    }

    #[test]
    fn a_file_is_parsed_merged_and_every_bad_row_named() {
        let csv = "Phone,Name,Tags,City,Spend,Member\n\
                   9123 4567,Chan,vip;gold,Hong Kong,500,yes\n\
                   +852 91234567,,new,,,\n\
                   not a phone,Lee,,,,\n\
                   9876 5432,Wong,,Kowloon,lots,no\n";
        let m = ImportMapping {
            phone: "phone".into(),
            name: Some("Name".into()),
            tags: Some("Tags".into()),
            add_tags: vec!["imported".into()],
            opted_in: Some("Member".into()),
            attributes: vec![
                switchboard_shared::api::AttributeColumn { column: "City".into(), key: "city".into(), kind: AttributeKind::Text },
                switchboard_shared::api::AttributeColumn { column: "Spend".into(), key: "spend".into(), kind: AttributeKind::Number },
            ],
            default_country: "HK".into(),
        };
        let p = parse_csv(csv.as_bytes(), &m, &|_| {}).unwrap();
        assert_eq!(p.total, 4);
        assert_eq!(p.rows.len(), 1);
        assert_eq!(p.merged_in_file, 1);
        let (phone, row) = &p.rows[0];
        assert_eq!(phone, "85291234567");
        assert_eq!(row.name.as_deref(), Some("Chan"));
        assert_eq!(row.tags, vec!["vip", "gold", "imported", "new"]);
        assert_eq!(row.attributes["spend"], AttrValue::Number(500.0));
        assert_eq!(p.rejected.len(), 2);
        assert_eq!(p.rejected[0].0, 4);
        assert!(p.rejected[0].2.contains("not a phone number"), "{:?}", p.rejected);
        assert_eq!(p.rejected[1].0, 5);
        assert!(p.rejected[1].2.contains("spend"), "{:?}", p.rejected);
        let bad = ImportMapping { phone: "Mobile".into(), ..m };
        assert!(parse_csv(csv.as_bytes(), &bad, &|_| {}).unwrap_err().contains("no column \"Mobile\""));
    }

    fn plain_mapping() -> ImportMapping {
        ImportMapping {
            phone: "phone".into(),
            name: Some("name".into()),
            tags: None,
            add_tags: Vec::new(),
            opted_in: None,
            attributes: vec![switchboard_shared::api::AttributeColumn {
                column: "spend".into(),
                key: "spend".into(),
                kind: AttributeKind::Number,
            }],
            default_country: "HK".into(),
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 256, ..Default::default() })]

        #[test]
        fn any_bytes_as_a_csv_are_parsed_or_refused_without_a_panic(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..1024)) {
            if let Ok(p) = parse_csv(&bytes, &plain_mapping(), &|_| {}) {
                proptest::prop_assert_eq!(p.total, p.rows.len() as u64 + p.merged_in_file + p.rejected.len() as u64);
            }
        }

        #[test]
        fn valid_rows_come_out_as_they_went_in(
            rows in proptest::collection::btree_map("9123[0-9]{4}", ("[A-Za-z陳美玲 ]{0,12}", 0u32..1_000_000), 1..40)
        ) {
            let mut csv = String::from("phone,name,spend\n");
            for (phone, (name, spend)) in &rows {
                csv.push_str(&format!("{phone},\"{name}\",{spend}\n"));
            }
            let p = parse_csv(csv.as_bytes(), &plain_mapping(), &|_| {}).unwrap();
            proptest::prop_assert!(p.rejected.is_empty(), "{:?}", p.rejected);
            proptest::prop_assert_eq!(p.rows.len(), rows.len());
            for ((phone, row), (raw, (name, spend))) in p.rows.iter().zip(&rows) {
                proptest::prop_assert_eq!(phone, &format!("852{raw}"));
                let name = name.trim();
                proptest::prop_assert_eq!(row.name.as_deref(), (!name.is_empty()).then_some(name));
                proptest::prop_assert_eq!(&row.attributes["spend"], &AttrValue::Number(f64::from(*spend)));
            }
        }
    }
}
