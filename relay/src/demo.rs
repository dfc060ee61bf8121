//! `switchboard demo`: the relay with the sandbox beside it, three business numbers, an admin,
//! a few thousand contacts and simulated customers writing in.

use std::time::Duration;
use switchboard_shared::access::Scope;

use rand::distributions::Alphanumeric;
use rand::Rng;
use switchboard_sandbox::{Sandbox, SandboxConfig, SandboxNumber};

use crate::access::auth;
use crate::clock::now_ms;
use crate::numbers::{self, NewNumber};
use crate::{Config, Relay};

/// The demo admin's email.
pub const ADMIN_EMAIL: &str = "admin@example.com";

/// How lively the simulated customers are.
#[derive(Debug, Clone)]
pub struct DemoOptions {
    /// Customers write in on their own this often.
    pub chatter_every: Option<Duration>,
    /// Customers answer a reply after this long.
    pub answer_after: Option<Duration>,
    /// Contacts to create.
    pub contacts: usize,
    /// Auto-reply rules on (welcome, opening hours, away): the demo's believable day. Tests
    /// that count messages turn them off.
    pub auto_replies: bool,
    /// Most updates per webhook POST from the sandbox: Meta's full 1,000, or 1 for its worst
    /// case (then POSTed eight at a time, as Meta does, in no guaranteed order).
    pub updates_per_webhook: usize,
}

impl Default for DemoOptions {
    fn default() -> Self {
        DemoOptions {
            chatter_every: Some(Duration::from_secs(7)),
            answer_after: Some(Duration::from_secs(5)),
            contacts: 3_000,
            auto_replies: true,
            updates_per_webhook: switchboard_shared::limits::MAX_UPDATES_PER_WEBHOOK,
        }
    }
}

/// A running demo.
pub struct Demo {
    pub relay: Relay,
    pub sandbox: Sandbox,
    pub admin_password: String,
}

/// The demo's three business numbers.
pub fn demo_numbers() -> Vec<SandboxNumber> {
    vec![
        SandboxNumber::new("110000000000001", "210000000000001", "+852 5550 0101", "Harbour Bakery 海港餅店 (Central)"),
        SandboxNumber::new("110000000000002", "210000000000001", "+852 5550 0102", "Harbour Bakery 海港餅店 (Mong Kok)"),
        SandboxNumber {
            throughput_per_sec: 1_000,
            messaging_limit: "TIER_100K".into(),
            ..SandboxNumber::new("110000000000003", "210000000000002", "+886 955 500 103", "Harbour Online 網店")
        },
    ]
}

/// Starts the sandbox and the relay and fills them with demo data.
pub async fn start(mut config: Config, options: DemoOptions, admin_password: Option<String>) -> anyhow::Result<Demo> {
    let sandbox_config = SandboxConfig {
        numbers: demo_numbers(),
        chatter_every: options.chatter_every,
        answer_after: options.answer_after,
        updates_per_webhook: options.updates_per_webhook,
        webhook_senders: if options.updates_per_webhook < 10 { 8 } else { 1 },
        ..SandboxConfig::default()
    };
    let token = sandbox_config.access_token.clone();
    let secret = sandbox_config.app_secret.clone();
    if config.secret_key.is_none() {
        // The demo keeps its own key beside its database.
        std::fs::create_dir_all(&config.data_dir)?;
        config.secret_key = Some(crate::secrets::SecretKey::load_or_create(&config.data_dir.join("secret.key"))?);
    }
    let sandbox = Sandbox::spawn(sandbox_config.clone()).await?;
    config.graph_base_url = sandbox.url.clone();
    // Group control on simulated linked devices, beside the Cloud API groups.
    config.linked_devices = crate::groups::linked::Backend::Sim(sandbox.url.clone());
    let relay = Relay::start(config).await?;
    for n in &sandbox_config.numbers {
        numbers::upsert(
            &relay.state,
            &NewNumber {
                id: n.id.clone(),
                waba_id: n.waba_id.clone(),
                access_token: token.clone(),
                app_secret: secret.clone(),
                verify_token: "switchboard-demo".into(),
                time_zone: Some("Asia/Taipei".into()),
            },
        )
        .await?;
    }
    sandbox.set_webhook_url(format!("{}/webhooks/whatsapp", relay.url()));
    let admin_password = admin_password.unwrap_or_else(|| rand::thread_rng().sample_iter(&Alphanumeric).take(16).map(char::from).collect());
    auth::upsert_user(&relay.state, ADMIN_EMAIL, "Admin", &admin_password, "Administrator", &Scope::All).await?;
    // Two colleagues with narrower rights, so roles and scopes can be tried at once (same password).
    let first_number: Scope = Scope::Numbers(sandbox_config.numbers.iter().take(1).map(|n| n.id.clone()).collect());
    auth::upsert_user(&relay.state, "supervisor@example.com", "陳主管 Supervisor", &admin_password, "Supervisor", &Scope::All).await?;
    auth::upsert_user(&relay.state, "agent@example.com", "李客服 Agent", &admin_password, "Agent", &first_number).await?;
    seed_contacts(&relay, options.contacts).await?;
    seed_groups(&relay, &sandbox).await?;
    seed_support_day(&relay, options.auto_replies).await?;
    // A few customers have already written, so the inbox is not empty on first look.
    if options.chatter_every.is_some() {
        for c in sandbox.customers().iter().step_by(5) {
            sandbox.customer_writes(&c.phone_number_id, &c.wa_id, &c.name, "你好！請問今天營業到幾點？");
        }
        // And one sent a photo of their parcel, a voice note and where they are.
        if let Some(c) = sandbox.customers().get(1) {
            for sample in [switchboard_sandbox::Sample::Photo, switchboard_sandbox::Sample::Voice, switchboard_sandbox::Sample::Location] {
                sandbox.customer_sends(&c.phone_number_id, &c.wa_id, &c.name, sample);
            }
        }
    }
    Ok(Demo { relay, sandbox, admin_password })
}

