//! Who may do what, on which numbers: permissions as data, the built-in roles, scopes and
//! phone-number masking. The relay enforces these; the console reads the same definitions to
//! show only what is allowed.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

/// One thing a role may allow. Stored by its snake_case name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Permission {
    /// Answer customers inside the 24-hour window, and take over conversations.
    Reply,
    /// Send approved templates (also outside the window).
    SendTemplates,
    DeleteMessages,
    ExportConversations,
    Broadcast,
    /// Reports, the supervisor view and the audit log.
    ViewReports,
    ManageContacts,
    ManageGroups,
    /// Connect, disable and remove business numbers.
    ManageNumbers,
    /// Create, disable and scope agents; create and edit roles.
    ManageAgents,
    /// Without it, customers' phone numbers are masked (`852•••••001`).
    SeeFullPhoneNumbers,
}

impl Permission {
    pub const ALL: [Permission; 11] = [
        Permission::Reply,
        Permission::SendTemplates,
        Permission::DeleteMessages,
        Permission::ExportConversations,
        Permission::Broadcast,
        Permission::ViewReports,
        Permission::ManageContacts,
        Permission::ManageGroups,
        Permission::ManageNumbers,
        Permission::ManageAgents,
        Permission::SeeFullPhoneNumbers,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Permission::Reply => "reply",
            Permission::SendTemplates => "send_templates",
            Permission::DeleteMessages => "delete_messages",
            Permission::ExportConversations => "export_conversations",
            Permission::Broadcast => "broadcast",
            Permission::ViewReports => "view_reports",
            Permission::ManageContacts => "manage_contacts",
            Permission::ManageGroups => "manage_groups",
            Permission::ManageNumbers => "manage_numbers",
            Permission::ManageAgents => "manage_agents",
            Permission::SeeFullPhoneNumbers => "see_full_phone_numbers",
        }
    }

    pub fn parse(s: &str) -> Option<Permission> {
        Permission::ALL.into_iter().find(|p| p.as_str() == s)
    }
}

/// The roles every installation has. Their permissions are fixed; custom roles are made in the
/// console.
pub const BUILTIN_ROLES: [&str; 4] = ["Administrator", "Supervisor", "Agent", "Analyst"];

/// The permissions of a built-in role (by name, any case), or `None` for any other name.
pub fn builtin_permissions(role: &str) -> Option<BTreeSet<Permission>> {
    use Permission::*;
    let list: &[Permission] = match role.to_ascii_lowercase().as_str() {
        "administrator" => &Permission::ALL,
        "supervisor" => &[
            Reply,
            SendTemplates,
            DeleteMessages,
            ExportConversations,
            Broadcast,
            ViewReports,
            ManageContacts,
            ManageGroups,
            SeeFullPhoneNumbers,
        ],
        "agent" => &[Reply, SendTemplates],
        "analyst" => &[ViewReports, ExportConversations],
        _ => return None,
    };
    Some(list.iter().copied().collect())
}

/// Whether a string is a Meta id (phone-number id, WABA id): 1 to 32 ASCII digits. Ids that
/// pass are safe to inline in SQL.
pub fn is_meta_id(s: &str) -> bool {
    !s.is_empty() && s.len() <= 32 && s.bytes().all(|b| b.is_ascii_digit())
}

/// Which business numbers a user works on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "kind", content = "numbers", rename_all = "snake_case", try_from = "ScopeFields")]
pub enum Scope {
    All,
    /// Only these phone-number ids.
    Numbers(BTreeSet<String>),
}

/// A scope as it is read: one flat object (read as an adjacently tagged enum, it would be
/// buffered into serde's generic tree first, which costs the console's first download code).
#[derive(Deserialize)]
struct ScopeFields {
    kind: String,
    numbers: Option<BTreeSet<String>>,
}

impl TryFrom<ScopeFields> for Scope {
    type Error = String;

    fn try_from(f: ScopeFields) -> Result<Scope, String> {
        match (f.kind.as_str(), f.numbers) {
            ("all", _) => Ok(Scope::All),
            ("numbers", Some(ids)) => Ok(Scope::Numbers(ids)),
            ("numbers", None) => Err("missing field `numbers`".to_owned()),
            (other, _) => Err(format!("unknown scope kind `{other}`, expected `all` or `numbers`")),
        }
    }
}

impl Scope {
    pub fn covers(&self, number_id: &str) -> bool {
        match self {
            Scope::All => true,
            Scope::Numbers(ids) => ids.contains(number_id),
        }
    }

    /// Parses the command line's `--numbers`: `all`, or ids separated by commas.
    pub fn parse_list(s: &str) -> Result<Scope, String> {
        let s = s.trim();
        if s.eq_ignore_ascii_case("all") {
            return Ok(Scope::All);
        }
        let ids: BTreeSet<String> = s.split([',', ' ']).map(str::trim).filter(|p| !p.is_empty()).map(str::to_owned).collect();
        if let Some(bad) = ids.iter().find(|id| !is_meta_id(id)) {
            return Err(format!("{bad:?} is not a phone-number id (digits only); use `all` or a list like 1065…,1066…"));
        }
        Ok(Scope::Numbers(ids))
    }
}

