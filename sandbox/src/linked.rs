//! `sim-linked`: simulated linked-device sessions of business numbers, and the WhatsApp groups
//! they see. The relay's `SimLinked` provider speaks to it under `/_linked/{phone}/…` as a real
//! linked device speaks to WhatsApp; tests drive the world under `/_sandbox/linked/…` (take a
//! number offline, log it out, scan its QR code, make a customer ask to join, move a group to
//! LID addressing, refuse adds by privacy).
//!
//! What WhatsApp does that users trip over is simulated on purpose: adds refused by privacy
//! (`403` with an invite code), a rate limit (`rate-overlimit`), LID-addressed groups whose
//! members come without phones, sessions that drop, and (as a fault) changes accepted but never
//! applied.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, Query, State as AxState};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use switchboard_shared::groups::sim::Change;
use switchboard_shared::groups::sim::{
    ChangeResult, CreateBody, DecideBody, Error, Event, EventPage, MessageBody, Metadata, Participant, ParticipantsBody, Request,
    RevokeBody, SettingsBody, Status,
};
use switchboard_shared::groups::MemberRole;

use crate::{now_ms, State};

type Shared = Arc<State>;

/// A number that has (or can have) a linked device in the simulated world.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LinkedSeed {
    /// Phone digits.
    pub phone: String,
    /// Paired and online from the start.
    #[serde(default)]
    pub paired: bool,
}

/// One applied change, for tests and benchmarks to prove nothing was done twice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Applied {
    pub phone: String,
    pub group: String,
    /// `remove`, `add`, `promote`, `demote`, `approve`, `reject`, `settings`, `message`, `revoke`,
    /// `create`, `leave`, `photo`.
    pub op: String,
    /// The member's phone or LID, or the setting, or the message id.
    pub target: String,
    pub at_ms: i64,
}

#[derive(Debug, Clone)]
struct Device {
    state: String,
    reason: Option<String>,
    qr: Option<String>,
    code: Option<String>,
    /// Recent operation times, for the rate limit.
    recent: VecDeque<i64>,
    events: Vec<Event>,
    /// Message ids already sent (a resent id is the same message).
    sent: HashSet<String>,
}

impl Device {
    fn new(paired: bool) -> Device {
        Device {
            state: if paired { "online" } else { "unpaired" }.into(),
            reason: None,
            qr: None,
            code: None,
            recent: VecDeque::new(),
            events: Vec::new(),
            sent: HashSet::new(),
        }
    }

    fn status(&self) -> Status {
        Status { state: self.state.clone(), reason: self.reason.clone(), qr: self.qr.clone(), code: self.code.clone() }
    }
}

#[derive(Debug, Clone)]
struct SimGroup {
    /// The number whose session sees it.
    phone: String,
    meta: Metadata,
    requests: Vec<Request>,
    invite: String,
    /// Members who left or were removed (cannot come back by the link without approval).
    removed: HashSet<String>,
    last_message_id: Option<(String, Participant)>,
}

/// The simulated world.
#[derive(Default)]
pub(crate) struct World {
    devices: HashMap<String, Device>,
    groups: HashMap<String, SimGroup>,
    /// Phones whose privacy settings refuse adds.
    privacy: HashSet<String>,
    applied: Vec<Applied>,
    next_seq: u64,
    next_id: u64,
    /// Operations a session may make per minute before `rate-overlimit`.
    pub ops_per_minute: u32,
    /// Changes are answered as done and never applied (WhatsApp's "200 but nothing changed").
    pub ignore_changes: bool,
    /// Member changes are applied at once but answered only after this long (a caller that
    /// dies in between never hears that its change was made).
    pub answer_delay_ms: u64,
}

/// A person's LID in the simulated world: fixed per phone, as WhatsApp's are.
pub fn lid_of(pn: &str) -> String {
    let mut h: u64 = 1469598103934665603;
    for b in pn.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(1099511628211);
    }
    format!("{}", 100_000_000_000_000 + h % 899_999_999_999_999)
}

impl World {
    pub fn new(seeds: &[LinkedSeed]) -> World {
        World { devices: seeds.iter().map(|s| (s.phone.clone(), Device::new(s.paired))).collect(), ops_per_minute: 600, ..World::default() }
    }

    fn push(&mut self, phone: &str, group: &str, change: Change) {
        self.next_seq += 1;
        let event = Event { seq: self.next_seq, group: group.to_owned(), change };
        if let Some(d) = self.devices.get_mut(phone) {
            d.events.push(event);
        }
    }