/// The support day: every number open Monday to Saturday 09:00–18:00 (Taipei), handing new
/// conversations to the agent with the fewest; the agent is #103; a small canned-reply library
/// (`/hours`, `/price`, `/thanks`, `/order`); and, if asked, the auto-reply rules a
/// shop would start with.
pub async fn seed_support_day(relay: &Relay, auto_replies: bool) -> anyhow::Result<()> {
    use switchboard_shared::support::{AssignmentMode, AutoAnswer, AutoRuleSpec, BusinessHours, CannedReplySpec, SupportSettings, Trigger};
    let mut hours = BusinessHours::weekdays("09:00", "18:00");
    hours.week[5] = hours.week[0].clone();
    let settings = SupportSettings { hours: Some(hours), assignment: AssignmentMode::LeastOpen };
    let mut tx = relay.state.db.pool.begin().await?;
    for n in demo_numbers() {
        crate::numbers::set_support(&mut tx, &n.id, &settings).await?;
    }
    crate::access::set_duty(&mut tx, "agent@example.com", Some("103"), Some(30)).await?;
    crate::access::set_duty(&mut tx, "supervisor@example.com", Some("101"), None).await?;
    let canned = |shortcut: &str, text: &str| CannedReplySpec { shortcut: shortcut.into(), text: text.into(), number_ids: vec![] };
    let library = [
        canned("hours", "{contact.name}你好！我們星期一至六 09:00–18:00 營業，星期日及公眾假期休息。"),
        canned(
            "price",
            "你好 {contact.name}，價目表在這裏：https://example.com/harbour-bakery/prices 。有問題隨時問我（客服 #{agent.code}）。",
        ),
        canned("thanks", "多謝你的耐心等候！如果還有其他問題，歡迎隨時再留言。"),
        canned("order", "請給我們你的訂單編號（例如 HB-12345），我們會立即為你查詢。"),
    ];
    crate::canned::seed(&mut tx, &library, relay.state.clock.now_ms()).await?;
    if auto_replies {
        let text = |t: &str| AutoAnswer::Text { text: t.to_owned() };
        let rules = [
            ("歡迎 Welcome", Trigger::Welcome, text("{contact.name}，歡迎光臨 Harbour Bakery！我們會盡快回覆你。"), 24 * 60),
            (
                "營業時間 Hours",
                Trigger::Keyword { words: vec!["營業時間".into(), "幾點".into(), "hours".into(), "open".into()] },
                text("我們星期一至六 09:00–18:00 營業，星期日休息。"),
                60,
            ),
            ("休息中 Away", Trigger::Away, text("已收到你的訊息！客服 {agent} 會在{opens_at}回覆你。"), 12 * 60),
        ];
        for (name, trigger, answer, period_minutes) in rules {
            let spec = AutoRuleSpec {
                name: name.into(),
                trigger,
                answer,
                number_ids: vec![],
                period_minutes,
                enabled: true,
                lang: "zh-Hant".into(),
            };
            crate::automation::add_rule(&mut tx, &spec, relay.state.clock.now_ms()).await?;
        }
    }
    tx.commit().await?;
    Ok(())
}

/// The demo's linked devices: the Central shop's own number (which also has the Cloud API),
/// and a community number that has only its phone.
pub const DEMO_LINKED: [(&str, &str); 2] = [("85255500101", "Harbour Bakery (Central)"), ("85255500188", "Harbour Bakery community 社群")];

