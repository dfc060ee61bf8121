//! The freeze: a broadcast's audience fixed at its start, one recipient row and one outbox row
//! per contact, exactly once.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::hash::{Hash, Hasher};

use sqlx::AnyConnection;
use switchboard_shared::broadcast::{self as spec_fns, skip, Audience, BroadcastSpec, ContactValues, RecipientState};
use switchboard_shared::limits::{classify_error, ErrorClass};
use switchboard_shared::segment::SegmentContact;
use switchboard_shared::wire::{OutboundBody, SendRequest, TemplateLanguage, TemplateSend};
use switchboard_shared::MessageStatus;

use super::store::*;
use crate::clock::now_ms;
use crate::error::Result;
use crate::outbox::Payload;
use crate::{contacts, AppState};

/// The numbers whose lanes start after `now`, and when.
pub(super) fn later_starts(spec: &BroadcastSpec, now: i64) -> Vec<(String, i64)> {
    spec.starts.iter().filter(|(_, at)| **at > now).map(|(n, at)| (n.clone(), *at)).collect()
}

/// Picks the number a contact hears from: the first chosen number it talks to, else one
/// spread evenly by its phone (so each lane gets a fair share).
pub(super) fn pick_number<'a>(chosen: &'a [String], talks_to: &[String], phone: &str) -> &'a str {
    if let Some(n) = chosen.iter().find(|n| talks_to.contains(n)) {
        return n;
    }
    let mut h = std::collections::hash_map::DefaultHasher::new();
    phone.hash(&mut h);
    &chosen[(h.finish() % chosen.len() as u64) as usize]
}