    /// Adds a group seen by `phone`'s session; `members` are (phone, name, role). Our number is
    /// a member with `our_role`. Returns its JID.
    pub fn seed_group(
        &mut self,
        phone: &str,
        subject: &str,
        our_role: MemberRole,
        members: &[(String, String, MemberRole)],
        join_approval: bool,
    ) -> String {
        self.next_id += 1;
        let jid = format!("1203630{:011}@g.us", self.next_id);
        let mut participants = vec![Participant { pn: Some(phone.into()), lid: Some(lid_of(phone)), name: None, role: our_role }];
        participants.extend(members.iter().map(|(pn, name, role)| Participant {
            pn: Some(pn.clone()),
            lid: Some(lid_of(pn)),
            name: Some(name.clone()),
            role: *role,
        }));
        let meta = Metadata {
            jid: jid.clone(),
            subject: subject.into(),
            description: None,
            participants,
            announce: false,
            locked: false,
            join_approval,
            lid_addressing: false,
        };
        let invite = format!("SIM{:08X}", self.next_id * 7919);
        self.devices.entry(phone.to_owned()).or_insert_with(|| Device::new(true));
        self.groups.insert(
            jid.clone(),
            SimGroup { phone: phone.into(), meta, requests: vec![], invite, removed: HashSet::new(), last_message_id: None },
        );
        jid
    }

    /// A customer asks to join (approval on) or joins by the link (approval off).
    pub fn ask_to_join(&mut self, jid: &str, pn: &str, name: &str) -> Result<(), String> {
        let g = self.groups.get_mut(jid).ok_or("no such group")?;
        let who = Participant { pn: Some(pn.into()), lid: Some(lid_of(pn)), name: Some(name.into()), role: MemberRole::Member };
        if g.meta.participants.iter().any(|p| p.pn.as_deref() == Some(pn)) {
            return Err("already a member".into());
        }
        let phone = g.phone.clone();
        let shown = shown(&g.meta, &who);
        if g.meta.join_approval || g.removed.contains(pn) {
            if g.requests.iter().any(|r| r.requester.pn.as_deref() == Some(pn)) {
                return Err("already asked".into());
            }
            g.requests.push(Request { requester: who, requested_at: now_ms() });
            self.push(&phone, jid, Change::JoinRequest { action: "created".into(), requester: shown });
        } else {
            g.meta.participants.push(who);
            self.push(&phone, jid, Change::Participants { action: "join".into(), participants: vec![shown] });
        }
        Ok(())
    }

    /// Moves a group to LID addressing: from now on members come as LIDs, and only those whose
    /// phone number WhatsApp still shares (every other one here) carry a phone.
    pub fn migrate_to_lid(&mut self, jid: &str) -> Result<(), String> {
        let g = self.groups.get_mut(jid).ok_or("no such group")?;
        g.meta.lid_addressing = true;
        let phone = g.phone.clone();
        self.push(&phone, jid, Change::LidAddressing { on: true });
        Ok(())
    }

    /// An admin's phone sets the group admins-only (or not); the session hears of it.
    pub fn set_announce(&mut self, jid: &str, on: bool) {
        let Some(g) = self.groups.get_mut(jid) else { return };
        g.meta.announce = on;
        let phone = g.phone.clone();
        let change = Change::Settings { announce: Some(on), locked: None, join_approval: None, subject: None, description: None };
        self.push(&phone, jid, change);
    }

    pub fn set_state(&mut self, phone: &str, state: &str, reason: Option<String>) {
        let d = self.devices.entry(phone.to_owned()).or_insert_with(|| Device::new(false));
        d.state = state.into();
        d.reason = reason;
        if state != "pairing" {
            d.qr = None;
            d.code = None;
        }
    }

    pub fn applied(&self) -> Vec<Applied> {
        self.applied.clone()
    }

    pub fn group_jids(&self, phone: &str) -> Vec<String> {
        let mut v: Vec<String> = self.groups.values().filter(|g| g.phone == phone).map(|g| g.meta.jid.clone()).collect();
        v.sort();
        v
    }

    pub fn members(&self, jid: &str) -> Vec<Participant> {
        self.groups.get(jid).map(|g| g.meta.participants.clone()).unwrap_or_default()
    }

    pub fn metadata(&self, jid: &str) -> Option<Metadata> {
        self.groups.get(jid).map(|g| g.meta.clone())
    }

    pub fn block_adds(&mut self, pn: &str) {
        self.privacy.insert(pn.to_owned());
    }
}

