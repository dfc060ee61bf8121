//! A local stand-in for Meta's Cloud API, built from `reference/cloud-api.md`.
//!
//! It serves the Graph API subset Switchboard uses, checks the bearer token, enforces each
//! number's throughput and the pair rate with Meta's error codes, moves every accepted send
//! through sent → delivered → read with configurable delays, sends signed webhooks (several
//! updates per POST when they pile up, retried with backoff until answered 200), simulates
//! customers who write in and answer, and keeps a ledger of every accepted send.

mod cloud_groups;
mod customers;
mod graph;
mod linked;
pub mod media;
mod webhooks;

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use switchboard_shared::limits;
use tokio::sync::Notify;

pub use cloud_groups::bsuid_of;
pub use customers::{Customer, Sample};
pub use linked::{lid_of, Applied, LinkedSeed};

/// A business number the sandbox pretends to host.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SandboxNumber {
    pub id: String,
    pub waba_id: String,
    pub display_phone_number: String,
    pub verified_name: String,
    pub quality_rating: String,
    pub messaging_limit: String,
    /// Messages per second before `130429`.
    pub throughput_per_sec: u32,
    /// The secret of the Meta app this number belongs to, when it is not the sandbox's own:
    /// its webhooks are signed with it and sent in POSTs of their own, as Meta does per app.
    #[serde(default)]
    pub app_secret: Option<String>,
}

impl SandboxNumber {
    /// A number with typical values: GREEN quality, the 2,000-customer messaging tier, 80 mps.
    pub fn new(id: &str, waba_id: &str, display: &str, name: &str) -> Self {
        SandboxNumber {
            id: id.into(),
            waba_id: waba_id.into(),
            display_phone_number: display.into(),
            verified_name: name.into(),
            quality_rating: "GREEN".into(),
            messaging_limit: "TIER_2K".into(),
            throughput_per_sec: limits::DEFAULT_THROUGHPUT_PER_SEC,
            app_secret: None,
        }
    }
}

/// A status update that left the sandbox: which status, for which send, and when its POST began.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusDeparture {
    pub status: &'static str,
    pub callback_data: Option<String>,
    pub at_ms: i64,
}

/// Everything that shapes the sandbox's behaviour.
#[derive(Debug, Clone)]
pub struct SandboxConfig {
    pub access_token: String,
    pub app_secret: String,
    /// Where webhooks go; can also be set later with [`Sandbox::set_webhook_url`].
    pub webhook_url: Option<String>,
    pub numbers: Vec<SandboxNumber>,
    /// Delays after acceptance before each status webhook.
    pub sent_after: Duration,
    pub delivered_after: Duration,
    pub read_after: Duration,
    /// Recipients whose number ends with this never receive anything: a `failed` status with
    /// `131026` follows the acceptance.
    pub undeliverable_suffix: Option<String>,
    /// How long the deliverer waits for more updates before POSTing a batch.
    pub webhook_batch_window: Duration,
    /// Most updates one webhook POST carries: Meta's full 1,000 by default, 1 for Meta's worst
    /// case ("batching cannot be guaranteed"). Clamped to 1..=1,000.
    pub updates_per_webhook: usize,
    /// Webhook POSTs in flight at once (at least 1). With one, updates arrive in the order they
    /// happened; with more, as from Meta, a later update can arrive before an earlier one.
    pub webhook_senders: usize,
    /// Keep when each status update left (for the benchmark's lag figures); off by default, as
    /// the list grows with every status.
    pub keep_status_departures: bool,
    /// Simulated customers writing in on their own; `None` for tests that drive them.
    pub chatter_every: Option<Duration>,
    /// Simulated customers answer a text they receive after this long; `None` to stay quiet.
    pub answer_after: Option<Duration>,
    /// Enforce the 24-hour customer service window (`131047`).
    pub enforce_service_window: bool,
    /// Numbers with a simulated linked device (`sim-linked`).
    pub linked: Vec<LinkedSeed>,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        SandboxConfig {
            access_token: "sandbox-token".into(),
            app_secret: "sandbox-app-secret".into(),
            webhook_url: None,
            numbers: vec![SandboxNumber::new("100000000000001", "200000000000001", "+1 555-0100", "Sandbox Shop")],
            sent_after: Duration::from_millis(100),
            delivered_after: Duration::from_millis(300),
            read_after: Duration::from_millis(800),
            undeliverable_suffix: Some("0000".into()),
            webhook_batch_window: Duration::from_millis(5),
            updates_per_webhook: limits::MAX_UPDATES_PER_WEBHOOK,
            webhook_senders: 1,
            keep_status_departures: false,
            chatter_every: None,
            answer_after: None,
            enforce_service_window: true,
            linked: Vec::new(),
        }
    }
}