/// Masks a phone number for those who may not see it: the country-code end and the last three
/// digits stay, so agents can still tell customers apart. Anything that is not a phone number
/// (a group id, a business-scoped user id) is left alone.
pub fn mask_phone(value: &str) -> String {
    let digits = value.trim_start_matches('+');
    // E.164 numbers have at most 15 digits; Meta's group ids are longer.
    if !(7..=15).contains(&digits.len()) || !digits.chars().all(|c| c.is_ascii_digit()) {
        return value.to_owned();
    }
    let keep_start = 3;
    let keep_end = 3;
    let hidden = digits.len() - keep_start - keep_end;
    format!("{}{}{}", &digits[..keep_start], "•".repeat(hidden), &digits[digits.len() - keep_end..])
}

/// Keys under which a recorded JSON value (an audit entry's before and after) holds customers'
/// phone numbers.
const PHONE_KEYS: [&str; 6] = ["phones", "phone", "contact", "wa_id", "from", "to"];

/// Masks, in place, every phone number a JSON value holds under one of [`PHONE_KEYS`] (a string
/// or a list of strings), at any depth: what the audit log shows someone who may not see
/// phone numbers.
pub fn mask_phones_in(value: &mut serde_json::Value) {
    use serde_json::Value;
    match value {
        Value::Object(map) => {
            for (key, v) in map.iter_mut() {
                if PHONE_KEYS.contains(&key.as_str()) {
                    match v {
                        Value::String(s) => *s = mask_phone(s),
                        Value::Array(items) => items.iter_mut().for_each(|item| {
                            if let Value::String(s) = item {
                                *s = mask_phone(s);
                            }
                        }),
                        other => mask_phones_in(other),
                    }
                } else {
                    mask_phones_in(v);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(mask_phones_in),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phones_inside_recorded_values_are_masked_by_key_at_any_depth() {
        let mut v = serde_json::json!({
            "numbers": ["106540352242922"],
            "audience": {"kind": "list", "phones": ["85291234567", "+14155550123"]},
            "contact": "85299998888",
            "name": "85291234567 is not under a phone key"
        });
        mask_phones_in(&mut v);
        assert_eq!(v["audience"]["phones"], serde_json::json!(["852•••••567", "141•••••123"]));
        assert_eq!(v["contact"], "852•••••888");
        assert_eq!(v["numbers"][0], "106540352242922", "business number ids stay");
        assert_eq!(v["name"], "85291234567 is not under a phone key");
    }

    #[test]
    fn scopes_read_back_as_written_and_a_bad_one_is_refused() {
        for scope in [Scope::All, Scope::Numbers(["106540352242922".to_owned()].into())] {
            let json = serde_json::to_string(&scope).unwrap();
            assert_eq!(serde_json::from_str::<Scope>(&json).unwrap(), scope, "{json}");
        }
        assert_eq!(serde_json::to_string(&Scope::All).unwrap(), r#"{"kind":"all"}"#);
        let refused = |json: &str| serde_json::from_str::<Scope>(json).unwrap_err().to_string();
        assert!(refused(r#"{"kind":"numbers"}"#).contains("missing field `numbers`"));
        assert!(refused(r#"{"kind":"everything"}"#).contains("unknown scope kind `everything`"));
        assert!(refused(r#"{"numbers":["1"]}"#).contains("missing field `kind`"));
        assert!(refused(r#"{"kind":"numbers","numbers":"1"}"#).contains("invalid type"));
    }

    #[test]
    fn every_permission_round_trips_by_name() {
        for p in Permission::ALL {
            assert_eq!(Permission::parse(p.as_str()), Some(p));
            assert_eq!(serde_json::to_string(&p).unwrap(), format!("\"{}\"", p.as_str()));
        }
        assert_eq!(Permission::parse("fly"), None);
    }

    #[test]
    fn built_in_roles_differ_as_documented() {
        let admin = builtin_permissions("ADMINISTRATOR").unwrap();
        assert_eq!(admin.len(), Permission::ALL.len());
        let agent = builtin_permissions("agent").unwrap();
        assert!(agent.contains(&Permission::Reply) && !agent.contains(&Permission::SeeFullPhoneNumbers));
        let analyst = builtin_permissions("Analyst").unwrap();
        assert!(!analyst.contains(&Permission::Reply) && analyst.contains(&Permission::ViewReports));
        let supervisor = builtin_permissions("Supervisor").unwrap();
        assert!(!supervisor.contains(&Permission::ManageAgents) && supervisor.contains(&Permission::Reply));
        assert_eq!(builtin_permissions("Janitor"), None);
    }

    #[test]
    fn scopes_parse_and_cover() {
        assert_eq!(Scope::parse_list(" ALL "), Ok(Scope::All));
        let s = Scope::parse_list("111, 222").unwrap();
        assert!(s.covers("111") && s.covers("222") && !s.covers("333"));
        assert!(Scope::parse_list("111,abc").unwrap_err().contains("abc"));
        assert_eq!(serde_json::to_value(&Scope::All).unwrap(), serde_json::json!({"kind": "all"}));
    }

    #[test]
    fn masking_hides_the_middle_of_phone_numbers_only() {
        assert_eq!(mask_phone("85291234567"), "852•••••567");
        assert_eq!(mask_phone("+14155550123"), "141•••••123");
        assert_eq!(mask_phone("120363025246125888@g.us"), "120363025246125888@g.us");
        assert_eq!(mask_phone("120363025246125888"), "120363025246125888");
        assert_eq!(mask_phone("US.13491208655302741918"), "US.13491208655302741918");
        assert_eq!(mask_phone("12345"), "12345");
    }
}