/// A participant as a group shows them: in a LID-addressed group, a phone only for every other
/// member (WhatsApp shares some and not others).
fn shown(meta: &Metadata, p: &Participant) -> Participant {
    let mut p = p.clone();
    if meta.lid_addressing {
        let hide = p.pn.as_deref().is_some_and(|pn| pn.bytes().map(u32::from).sum::<u32>() % 2 == 1);
        if hide {
            p.pn = None;
        }
    }
    p
}

fn shown_meta(meta: &Metadata) -> Metadata {
    let mut m = meta.clone();
    m.participants = meta.participants.iter().map(|p| shown(meta, p)).collect();
    m
}

fn err(status: StatusCode, error: &str, message: &str) -> Response {
    (status, Json(Error { error: error.into(), message: Some(message.into()) })).into_response()
}

/// Refuses unless the session is online and under the rate limit; counts the operation.
fn admit(world: &mut World, phone: &str) -> Result<(), Response> {
    let limit = world.ops_per_minute as usize;
    let Some(d) = world.devices.get_mut(phone) else {
        return Err(err(StatusCode::UNAUTHORIZED, "logged-out", "This number has no linked device."));
    };
    match d.state.as_str() {
        "online" => {}
        "logged_out" | "unpaired" | "pairing" => return Err(err(StatusCode::UNAUTHORIZED, "logged-out", "The device is not paired.")),
        "banned" => return Err(err(StatusCode::FORBIDDEN, "banned", "This number is banned.")),
        _ => return Err(err(StatusCode::SERVICE_UNAVAILABLE, "offline", "The session is not connected.")),
    }
    let now = now_ms();
    while d.recent.front().is_some_and(|t| now - t >= 60_000) {
        d.recent.pop_front();
    }
    if d.recent.len() >= limit {
        return Err(err(StatusCode::TOO_MANY_REQUESTS, "rate-overlimit", "Too many requests; slow down."));
    }
    d.recent.push_back(now);
    Ok(())
}

/// The group, if this session sees it.
fn group_of<'a>(world: &'a mut World, phone: &str, jid: &str) -> Result<&'a mut SimGroup, Response> {
    match world.groups.get_mut(jid) {
        Some(g) if g.phone == phone => Ok(g),
        _ => Err(err(StatusCode::NOT_FOUND, "item-not-found", "No such group.")),
    }
}

/// An operation of `phone`'s session on one of its groups: the session is online and under the
/// rate limit, and the group is one it sees.
fn admit_on<'a>(world: &'a mut World, phone: &str, jid: &str) -> Result<&'a mut SimGroup, Response> {
    admit(world, phone)?;
    group_of(world, phone, jid)
}

fn is_admin(g: &SimGroup, phone: &str) -> bool {
    g.meta.participants.iter().any(|p| p.pn.as_deref() == Some(phone) && p.role.is_admin())
}

fn require_admin(g: &SimGroup, phone: &str) -> Result<(), Response> {
    if is_admin(g, phone) {
        Ok(())
    } else {
        Err(err(StatusCode::FORBIDDEN, "not-authorized", "Only group admins may do this."))
    }
}

/// Finds a member by a shared id (phone or LID).
fn position(meta: &Metadata, who: &Participant) -> Option<usize> {
    meta.participants.iter().position(|p| (who.pn.is_some() && p.pn == who.pn) || (who.lid.is_some() && p.lid == who.lid))
}

pub(crate) fn router(state: Shared) -> Router {
    Router::new()
        .route("/_linked/{phone}/pair", post(pair))
        .route("/_linked/{phone}/logout", post(logout))
        .route("/_linked/{phone}/events", get(events))
        .route("/_linked/{phone}/groups", get(list_groups).post(create_group))
        .route("/_linked/{phone}/groups/{jid}/leave", post(leave))
        .route("/_linked/{phone}/groups/{jid}/photo", post(photo))
        .route("/_linked/{phone}/groups/{jid}", get(group_info).post(settings))
        .route("/_linked/{phone}/groups/{jid}/participants", post(participants))
        .route("/_linked/{phone}/groups/{jid}/requests", get(requests).post(decide))
        .route("/_linked/{phone}/groups/{jid}/invite", get(invite).post(reset_invite))
        .route("/_linked/{phone}/groups/{jid}/messages", post(message))
        .route("/_linked/{phone}/groups/{jid}/revoke", post(revoke))
        .route("/_sandbox/linked/{phone}/state", post(control_state))
        .route("/_sandbox/linked/{phone}/scan", post(control_scan))
        .route("/_sandbox/linked/{phone}/privacy", post(control_privacy))
        .route("/_sandbox/linked/groups/{jid}/join", post(control_join))
        .route("/_sandbox/linked/groups/{jid}/lid", post(control_lid))
        .route("/_sandbox/linked/groups/{jid}/message", post(control_message))
        .route("/_sandbox/linked/applied", get(control_applied))
        .route("/_sandbox/linked/faults", post(control_faults))
        .with_state(state)
}