/// Faults on demand, for tests and benchmarks; counted over sends (`POST …/messages` with a
/// message, not mark-as-read), starting at 1.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Faults {
    /// Every nth send answers 500 with Meta's `131000` (nothing is sent).
    #[serde(default)]
    pub server_error_every: Option<u64>,
    /// Every nth send is sent, but its answer is lost (the body is cut off): the sender cannot
    /// know, and must reconcile from the status webhooks.
    #[serde(default)]
    pub lost_answer_every: Option<u64>,
    /// Every nth send is sent, but its answer comes only after `slow_answer_ms`: a sender
    /// that gives up first has timed out on a message that went out.
    #[serde(default)]
    pub slow_answer_every: Option<u64>,
    #[serde(default)]
    pub slow_answer_ms: u64,
    /// Until this time (UTC ms) every send is refused with `130429`.
    #[serde(default)]
    pub throughput_storm_until: Option<i64>,
    /// Recipients (digits) refused at once with `131026`.
    #[serde(default)]
    pub undeliverable: Vec<String>,
    /// Every Cloud group change is refused with `131208` (the groups rate limit).
    #[serde(default)]
    pub group_rate_limited: bool,
    /// Cloud group changes are answered as done but never applied, and no webhook follows.
    #[serde(default)]
    pub group_ignore_changes: bool,
}

/// One accepted send, as the sandbox saw it. Tests read the ledger to prove what was sent.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct LedgerEntry {
    pub seq: u64,
    pub phone_number_id: String,
    pub to: String,
    pub wamid: String,
    pub kind: String,
    pub summary: String,
    pub biz_opaque_callback_data: Option<String>,
    pub at_ms: i64,
    /// A file sent by its uploaded id.
    #[serde(default)]
    pub media_id: Option<String>,
}

/// Unique recipients in a moving 24 hours, oldest first, so expiring is amortised O(1) per send.
#[derive(Default)]
pub(crate) struct TierWindow {
    order: std::collections::VecDeque<(i64, String)>,
    members: HashMap<String, i64>,
}

impl TierWindow {
    /// Counts `to` at `now` unless that would take the window past `limit`; says whether it did.
    pub fn admit(&mut self, to: &str, now: i64, limit: u64) -> bool {
        while let Some((at, who)) = self.order.front() {
            if now - *at < limits::CUSTOMER_SERVICE_WINDOW_MS {
                break;
            }
            if self.members.get(who) == Some(at) {
                self.members.remove(who);
            }
            self.order.pop_front();
        }
        if !self.members.contains_key(to) && self.members.len() as u64 >= limit {
            return false;
        }
        self.members.insert(to.to_owned(), now);
        self.order.push_back((now, to.to_owned()));
        true
    }
}

type Limiter = governor::DefaultDirectRateLimiter;
type KeyedLimiter = governor::DefaultKeyedRateLimiter<(String, String)>;

pub(crate) struct State {
    pub config: SandboxConfig,
    pub webhook_url: Mutex<Option<String>>,
    pub numbers: HashMap<String, SandboxNumber>,
    pub throughput: HashMap<String, Limiter>,
    pub pair_rate: KeyedLimiter,
    pub ledger: Mutex<Vec<LedgerEntry>>,
    pub next_id: AtomicU64,
    /// Pending webhook updates, in order, and a bell to ring when one is added.
    pub outgoing: Mutex<VecDeque<webhooks::Update>>,
    pub outgoing_bell: Notify,
    pub delivered_webhooks: AtomicU64,
    /// When each status update was POSTed (for a POST answered 200), if the config keeps them.
    pub status_departures: Mutex<Vec<StatusDeparture>>,
    /// (phone-number id, customer) → when the customer last wrote, UTC ms.
    pub last_inbound: Mutex<HashMap<(String, String), i64>>,
    pub customers: Vec<Customer>,
    /// Counts of refusals by Meta error code, for tests and benchmarks.
    pub refusals: Mutex<HashMap<i64, u64>>,
    pub faults: Mutex<Faults>,
    /// Sends seen (for the every-nth faults).
    pub sends_seen: AtomicU64,
    /// The portfolio's moving 24-hour window of business-initiated recipients.
    pub tier_window: Mutex<TierWindow>,
    /// Quality ratings Meta has changed since start (phone-number id → GREEN | YELLOW | RED).
    pub quality: Mutex<HashMap<String, String>>,
    /// Cloud API groups.
    pub cloud_groups: Mutex<cloud_groups::Groups>,
    /// The simulated linked devices and their groups, and a bell rung when they change.
    pub linked: Mutex<linked::World>,
    pub linked_bell: Notify,
    /// Uploaded files and customers' files, by media id.
    pub media: Mutex<media::Library>,
}