/// Marks the broadcast running, freezes its audience and queues one send per recipient, all
/// in one transaction. Returns the audience size (0 if someone else started it).
pub async fn freeze(state: &AppState, id: i64) -> Result<usize> {
    let mut tx = state.db.pool.begin().await?;
    let now = now_ms();
    if !mark_started(&mut tx, id, now).await? {
        return Ok(0);
    }
    let spec = spec_of(&mut tx, id).await?.ok_or_else(|| anyhow::anyhow!("broadcast {id} has no readable request"))?;
    let clock = std::time::Instant::now();
    let all = contacts::load_all(&mut tx).await?;
    let loaded = clock.elapsed();
    let by_phone: HashMap<&str, usize> = all.iter().enumerate().map(|(i, (p, _, _))| (p.as_str(), i)).collect();
    let marketing = spec.category.eq_ignore_ascii_case("MARKETING");

    // The audience, in a stable order, each contact once.
    let mut audience: Vec<Result<usize, String>> = Vec::new();
    match &spec.audience {
        Audience::Segment { expression } => {
            let segment = contacts::check_expression(expression)?;
            let seen_by_creator =
                |c: &SegmentContact| spec.creator_numbers.as_ref().is_none_or(|ids| c.numbers.iter().any(|n| ids.contains(n)));
            audience
                .extend(all.iter().enumerate().filter(|(_, (_, _, c))| seen_by_creator(c) && segment.matches(c, now)).map(|(i, _)| Ok(i)));
        }
        Audience::List { phones } => {
            let mut seen = HashSet::new();
            for raw in phones {
                match contacts::normalize_phone(raw, None) {
                    Ok(p) if seen.insert(p.clone()) => audience.push(by_phone.get(p.as_str()).copied().ok_or(p)),
                    Ok(_) => {}
                    Err(_) => {
                        if seen.insert(raw.clone()) {
                            audience.push(Err(format!("!{raw}")));
                        }
                    }
                }
            }
        }
        Audience::Resend { broadcast_id } => {
            let rows = outcomes_of(&mut tx, *broadcast_id).await?;
            for Outcome { contact, state: st, status, error_code: code } in rows {
                let st = RecipientState::parse(&st);
                let status = status.as_deref().and_then(MessageStatus::parse);
                let transient_failure = (st == Some(RecipientState::Failed) || status == Some(MessageStatus::Failed))
                    && code.is_none_or(|c| classify_error(c) == ErrorClass::Retry);
                let unread =
                    st == Some(RecipientState::Accepted) && status != Some(MessageStatus::Read) && status != Some(MessageStatus::Failed);
                if transient_failure || unread {
                    audience.push(by_phone.get(contact.as_str()).copied().ok_or(contact));
                }
            }
        }
    }

    // Marketing messages each contact had within the cap's window.
    let mut recent: HashMap<String, u32> = HashMap::new();
    if let (Some(cap), true) = (spec.frequency_cap, marketing) {
        let since = now - i64::from(cap.days) * 86_400_000;
        let rows = accepted_since(&mut tx, since).await?;
        let mut marketing_broadcast: HashMap<String, bool> = HashMap::new();
        for (contact, bspec, _) in rows {
            let is_marketing = *marketing_broadcast.entry(bspec.clone()).or_insert_with(|| {
                serde_json::from_str::<BroadcastSpec>(&bspec).is_ok_and(|s| s.category.eq_ignore_ascii_case("MARKETING"))
            });
            if is_marketing {
                *recent.entry(contact).or_default() += 1;
            }
        }
    }

    let empty = BTreeMap::new();
    let mut frozen: Vec<Frozen> = Vec::with_capacity(audience.len());
    for member in audience {
        let (phone, name, c) = match member {
            Ok(i) => (all[i].0.clone(), all[i].1.as_deref(), Some(&all[i].2)),
            Err(p) if p.starts_with('!') => {
                frozen.push(Frozen {
                    contact: p[1..].to_owned(),
                    number_id: None,
                    skipped: Some((skip::INVALID_NUMBER, None)),
                    payload: None,
                });
                continue;
            }
            Err(p) => (p, None, None),
        };
        let talks_to: &[String] = c.map_or(&[], |c| &c.numbers);
        let number = pick_number(&spec.numbers, talks_to, &phone).to_owned();
        let mut f = Frozen { contact: phone.clone(), number_id: Some(number.clone()), skipped: None, payload: None };
        if c.is_some_and(|c| c.opted_out) {
            f.skipped = Some((skip::OPTED_OUT, None));
        } else if marketing && !c.is_some_and(|c| c.opted_in) {
            f.skipped = Some((skip::NOT_OPTED_IN, None));
        } else if spec.frequency_cap.is_some_and(|cap| recent.get(&phone).copied().unwrap_or(0) >= cap.max) && marketing {
            f.skipped = Some((skip::FREQUENCY_CAP, None));
        } else {
            let values = ContactValues { name, phone: &phone, attributes: c.map_or(&empty, |c| &c.attributes) };
            match spec.parameters.iter().map(|p| spec_fns::fill(p, &values)).collect::<Result<Vec<_>, _>>() {
                Err(missing) => f.skipped = Some((skip::MISSING_VALUE, Some(format!("no value for {{{missing}}}")))),
                Ok(values) => {
                    let template = TemplateSend {
                        name: spec.template.clone(),
                        language: TemplateLanguage { code: spec.language.clone(), policy: None },
                        components: spec_fns::components(spec.header_image_link.as_deref(), &values),
                    };
                    let send = SendRequest::individual(phone.clone(), OutboundBody::Template { template });
                    let payload = Payload::Send { body: serde_json::to_value(&send).map_err(anyhow::Error::from)? };
                    f.payload = Some(serde_json::to_string(&payload).map_err(anyhow::Error::from)?);
                }
            }
        }
        frozen.push(f);
    }

    let built = clock.elapsed();
    insert_recipients(&mut tx, id, &frozen).await?;
    // The first sends go into the outbox with the freeze, so the lanes start at once; the rest
    // follow in their own transactions right after.
    let mut cursor = String::new();
    let later = later_starts(&spec, now);
    queue_chunk(&mut tx, id, &mut cursor, FIRST_CHUNK, &later).await?;
    set_audience(&mut tx, id, frozen.len() as i64).await?;
    let written = clock.elapsed();
    tx.commit().await?;
    state.lanes.wake_all();
    queue_rest(state, id, cursor, &later).await?;
    tracing::info!(
        "broadcast {id}: {} recipients frozen — contacts loaded {loaded:?}, audience built {:?}, rows written {:?}, committed {:?}",
        frozen.len(),
        built - loaded,
        written - built,
        clock.elapsed() - written
    );
    Ok(frozen.len())
}

/// Moves up to `limit` frozen recipients (after `cursor`, in contact order) into the outbox, while
/// the broadcast is running or paused; advances the cursor. Returns how many. Rows of a number
/// in `later` wait (in the same transaction, so no lane sees them earlier) until its start.
pub(super) async fn queue_chunk(
    conn: &mut AnyConnection,
    id: i64,
    cursor: &mut String,
    limit: i64,
    later: &[(String, i64)],
) -> Result<usize> {
    let queued = crate::outbox::queue_broadcast(conn, id, cursor, now_ms(), limit).await?;
    if let Some(last) = queued.iter().max() {
        *cursor = last.clone();
        for (number, at) in later {
            crate::outbox::delay_broadcast(conn, id, number, *at).await?;
        }
    }
    Ok(queued.len())
}

/// Queues the rest of a frozen audience, a chunk per transaction. Also run at start, so a
/// relay that died half-way finishes the job (the outbox key makes a second attempt harmless).
pub async fn queue_rest(state: &AppState, id: i64, mut cursor: String, later: &[(String, i64)]) -> Result<()> {
    loop {
        let mut tx = state.db.pool.begin().await?;
        let n = queue_chunk(&mut tx, id, &mut cursor, QUEUE_CHUNK, later).await?;
        tx.commit().await?;
        if n == 0 {
            return Ok(());
        }
        state.lanes.wake_all();
    }
}