#[derive(Deserialize)]
struct PairBody {
    #[serde(default)]
    by_code: bool,
}

async fn pair(AxState(state): AxState<Shared>, Path(phone): Path<String>, Json(b): Json<PairBody>) -> Response {
    let mut w = state.linked.lock().expect("linked lock");
    let n = w.next_id + 1;
    w.next_id = n;
    let d = w.devices.entry(phone.clone()).or_insert_with(|| Device::new(false));
    if d.state == "online" {
        return Json(d.status()).into_response();
    }
    d.state = "pairing".into();
    d.reason = None;
    if b.by_code {
        d.code = Some(format!("{:04X}-{:04X}", (n * 4099) % 0xFFFF, (n * 131) % 0xFFFF));
        d.qr = None;
    } else {
        d.qr = Some(format!("2@SIM{n:06}{phone},SIMKEY{n:06}=="));
        d.code = None;
    }
    Json(d.status()).into_response()
}

async fn logout(AxState(state): AxState<Shared>, Path(phone): Path<String>) -> Response {
    state.linked.lock().expect("linked lock").set_state(&phone, "logged_out", Some("not_paired".into()));
    Json(serde_json::json!({"ok": true})).into_response()
}

#[derive(Deserialize)]
struct EventsQuery {
    #[serde(default)]
    after: u64,
    #[serde(default)]
    wait_ms: u64,
}

/// Long poll: the events after `after` (waiting up to `wait_ms` for one), with the connection.
async fn events(AxState(state): AxState<Shared>, Path(phone): Path<String>, Query(q): Query<EventsQuery>) -> Response {
    let deadline = tokio::time::Instant::now() + Duration::from_millis(q.wait_ms.min(30_000));
    loop {
        let notified = state.linked_bell.notified();
        {
            let w = state.linked.lock().expect("linked lock");
            let Some(d) = w.devices.get(&phone) else {
                return Json(EventPage {
                    status: Status { state: "unpaired".into(), reason: Some("not_paired".into()), qr: None, code: None },
                    events: vec![],
                })
                .into_response();
            };
            // An offline session hears nothing (its events wait for it to come back).
            let online = d.state == "online";
            let events: Vec<Event> = if online { d.events.iter().filter(|e| e.seq > q.after).cloned().collect() } else { vec![] };
            if !events.is_empty() || !online || tokio::time::Instant::now() >= deadline {
                return Json(EventPage { status: d.status(), events }).into_response();
            }
        }
        tokio::select! {
            _ = notified => {}
            _ = tokio::time::sleep_until(deadline) => {}
        }
    }
}

async fn list_groups(AxState(state): AxState<Shared>, Path(phone): Path<String>) -> Response {
    let mut w = state.linked.lock().expect("linked lock");
    if let Err(r) = admit(&mut w, &phone) {
        return r;
    }
    let mut all: Vec<Metadata> = w.groups.values().filter(|g| g.phone == phone).map(|g| shown_meta(&g.meta)).collect();
    all.sort_by(|a, b| a.jid.cmp(&b.jid));
    Json(all).into_response()
}

async fn group_info(AxState(state): AxState<Shared>, Path((phone, jid)): Path<(String, String)>) -> Response {
    let mut w = state.linked.lock().expect("linked lock");
    if let Err(r) = admit(&mut w, &phone) {
        return r;
    }
    match group_of(&mut w, &phone, &jid) {
        Ok(g) => Json(shown_meta(&g.meta)).into_response(),
        Err(r) => r,
    }
}

fn record(w: &mut World, phone: &str, group: &str, op: &str, target: &str) {
    w.applied.push(Applied { phone: phone.into(), group: group.into(), op: op.into(), target: target.into(), at_ms: now_ms() });
}