impl State {
    pub fn next_wamid(&self) -> String {
        let n = self.next_id.fetch_add(1, Ordering::Relaxed);
        format!("wamid.SBX{n:016X}")
    }

    pub fn count_refusal(&self, code: i64) {
        *self.refusals.lock().expect("refusals lock").entry(code).or_default() += 1;
    }
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

/// A running sandbox.
#[derive(Clone)]
pub struct Sandbox {
    /// Base URL, e.g. `http://127.0.0.1:41234`; the Graph API lives under `/{version}/`.
    pub url: String,
    state: Arc<State>,
}

impl Sandbox {
    /// Binds `127.0.0.1:0` and starts serving, delivering webhooks and simulating customers.
    pub async fn spawn(config: SandboxConfig) -> anyhow::Result<Sandbox> {
        Self::spawn_on("127.0.0.1:0".parse()?, config).await
    }

    pub async fn spawn_on(addr: SocketAddr, config: SandboxConfig) -> anyhow::Result<Sandbox> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let url = format!("http://{}", listener.local_addr()?);
        let state = Arc::new(State::new(config));
        let router = graph::router(state.clone()).merge(linked::router(state.clone()));
        tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, router).await {
                tracing::error!("sandbox server stopped: {e}");
            }
        });
        for _ in 0..state.config.webhook_senders.max(1) {
            tokio::spawn(webhooks::deliver(state.clone()));
        }
        if let Some(every) = state.config.chatter_every {
            tokio::spawn(customers::chatter(state.clone(), every));
        }
        Ok(Sandbox { url, state })
    }

    pub fn set_webhook_url(&self, url: impl Into<String>) {
        *self.state.webhook_url.lock().expect("webhook url lock") = Some(url.into());
    }

    /// Every accepted send so far, in order.
    pub fn ledger(&self) -> Vec<LedgerEntry> {
        self.state.ledger.lock().expect("ledger lock").clone()
    }

    /// How many sends the ledger holds (cheap enough to poll while thousands go out a second).
    pub fn ledger_len(&self) -> usize {
        self.state.ledger.lock().expect("ledger lock").len()
    }

    /// How many webhook POSTs were answered 200.
    pub fn delivered_webhooks(&self) -> u64 {
        self.state.delivered_webhooks.load(Ordering::Relaxed)
    }

    /// When each status update left in a POST the relay accepted, in the order they were
    /// accepted (empty unless `keep_status_departures`).
    pub fn status_departures(&self) -> Vec<StatusDeparture> {
        self.state.status_departures.lock().expect("departures lock").clone()
    }

    /// Updates waiting to be POSTed.
    pub fn webhooks_waiting(&self) -> usize {
        self.state.outgoing.lock().expect("outgoing lock").len()
    }

    /// Refusals so far by Meta error code (130429, 131056, …).
    pub fn refusals(&self) -> HashMap<i64, u64> {
        self.state.refusals.lock().expect("refusals lock").clone()
    }

    /// Turns faults on (or off, with `Faults::default()`).
    pub fn set_faults(&self, faults: Faults) {
        *self.state.faults.lock().expect("faults lock") = faults;
    }

    /// The simulated customers (name, number, language).
    pub fn customers(&self) -> &[Customer] {
        &self.state.customers
    }

    /// A customer writes a text to a business number; returns the inbound wamid.
    pub fn customer_writes(&self, phone_number_id: &str, from: &str, name: &str, text: &str) -> String {
        customers::write_in(&self.state, phone_number_id, from, name, text)
    }

    /// A customer sends a file (image, video, audio, document or sticker) with this type and
    /// contents; returns the inbound wamid.
    #[allow(clippy::too_many_arguments)]
    pub fn customer_sends_file(
        &self,
        phone_number_id: &str,
        from: &str,
        name: &str,
        kind: &str,
        mime_type: &str,
        bytes: &[u8],
        filename: Option<&str>,
        caption: Option<&str>,
    ) -> String {
        let file = customers::File { kind, mime_type, bytes, filename, caption, voice: false };
        customers::send_file(&self.state, phone_number_id, from, name, file)
    }

    /// A customer sends one of the sandbox's samples (a photo of a parcel, a voice note, a
    /// document, a location); returns the inbound wamid.
    pub fn customer_sends(&self, phone_number_id: &str, from: &str, name: &str, sample: customers::Sample) -> String {
        customers::send_sample(&self.state, phone_number_id, from, name, sample, None)
    }

    /// The next `n` downloads of customers' files fail with a 500 (then work again).
    pub fn fail_downloads(&self, n: u32) {
        self.state.media.lock().expect("media lock").failing_downloads = n;
    }

    /// A file uploaded to (or sent by a customer through) the sandbox, by media id.
    pub fn media(&self, id: &str) -> Option<media::StoredMedia> {
        self.state.media.lock().expect("media lock").files.get(id).cloned()
    }

    /// Meta rates a number's quality anew (GREEN, YELLOW or RED): the number's `quality_rating`
    /// says so from now on, and a `phone_number_quality_update` webhook reports it (`FLAGGED`
    /// when it falls to RED, `UNFLAGGED` when it recovers).
    pub fn set_quality(&self, phone_number_id: &str, rating: &str) {
        let Some(number) = self.state.numbers.get(phone_number_id) else { return };
        let before = self.state.quality.lock().expect("quality lock").insert(phone_number_id.to_owned(), rating.to_owned());
        let before = before.unwrap_or_else(|| number.quality_rating.clone());
        let event = match (before.as_str(), rating) {
            (b, "RED") if b != "RED" => "FLAGGED",
            ("RED", r) if r != "RED" => "UNFLAGGED",
            _ => return,
        };
        let digits: String = number.display_phone_number.chars().filter(char::is_ascii_digit).collect();
        let value = serde_json::json!({"display_phone_number": digits, "event": event, "current_limit": number.messaging_limit});
        webhooks::push(&self.state, webhooks::Update::raw(phone_number_id, "phone_number_quality_update", value));
    }

    /// A Cloud API group on a number with these members (phone digits), as if made earlier.
    pub fn seed_cloud_group(&self, phone_number_id: &str, subject: &str, members: &[String], approval_required: bool) -> String {
        self.state.cloud_groups.lock().expect("groups lock").seed(phone_number_id, subject, members, approval_required)
    }

    /// A customer taps a Cloud group's invite link (a join request when approval is required).
    pub fn cloud_tap_link(&self, group_id: &str, wa_id: &str) -> Result<(), String> {
        let mut g = self.state.cloud_groups.lock().expect("groups lock");
        let number = g.groups.get(group_id).map(|x| x.number.clone()).ok_or("no such group")?;
        let item = g.tap_link(group_id, wa_id)?;
        drop(g);
        let Some(n) = self.state.numbers.get(&number) else { return Err("no such number".into()) };
        let value = serde_json::json!({"messaging_product": "whatsapp", "metadata": webhooks::metadata(n), "groups": [item]});
        webhooks::push(&self.state, webhooks::Update::raw(&number, "group_participants_update", value));
        Ok(())
    }

    /// Cloud group members now (wa_ids).
    pub fn cloud_members(&self, group_id: &str) -> Vec<String> {
        let g = self.state.cloud_groups.lock().expect("groups lock");
        g.groups.get(group_id).map(|x| x.members.iter().map(|m| m.wa_id.clone()).collect()).unwrap_or_default()
    }

    /// Every Cloud group change applied so far.
    /// Groups a Cloud number may create before `131211` (Meta's is 10,000).
    pub fn set_cloud_create_limit(&self, limit: usize) {
        self.state.cloud_groups.lock().expect("groups lock").create_limit = limit;
    }

    /// Whether a Cloud group still exists in the sandbox (deleting it removes it).
    pub fn cloud_group_exists(&self, group_id: &str) -> bool {
        self.state.cloud_groups.lock().expect("groups lock").groups.contains_key(group_id)
    }

    pub fn cloud_applied(&self) -> Vec<Applied> {
        self.state.cloud_groups.lock().expect("groups lock").applied.clone()
    }

    /// A group seen by `phone`'s linked device; `members` are (phone, name, role).
    pub fn seed_linked_group(
        &self,
        phone: &str,
        subject: &str,
        our_role: switchboard_shared::groups::MemberRole,
        members: &[(String, String, switchboard_shared::groups::MemberRole)],
        join_approval: bool,
    ) -> String {
        let jid = self.state.linked.lock().expect("linked lock").seed_group(phone, subject, our_role, members, join_approval);
        self.state.linked_bell.notify_waiters();
        jid
    }

    /// Sets a linked group admins-only (or not), as one of its admins would on a phone.
    pub fn set_linked_announce(&self, jid: &str, on: bool) {
        self.state.linked.lock().expect("linked lock").set_announce(jid, on);
        self.state.linked_bell.notify_waiters();
    }

    /// Takes a linked device online, offline, logged out or banned.
    pub fn set_linked_state(&self, phone: &str, state: &str, reason: Option<&str>) {
        self.state.linked.lock().expect("linked lock").set_state(phone, state, reason.map(str::to_owned));
        self.state.linked_bell.notify_waiters();
    }

    /// A customer asks to join a linked group (or joins, when approval is off).
    pub fn linked_ask_to_join(&self, jid: &str, pn: &str, name: &str) -> Result<(), String> {
        let r = self.state.linked.lock().expect("linked lock").ask_to_join(jid, pn, name);
        self.state.linked_bell.notify_waiters();
        r
    }

    /// Every linked-device change applied so far.
    pub fn linked_applied(&self) -> Vec<Applied> {
        self.state.linked.lock().expect("linked lock").applied()
    }

    /// A linked group's members now.
    pub fn linked_members(&self, jid: &str) -> Vec<switchboard_shared::groups::sim::Participant> {
        self.state.linked.lock().expect("linked lock").members(jid)
    }

    /// A linked group's metadata now (as the world holds it, phones included).
    pub fn linked_metadata(&self, jid: &str) -> Option<switchboard_shared::groups::sim::Metadata> {
        self.state.linked.lock().expect("linked lock").metadata(jid)
    }

    /// The groups `phone`'s linked device sees.
    pub fn linked_groups(&self, phone: &str) -> Vec<String> {
        self.state.linked.lock().expect("linked lock").group_jids(phone)
    }

    /// Operations a linked session may make per minute before `rate-overlimit`.
    pub fn set_linked_rate(&self, ops_per_minute: u32) {
        self.state.linked.lock().expect("linked lock").ops_per_minute = ops_per_minute;
    }

    /// Linked member changes applied at once but answered only after `ms`.
    pub fn set_linked_answer_delay(&self, ms: u64) {
        self.state.linked.lock().expect("linked lock").answer_delay_ms = ms;
    }

    /// Linked changes answered as done but never applied ("200 but nothing changed").
    pub fn set_linked_ignore_changes(&self, ignore: bool) {
        self.state.linked.lock().expect("linked lock").ignore_changes = ignore;
    }

    /// Queues a raw `value` for a change on a number, as Meta would send it (tests of unusual
    /// payloads).
    pub fn push_raw_change(&self, phone_number_id: &str, field: &str, value: Value) {
        webhooks::push(&self.state, webhooks::Update::raw(phone_number_id, field, value));
    }
}