/// Groups on both kinds of numbers: linked groups of every size and setting (join requests
/// waiting, admins-only, one we are not admin of, one moved to LID addressing), and small Cloud
/// API groups with a request waiting.
pub async fn seed_groups(relay: &Relay, sandbox: &Sandbox) -> anyhow::Result<()> {
    use switchboard_shared::groups::{MemberRole, ProviderKind};
    let person = |i: usize| {
        let name = format!("{} {}", SURNAMES[i % SURNAMES.len()], GIVEN[(i / SURNAMES.len()) % GIVEN.len()]);
        (format!("8526{:07}", 2_000_000 + i), name, if i.is_multiple_of(23) { MemberRole::Admin } else { MemberRole::Member })
    };
    let linked_groups: [(&str, usize, bool, bool, MemberRole); 8] = [
        ("3B 家長群 Parents", 180, true, false, MemberRole::SuperAdmin),
        ("考試週通知 Exam week", 35, false, true, MemberRole::Admin),
        ("烘焙班 Baking class", 24, true, false, MemberRole::Admin),
        ("貴賓會員 VIP members", 60, false, false, MemberRole::Admin),
        ("Central regulars 中環熟客", 90, false, false, MemberRole::Admin),
        ("Neighbourhood swap 街坊交換", 40, false, false, MemberRole::Member),
        ("Wholesale orders 批發訂單", 12, true, false, MemberRole::Admin),
        ("Volunteers 義工", 18, false, false, MemberRole::Admin),
    ];
    let mut jids = Vec::new();
    for (i, (subject, size, approval, announce, role)) in linked_groups.iter().enumerate() {
        let phone = DEMO_LINKED[i % 2].0;
        let members: Vec<_> = (0..*size).map(|k| person(i * 200 + k)).collect();
        let jid = sandbox.seed_linked_group(phone, subject, *role, &members, *approval);
        if *announce {
            sandbox.set_linked_announce(&jid, true);
        }
        jids.push((jid, *approval));
    }
    for (phone, label) in DEMO_LINKED {
        // The Central shop's phone is also its Cloud API number: the device joins that number.
        let id = crate::groups::linked::number_for_phone(&relay.state, phone).await?;
        crate::groups::linked::pair(&relay.state, &id, phone, label, false).await?;
    }
    // Parents ask to join the groups that need approval.
    for (jid, approval) in &jids {
        if *approval {
            for k in 0..3 {
                let (pn, name, _) = person(5_000 + k + jid.len() * 3);
                let _ = sandbox.linked_ask_to_join(jid, &pn, &name);
            }
        }
    }
    // Small Cloud API groups (8 members at most) on the other two shops.
    for (n, subject) in [("110000000000002", "Mong Kok pickup 旺角取貨"), ("110000000000003", "Online orders help 網店客服")] {
        let members: Vec<String> = (0..5).map(|k| person(7_000 + k + n.len()).0).collect();
        let id = sandbox.seed_cloud_group(n, subject, &members, true);
        crate::groups::sync_number(&relay.state, n, ProviderKind::Cloud).await?;
        let _ = sandbox.cloud_tap_link(&id, &person(7_100 + n.len()).0);
    }
    Ok(())
}

const SURNAMES: &[&str] = &["陳", "林", "黃", "張", "李", "王", "吳", "劉", "蔡", "楊", "Chan", "Wong", "Lee", "Cheung", "Ho"];
const GIVEN: &[&str] = &["美玲", "志明", "家豪", "雅婷", "小華", "Ka Yan", "Siu Ming", "Wing Sze", "Tai Man", "Mei Ling"];

const DISTRICTS: &[&str] = &["Central 中環", "Mong Kok 旺角", "Sha Tin 沙田", "Tsuen Wan 荃灣", "Taipei 台北"];
const FAVOURITES: &[&str] = &["菠蘿包 pineapple bun", "蛋撻 egg tart", "雞尾包 cocktail bun", "老婆餅 wife cake"];

/// Contacts with tags, typed attributes, consent and the branch they talk to, so segments and
/// broadcasts have something to work on.
pub async fn seed_contacts(relay: &Relay, count: usize) -> anyhow::Result<()> {
    let now = now_ms();
    let day = 86_400_000_i64;
    let numbers: Vec<String> = demo_numbers().into_iter().map(|n| n.id).collect();
    let mut tx = relay.state.db.pool.begin().await?;
    for i in 0..count {
        let name = format!("{} {}", SURNAMES[i % SURNAMES.len()], GIVEN[(i / SURNAMES.len()) % GIVEN.len()]);
        let mut tags = vec![["regular", "vip", "new", "regular", "gold"][i % 5]];
        if i % 7 == 0 {
            tags.push("wholesale");
        }
        let attributes = serde_json::json!({
            "district": {"type": "text", "value": DISTRICTS[i % DISTRICTS.len()]},
            "favourite": {"type": "text", "value": FAVOURITES[i % FAVOURITES.len()]},
            "spend": {"type": "number", "value": ((i * 137) % 3000) as f64},
            "last_purchase": {"type": "date", "value": (now / day - (i as i64 * 13) % 120) * day},
            "member": {"type": "bool", "value": i % 3 != 0},
        });
        let contact = crate::contacts::NewContact {
            wa_id: &format!("8526{:07}", 1_000_000 + i),
            name: &name,
            tags: &tags.join(","),
            attributes: &attributes.to_string(),
            opted_in: i % 5 != 4,
            numbers: &numbers[i % numbers.len()],
            last_inbound_at: (i % 4 == 0).then(|| now - (i as i64 % 60) * day),
        };
        crate::contacts::add_contact(&mut tx, &contact, now).await?;
    }
    tx.commit().await?;
    Ok(())
}