async fn participants(
    AxState(state): AxState<Shared>,
    Path((phone, jid)): Path<(String, String)>,
    Json(b): Json<ParticipantsBody>,
) -> Response {
    let results = {
        let mut w = state.linked.lock().expect("linked lock");
        if let Err(r) = admit(&mut w, &phone) {
            return r;
        }
        let ignore = w.ignore_changes;
        let privacy = w.privacy.clone();
        let g = match group_of(&mut w, &phone, &jid) {
            Ok(g) => g,
            Err(r) => return r,
        };
        if let Err(r) = require_admin(g, &phone) {
            return r;
        }
        if b.participants.is_empty() || b.participants.len() > 20 {
            return err(StatusCode::BAD_REQUEST, "bad-request", "1 to 20 participants a call.");
        }
        let mut results = Vec::new();
        let mut changed = Vec::new();
        for who in &b.participants {
            let at = position(&g.meta, who);
            let status = match (b.action.as_str(), at) {
                ("add", Some(_)) => "409",
                ("add", None) if who.pn.as_deref().is_some_and(|pn| privacy.contains(pn)) => "403",
                ("add", None) if who.pn.is_none() => "400",
                ("add", None) => {
                    if !ignore {
                        let pn = who.pn.clone().unwrap_or_default();
                        let p = Participant { lid: Some(lid_of(&pn)), pn: Some(pn), name: who.name.clone(), role: MemberRole::Member };
                        g.meta.participants.push(p.clone());
                        changed.push(p);
                    }
                    "200"
                }
                (_, None) => "404",
                ("remove", Some(i)) => {
                    if !ignore {
                        let p = g.meta.participants.remove(i);
                        if let Some(pn) = &p.pn {
                            g.removed.insert(pn.clone());
                        }
                        changed.push(p);
                    }
                    "200"
                }
                ("promote" | "demote", Some(i)) => {
                    if !ignore {
                        let p = &mut g.meta.participants[i];
                        p.role = if b.action == "promote" { MemberRole::Admin } else { MemberRole::Member };
                        changed.push(p.clone());
                    }
                    "200"
                }
                _ => return err(StatusCode::BAD_REQUEST, "bad-request", "action must be add, remove, promote or demote."),
            };
            let invite_code = (status == "403").then(|| g.invite.clone());
            results.push(ChangeResult { participant: who.clone(), status: status.into(), invite_code });
        }
        let meta = g.meta.clone();
        for p in &changed {
            let target = p.pn.clone().or(p.lid.clone()).unwrap_or_default();
            record(&mut w, &phone, &jid, &b.action, &target);
        }
        let update = (!changed.is_empty()).then(|| {
            let shown: Vec<Participant> = changed.iter().map(|p| shown(&meta, p)).collect();
            Change::Participants { action: b.action.clone(), participants: shown }
        });
        (results, update, w.answer_delay_ms)
    };
    let (results, update, delay) = results;
    // Made at once; answered (and reported) only after the delay, if there is one.
    if delay > 0 {
        tokio::time::sleep(Duration::from_millis(delay)).await;
    }
    if let Some(update) = update {
        state.linked.lock().expect("linked lock").push(&phone, &jid, update);
    }
    state.linked_bell.notify_waiters();
    Json(results).into_response()
}

async fn settings(AxState(state): AxState<Shared>, Path((phone, jid)): Path<(String, String)>, Json(b): Json<SettingsBody>) -> Response {
    {
        let mut w = state.linked.lock().expect("linked lock");
        if let Err(r) = admit(&mut w, &phone) {
            return r;
        }
        let ignore = w.ignore_changes;
        let g = match group_of(&mut w, &phone, &jid) {
            Ok(g) => g,
            Err(r) => return r,
        };
        // Subject and description are open to all unless the info is locked.
        let admin_only = b.announce.is_some() || b.locked.is_some() || b.join_approval.is_some() || g.meta.locked;
        if admin_only {
            if let Err(r) = require_admin(g, &phone) {
                return r;
            }
        }
        if b.subject.as_deref().is_some_and(|s| s.trim().is_empty() || s.chars().count() > 128) {
            return err(StatusCode::BAD_REQUEST, "bad-request", "The subject must be 1 to 128 characters.");
        }
        if !ignore {
            if let Some(v) = b.announce {
                g.meta.announce = v;
            }
            if let Some(v) = b.locked {
                g.meta.locked = v;
            }
            if let Some(v) = b.join_approval {
                g.meta.join_approval = v;
            }
            if let Some(v) = &b.subject {
                g.meta.subject.clone_from(v);
            }
            if let Some(v) = &b.description {
                g.meta.description = Some(v.clone());
            }
            let target = serde_json::to_string(&b).unwrap_or_default();
            record(&mut w, &phone, &jid, "settings", &target);
            w.push(
                &phone,
                &jid,
                Change::Settings {
                    announce: b.announce,
                    locked: b.locked,
                    join_approval: b.join_approval,
                    subject: b.subject.clone(),
                    description: b.description.clone(),
                },
            );
        }
    }
    state.linked_bell.notify_waiters();
    Json(serde_json::json!({"ok": true})).into_response()
}