impl State {
    fn new(config: SandboxConfig) -> State {
        let numbers: HashMap<_, _> = config.numbers.iter().map(|n| (n.id.clone(), n.clone())).collect();
        let throughput = numbers
            .values()
            .map(|n| {
                let rate = std::num::NonZeroU32::new(n.throughput_per_sec.max(1)).expect("rate is at least 1");
                (n.id.clone(), governor::RateLimiter::direct(governor::Quota::per_second(rate)))
            })
            .collect();
        let pair_quota = governor::Quota::with_period(Duration::from_millis(limits::PAIR_RATE_INTERVAL_MS))
            .expect("pair interval is non-zero")
            .allow_burst(std::num::NonZeroU32::new(limits::PAIR_RATE_BURST).expect("burst is non-zero"));
        let customers = customers::roster(&config.numbers);
        State {
            webhook_url: Mutex::new(config.webhook_url.clone()),
            numbers,
            throughput,
            pair_rate: governor::RateLimiter::keyed(pair_quota),
            ledger: Mutex::new(Vec::new()),
            next_id: AtomicU64::new(1),
            outgoing: Mutex::new(VecDeque::new()),
            outgoing_bell: Notify::new(),
            delivered_webhooks: AtomicU64::new(0),
            status_departures: Mutex::new(Vec::new()),
            last_inbound: Mutex::new(HashMap::new()),
            customers,
            refusals: Mutex::new(HashMap::new()),
            faults: Mutex::new(Faults::default()),
            sends_seen: AtomicU64::new(0),
            tier_window: Mutex::new(TierWindow::default()),
            quality: Mutex::new(HashMap::new()),
            cloud_groups: Mutex::new(cloud_groups::Groups::new()),
            media: Mutex::new(media::Library::default()),
            linked: Mutex::new(linked::World::new(&config.linked)),
            linked_bell: Notify::new(),
            config,
        }
    }
}