async fn requests(AxState(state): AxState<Shared>, Path((phone, jid)): Path<(String, String)>) -> Response {
    let mut w = state.linked.lock().expect("linked lock");
    let g = match admit_on(&mut w, &phone, &jid) {
        Ok(g) => g,
        Err(r) => return r,
    };
    if let Err(r) = require_admin(g, &phone) {
        return r;
    }
    let meta = g.meta.clone();
    let list: Vec<Request> =
        g.requests.iter().map(|r| Request { requester: shown(&meta, &r.requester), requested_at: r.requested_at }).collect();
    Json(list).into_response()
}

async fn decide(AxState(state): AxState<Shared>, Path((phone, jid)): Path<(String, String)>, Json(b): Json<DecideBody>) -> Response {
    let results = {
        let mut w = state.linked.lock().expect("linked lock");
        if let Err(r) = admit(&mut w, &phone) {
            return r;
        }
        let ignore = w.ignore_changes;
        let g = match group_of(&mut w, &phone, &jid) {
            Ok(g) => g,
            Err(r) => return r,
        };
        if let Err(r) = require_admin(g, &phone) {
            return r;
        }
        let mut results = Vec::new();
        let mut decided = Vec::new();
        for who in &b.participants {
            let at = g
                .requests
                .iter()
                .position(|r| (who.pn.is_some() && r.requester.pn == who.pn) || (who.lid.is_some() && r.requester.lid == who.lid));
            let status = match at {
                None => "404",
                Some(i) => {
                    if !ignore {
                        let r = g.requests.remove(i);
                        if b.approve {
                            g.meta.participants.push(r.requester.clone());
                            if let Some(pn) = &r.requester.pn {
                                g.removed.remove(pn);
                            }
                        }
                        decided.push(r.requester);
                    }
                    "200"
                }
            };
            results.push(ChangeResult { participant: who.clone(), status: status.into(), invite_code: None });
        }
        let meta = g.meta.clone();
        let op = if b.approve { "approve" } else { "reject" };
        for p in &decided {
            let target = p.pn.clone().or(p.lid.clone()).unwrap_or_default();
            record(&mut w, &phone, &jid, op, &target);
            let shown_p = shown(&meta, p);
            w.push(
                &phone,
                &jid,
                Change::JoinRequest { action: if b.approve { "approved" } else { "rejected" }.into(), requester: shown_p.clone() },
            );
            if b.approve {
                w.push(&phone, &jid, Change::Participants { action: "add".into(), participants: vec![shown_p] });
            }
        }
        results
    };
    state.linked_bell.notify_waiters();
    Json(results).into_response()
}

#[derive(Serialize)]
struct InviteAnswer {
    link: String,
}

async fn invite(AxState(state): AxState<Shared>, Path((phone, jid)): Path<(String, String)>) -> Response {
    let mut w = state.linked.lock().expect("linked lock");
    let g = match admit_on(&mut w, &phone, &jid) {
        Ok(g) => g,
        Err(r) => return r,
    };
    if let Err(r) = require_admin(g, &phone) {
        return r;
    }
    Json(InviteAnswer { link: format!("https://chat.whatsapp.com/{}", g.invite) }).into_response()
}

async fn reset_invite(AxState(state): AxState<Shared>, Path((phone, jid)): Path<(String, String)>) -> Response {
    let mut w = state.linked.lock().expect("linked lock");
    if let Err(r) = admit(&mut w, &phone) {
        return r;
    }
    w.next_id += 1;
    let n = w.next_id;
    let g = match group_of(&mut w, &phone, &jid) {
        Ok(g) => g,
        Err(r) => return r,
    };
    if let Err(r) = require_admin(g, &phone) {
        return r;
    }
    g.invite = format!("SIM{:08X}", n * 104_729);
    let link = format!("https://chat.whatsapp.com/{}", g.invite);
    record(&mut w, &phone, &jid, "reset_invite", "");
    Json(InviteAnswer { link }).into_response()
}

async fn message(AxState(state): AxState<Shared>, Path((phone, jid)): Path<(String, String)>, Json(b): Json<MessageBody>) -> Response {
    {
        let mut w = state.linked.lock().expect("linked lock");
        let g = match admit_on(&mut w, &phone, &jid) {
            Ok(g) => g,
            Err(r) => return r,
        };
        if g.meta.announce && !is_admin(g, &phone) {
            return err(StatusCode::FORBIDDEN, "not-authorized", "Only admins may send to this group.");
        }
        if b.text.trim().is_empty() {
            return err(StatusCode::BAD_REQUEST, "bad-request", "The message is empty.");
        }
        let me = Participant { pn: Some(phone.clone()), lid: Some(lid_of(&phone)), name: None, role: MemberRole::Admin };
        g.last_message_id = Some((b.id.clone(), me.clone()));
        let fresh = w.devices.get_mut(&phone).is_some_and(|d| d.sent.insert(b.id.clone()));
        if fresh {
            record(&mut w, &phone, &jid, "message", &b.id);
            w.push(&phone, &jid, Change::Message { id: b.id.clone(), from: me, text: b.text.clone() });
        }
    }
    state.linked_bell.notify_waiters();
    Json(serde_json::json!({"id": b.id})).into_response()
}

async fn revoke(AxState(state): AxState<Shared>, Path((phone, jid)): Path<(String, String)>, Json(b): Json<RevokeBody>) -> Response {
    let mut w = state.linked.lock().expect("linked lock");
    let g = match admit_on(&mut w, &phone, &jid) {
        Ok(g) => g,
        Err(r) => return r,
    };
    let own = b.sender.pn.as_deref() == Some(phone.as_str());
    if !own {
        if let Err(r) = require_admin(g, &phone) {
            return r;
        }
    }
    record(&mut w, &phone, &jid, "revoke", &b.id);
    Json(serde_json::json!({"ok": true})).into_response()
}

/// Makes a group with the number as its only member and super admin, as a phone does.
async fn create_group(AxState(state): AxState<Shared>, Path(phone): Path<String>, Json(b): Json<CreateBody>) -> Response {
    let mut w = state.linked.lock().expect("linked lock");
    if let Err(r) = admit(&mut w, &phone) {
        return r;
    }
    let subject = b.subject.trim();
    if subject.is_empty() || subject.chars().count() > 128 {
        return err(StatusCode::BAD_REQUEST, "bad-request", "The subject must be 1 to 128 characters.");
    }
    let jid = w.seed_group(&phone, subject, MemberRole::SuperAdmin, &[], b.join_approval);
    let g = w.groups.get_mut(&jid).expect("just made");
    g.meta.description = b.description.filter(|d| !d.is_empty());
    let meta = shown_meta(&g.meta);
    w.push(&phone, &jid, Change::Joined { metadata: meta.clone() });
    record(&mut w, &phone, &jid, "create", subject);
    drop(w);
    state.linked_bell.notify_waiters();
    Json(meta).into_response()
}

#[derive(Deserialize)]
struct PhotoBody {
    jpeg_base64: String,
}

/// Sets the group's photo, as a phone does: group info, so admins only when the info is locked.
async fn photo(AxState(state): AxState<Shared>, Path((phone, jid)): Path<(String, String)>, Json(b): Json<PhotoBody>) -> Response {
    use base64::Engine as _;
    let Ok(jpeg) = base64::engine::general_purpose::STANDARD.decode(b.jpeg_base64.as_bytes()) else {
        return err(StatusCode::BAD_REQUEST, "bad-request", "The photo is not base64.");
    };
    if let Err(p) = switchboard_shared::groups::check_photo(&jpeg) {
        return err(StatusCode::BAD_REQUEST, "bad-request", p.message());
    }
    let mut w = state.linked.lock().expect("linked lock");
    let g = match admit_on(&mut w, &phone, &jid) {
        Ok(g) => g,
        Err(r) => return r,
    };
    if g.meta.locked {
        if let Err(r) = require_admin(g, &phone) {
            return r;
        }
    }
    record(&mut w, &phone, &jid, "photo", &jpeg.len().to_string());
    Json(serde_json::json!({"ok": true})).into_response()
}

/// The number leaves the group: its session no longer sees it (the others stay in it).
async fn leave(AxState(state): AxState<Shared>, Path((phone, jid)): Path<(String, String)>) -> Response {
    let mut w = state.linked.lock().expect("linked lock");
    if let Err(r) = admit(&mut w, &phone) {
        return r;
    }
    if let Err(r) = group_of(&mut w, &phone, &jid) {
        return r;
    }
    w.groups.remove(&jid);
    w.push(&phone, &jid, Change::Left);
    record(&mut w, &phone, &jid, "leave", &phone);
    drop(w);
    state.linked_bell.notify_waiters();
    Json(serde_json::json!({"ok": true})).into_response()
}

#[derive(Deserialize)]
struct StateBody {
    state: String,
    #[serde(default)]
    reason: Option<String>,
}

async fn control_state(AxState(state): AxState<Shared>, Path(phone): Path<String>, Json(b): Json<StateBody>) -> Response {
    if !["online", "offline", "logged_out", "banned"].contains(&b.state.as_str()) {
        return err(StatusCode::BAD_REQUEST, "bad-request", "state must be online, offline, logged_out or banned.");
    }
    state.linked.lock().expect("linked lock").set_state(&phone, &b.state, b.reason);
    state.linked_bell.notify_waiters();
    Json(serde_json::json!({"ok": true})).into_response()
}

/// The phone scans the QR code (or types the pair code): the session comes online.
async fn control_scan(AxState(state): AxState<Shared>, Path(phone): Path<String>) -> Response {
    {
        let mut w = state.linked.lock().expect("linked lock");
        match w.devices.get(&phone) {
            Some(d) if d.state == "pairing" => w.set_state(&phone, "online", None),
            _ => return err(StatusCode::CONFLICT, "bad-request", "The device is not waiting to be paired."),
        }
    }
    state.linked_bell.notify_waiters();
    Json(serde_json::json!({"ok": true})).into_response()
}

#[derive(Deserialize)]
struct PrivacyBody {
    pn: String,
}

async fn control_privacy(AxState(state): AxState<Shared>, Json(b): Json<PrivacyBody>) -> Response {
    state.linked.lock().expect("linked lock").block_adds(&b.pn);
    Json(serde_json::json!({"ok": true})).into_response()
}

#[derive(Deserialize)]
struct JoinBody {
    pn: String,
    #[serde(default)]
    name: String,
}

async fn control_join(AxState(state): AxState<Shared>, Path(jid): Path<String>, Json(b): Json<JoinBody>) -> Response {
    let result = state.linked.lock().expect("linked lock").ask_to_join(&jid, &b.pn, &b.name);
    state.linked_bell.notify_waiters();
    match result {
        Ok(()) => Json(serde_json::json!({"ok": true})).into_response(),
        Err(e) => err(StatusCode::CONFLICT, "bad-request", &e),
    }
}

async fn control_lid(AxState(state): AxState<Shared>, Path(jid): Path<String>) -> Response {
    let result = state.linked.lock().expect("linked lock").migrate_to_lid(&jid);
    state.linked_bell.notify_waiters();
    match result {
        Ok(()) => Json(serde_json::json!({"ok": true})).into_response(),
        Err(e) => err(StatusCode::NOT_FOUND, "item-not-found", &e),
    }
}

#[derive(Deserialize)]
struct GroupMessageBody {
    pn: String,
    #[serde(default)]
    name: String,
    text: String,
}

/// A member writes in a group (its last activity moves).
async fn control_message(AxState(state): AxState<Shared>, Path(jid): Path<String>, Json(b): Json<GroupMessageBody>) -> Response {
    {
        let mut w = state.linked.lock().expect("linked lock");
        w.next_id += 1;
        let id = format!("SIMMSG{:010}", w.next_id);
        let Some(g) = w.groups.get(&jid) else { return err(StatusCode::NOT_FOUND, "item-not-found", "No such group.") };
        let phone = g.phone.clone();
        let from = shown(
            &g.meta,
            &Participant { pn: Some(b.pn.clone()), lid: Some(lid_of(&b.pn)), name: Some(b.name.clone()), role: MemberRole::Member },
        );
        w.push(&phone, &jid, Change::Message { id, from, text: b.text });
    }
    state.linked_bell.notify_waiters();
    Json(serde_json::json!({"ok": true})).into_response()
}

async fn control_applied(AxState(state): AxState<Shared>) -> Json<Vec<Applied>> {
    Json(state.linked.lock().expect("linked lock").applied())
}

#[derive(Deserialize)]
struct LinkedFaults {
    #[serde(default)]
    ignore_changes: bool,
    #[serde(default)]
    ops_per_minute: Option<u32>,
}

async fn control_faults(AxState(state): AxState<Shared>, Json(b): Json<LinkedFaults>) -> Response {
    let mut w = state.linked.lock().expect("linked lock");
    w.ignore_changes = b.ignore_changes;
    if let Some(n) = b.ops_per_minute {
        w.ops_per_minute = n;
    }
    Json(serde_json::json!({"ok": true})).into_response()
}
