//! Meta's Cloud API Groups (cloud-api.md §5) as a [`GroupProvider`], over the same Graph client
//! that sends messages. What the API cannot do (add, promote, demote, admins-only, locked info,
//! join approval after creation, delete for everyone) is refused before any call.

use async_trait::async_trait;
use reqwest::Method;
use secrecy::SecretString;
use serde_json::{json, Value};
use switchboard_shared::groups::{
    Connection, GroupCaps, GroupMember, GroupSetting, JoinRequest, MemberIds, MemberOp, MemberOutcome, MemberRole, PerMember, ProviderKind,
    Refusal,
};
use switchboard_shared::wire::{OutboundBody, SendRequest, SendResponse, TextBody};

use super::provider::{ready, Created, GroupErr, GroupProvider, GroupResult, Snapshot};
use crate::cloud::{CloudClient, CloudError};

/// Meta's group error codes the provider tells apart.
mod codes {
    pub const RATE_LIMIT: i64 = 131208;
    pub const NOT_MEMBER: i64 = 131212;
    pub const DUPLICATE: i64 = 131202;
    pub const UNKNOWN_GROUP: i64 = 131041;
}

pub struct CloudGroups {
    pub client: CloudClient,
    pub number_id: String,
    pub token: SecretString,
    pub connection: Connection,
}

impl From<CloudError> for GroupErr {
    fn from(e: CloudError) -> GroupErr {
        match &e {
            CloudError::Connect(m) => GroupErr::Unreachable(m.clone()),
            CloudError::NoAnswer(m) => GroupErr::Unknown(m.clone()),
            CloudError::Decode { status, .. } if *status < 300 => GroupErr::Unknown(e.to_string()),
            CloudError::Decode { .. } => GroupErr::Unknown(e.to_string()),
            CloudError::Graph { status, error } => match error.error.code {
                Some(codes::RATE_LIMIT) => GroupErr::RateLimited,
                Some(codes::UNKNOWN_GROUP) => GroupErr::NotFound,
                _ if *status == 429 => GroupErr::RateLimited,
                // A 4xx with Meta's error shape means the call was refused: nothing happened.
                _ if *status < 500 => GroupErr::Invalid(e.to_string()),
                _ => GroupErr::Unknown(e.to_string()),
            },
        }
    }
}

/// A scalar Meta may quote or not (`"suspended": "false"`, `"total_participant_count": "3"`).
fn flag(v: Option<&Value>) -> bool {
    match v {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s.eq_ignore_ascii_case("true"),
        _ => false,
    }
}

fn number(v: Option<&Value>) -> Option<u32> {
    match v {
        Some(Value::Number(n)) => n.as_u64().map(|n| n as u32),
        Some(Value::String(s)) => s.parse().ok(),
        _ => None,
    }
}

fn text(v: Option<&Value>) -> Option<String> {
    v.and_then(Value::as_str).map(str::to_owned)
}

/// A participant object: `{wa_id, user_id?, username?}` (BSUID era), or `{input}` in answers.
pub fn participant_ids(p: &Value) -> MemberIds {
    MemberIds::new(None, None, p.get("user_id").and_then(Value::as_str), p.get("wa_id").or_else(|| p.get("input")).and_then(Value::as_str))
}

/// Reads `GET /{group-id}?fields=…`.
pub fn read_info(v: &Value) -> Snapshot {
    let members: Vec<GroupMember> = v
        .get("participants")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter().map(|p| GroupMember { ids: participant_ids(p), name: text(p.get("username")), role: MemberRole::Member }).collect()
        })
        .unwrap_or_default();
    Snapshot {
        id: text(v.get("id")).unwrap_or_default(),
        subject: text(v.get("subject")).unwrap_or_default(),
        description: text(v.get("description")).filter(|d| !d.is_empty()),
        member_count: number(v.get("total_participant_count")).map(|n| n + 1),
        members,
        admins_only: false,
        locked: false,
        join_approval: text(v.get("join_approval_mode")).as_deref() == Some("approval_required"),
        suspended: flag(v.get("suspended")),
        lid_addressing: false,
        // The business that made a Cloud group is its admin, always.
        is_admin: true,
        invite_link: None,
    }
}

/// Reads `GET /{group-id}/join_requests`.
pub fn read_requests(v: &Value) -> Vec<JoinRequest> {
    v.get("data")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|r| {
                    Some(JoinRequest {
                        id: text(r.get("join_request_id"))?,
                        ids: participant_ids(r),
                        name: text(r.get("username")),
                        requested_at: r
                            .get("creation_timestamp")
                            .and_then(|t| t.as_i64().or_else(|| t.as_str()?.parse().ok()))
                            .unwrap_or(0)
                            * 1000,
                    })
                })
                .collect()
        })
        .unwrap_or_default()
}

impl CloudGroups {
    async fn call(&self, method: Method, path: &str, query: &[(&str, &str)], body: Option<Value>) -> GroupResult<Value> {
        ready(&self.connection)?;
        Ok(self.client.call::<Value>(method, path, query, &self.token, body.as_ref()).await?)
    }

    /// The identifier Meta takes for a participant: the BSUID, or the phone.
    fn user(ids: &MemberIds) -> Option<Value> {
        if let Some(p) = ids.phone_digits() {
            Some(json!({"user": p}))
        } else {
            ids.bsuid.as_ref().map(|b| json!({"user_id": b}))
        }
    }
}

const INFO_FIELDS: &str = "subject,description,participants,join_approval_mode,suspended,creation_timestamp,total_participant_count";

#[async_trait]
impl GroupProvider for CloudGroups {
    fn kind(&self) -> ProviderKind {
        ProviderKind::Cloud
    }

    fn capabilities(&self) -> GroupCaps {
        GroupCaps::cloud()
    }

    fn connection(&self) -> Connection {
        self.connection.clone()
    }

    async fn list_groups(&self) -> GroupResult<Vec<Snapshot>> {
        let mut ids = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let mut query = vec![("limit", "1024")];
            if let Some(a) = &after {
                query.push(("after", a.as_str()));
            }
            let page = self.call(Method::GET, &format!("{}/groups", self.number_id), &query, None).await?;
            let groups = page.pointer("/data/groups").and_then(Value::as_array).cloned().unwrap_or_default();
            ids.extend(groups.iter().filter_map(|g| text(g.get("id"))));
            let next = page.pointer("/paging/next").is_some();
            after = text(page.pointer("/paging/cursors/after"));
            if groups.is_empty() || !next || after.is_none() {
                break;
            }
        }
        let mut all = Vec::with_capacity(ids.len());
        for id in ids {
            all.push(self.group(&id).await?);
        }
        Ok(all)
    }

    async fn group(&self, id: &str) -> GroupResult<Snapshot> {
        let v = self.call(Method::GET, id, &[("fields", INFO_FIELDS)], None).await?;
        let mut s = read_info(&v);
        if s.id.is_empty() {
            s.id = id.to_owned();
        }
        if let Ok(link) = self.invite_link(id, false).await {
            s.invite_link = Some(link);
        }
        Ok(s)
    }

    async fn members(&self, id: &str, op: MemberOp, who: &[MemberIds]) -> GroupResult<Vec<PerMember>> {
        if op != MemberOp::Remove {
            return Err(GroupErr::Refused(Refusal::Provider));
        }
        ready(&self.connection)?;
        let mut out = Vec::with_capacity(who.len());
        for chunk in who.chunks(GroupCaps::cloud().max_per_call as usize) {
            let users: Vec<Value> = chunk.iter().filter_map(Self::user).collect();
            if users.len() != chunk.len() {
                return Err(GroupErr::Invalid("A member has neither a phone nor a BSUID.".into()));
            }
            let body = json!({"messaging_product": "whatsapp", "participants": users});
            // Meta's code says which refusal it is, before it becomes a `GroupErr`.
            let answer = self.client.call::<Value>(Method::DELETE, &format!("{id}/participants"), &[], &self.token, Some(&body)).await;
            match answer {
                Ok(_) => out.extend(chunk.iter().map(|ids| PerMember { ids: ids.clone(), outcome: MemberOutcome::Done })),
                Err(e) if e.code() == Some(codes::NOT_MEMBER) => {
                    out.extend(chunk.iter().map(|ids| PerMember { ids: ids.clone(), outcome: MemberOutcome::NotMember }))
                }
                Err(e) if e.code() == Some(codes::DUPLICATE) => return Err(GroupErr::Invalid("The same member is named twice.".into())),
                Err(e) => return Err(e.into()),
            }
        }
        Ok(out)
    }

    async fn set(&self, id: &str, setting: &GroupSetting) -> GroupResult<()> {
        let body = match setting {
            GroupSetting::Subject(s) => json!({"messaging_product": "whatsapp", "subject": s}),
            GroupSetting::Description(d) => json!({"messaging_product": "whatsapp", "description": d}),
            _ => return Err(GroupErr::Refused(Refusal::Provider)),
        };
        self.call(Method::POST, id, &[], Some(body)).await.map(drop)
    }

    async fn join_requests(&self, id: &str) -> GroupResult<Vec<JoinRequest>> {
        let v = self.call(Method::GET, &format!("{id}/join_requests"), &[], None).await?;
        Ok(read_requests(&v))
    }

    async fn decide(&self, id: &str, requests: &[JoinRequest], approve: bool) -> GroupResult<Vec<PerMember>> {
        let ids: Vec<&str> = requests.iter().map(|r| r.id.as_str()).collect();
        let body = json!({"messaging_product": "whatsapp", "join_requests": ids});
        let method = if approve { Method::POST } else { Method::DELETE };
        let v = self.call(method, &format!("{id}/join_requests"), &[], Some(body)).await?;
        let failed: Vec<(String, String)> = v
            .get("failed_join_requests")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|f| {
                        let reason = f.pointer("/errors/0/title").or_else(|| f.pointer("/errors/0/message")).and_then(Value::as_str);
                        Some((text(f.get("join_request_id"))?, reason.unwrap_or("refused").to_owned()))
                    })
                    .collect()
            })
            .unwrap_or_default();
        Ok(requests
            .iter()
            .map(|r| {
                let outcome = match failed.iter().find(|(id, _)| *id == r.id) {
                    Some((_, reason)) => MemberOutcome::Failed { reason: reason.clone() },
                    None => MemberOutcome::Done,
                };
                PerMember { ids: r.ids.clone(), outcome }
            })
            .collect())
    }

    async fn invite_link(&self, id: &str, reset: bool) -> GroupResult<String> {
        let (method, body) = if reset { (Method::POST, Some(json!({"messaging_product": "whatsapp"}))) } else { (Method::GET, None) };
        let v = self.call(method, &format!("{id}/invite_link"), &[], body).await?;
        text(v.get("invite_link")).ok_or_else(|| GroupErr::Unknown("no invite link in the answer".into()))
    }

    async fn set_photo(&self, id: &str, jpeg: &[u8]) -> GroupResult<()> {
        ready(&self.connection)?;
        // Multipart like a media upload (cloud-api.md §5.3.4): the photo in `file`.
        self.client
            .post_file::<Value>(id, &self.token, "file", "photo.jpg", "image/jpeg", jpeg.to_vec())
            .await
            .map(drop)
            .map_err(GroupErr::from)
    }

    async fn create(&self, subject: &str, description: Option<&str>, join_approval: bool) -> GroupResult<Created> {
        let mut body = json!({"messaging_product": "whatsapp", "subject": subject.trim(),
                              "join_approval_mode": if join_approval { "approval_required" } else { "auto_approve" }});
        if let Some(d) = description.filter(|d| !d.is_empty()) {
            body["description"] = json!(d);
        }
        // Not idempotent (cloud-api.md §5.3.1): called once, never retried.
        let v = self.call(Method::POST, &format!("{}/groups", self.number_id), &[], Some(body)).await?;
        text(v.get("request_id")).map(Created::Requested).ok_or_else(|| GroupErr::Unknown("no request id in the answer".into()))
    }

    async fn delete(&self, id: &str) -> GroupResult<()> {
        self.call(Method::DELETE, id, &[], None).await.map(drop)
    }

    async fn send(&self, id: &str, _message_id: &str, text: &str, _mentions: &[MemberIds]) -> GroupResult<String> {
        ready(&self.connection)?;
        let request = SendRequest::group(id, OutboundBody::Text { text: TextBody { body: text.to_owned(), preview_url: None } });
        let answer: SendResponse = self.client.post_messages(&self.number_id, &self.token, &request).await?;
        answer.messages.first().map(|m| m.id.clone()).ok_or_else(|| GroupErr::Unknown("no message id in the answer".into()))
    }

    async fn revoke(&self, _id: &str, _message_id: &str, _sender: &MemberIds) -> GroupResult<()> {
        Err(GroupErr::Refused(Refusal::Provider))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_info_is_read_whether_meta_quotes_its_scalars_or_not() {
        let quoted = json!({"id": "G1", "subject": "Orders", "suspended": "true", "total_participant_count": "2",
                            "participants": [{"wa_id": "85291234567", "user_id": "US.1"}, {"wa_id": "85291234568"}],
                            "join_approval_mode": "approval_required"});
        let s = read_info(&quoted);
        assert!(s.suspended && s.join_approval && s.is_admin);
        assert_eq!(s.member_count, Some(3), "Meta leaves the business out of the count");
        assert_eq!(s.members[0].ids.bsuid.as_deref(), Some("US.1"));
        assert!(s.members[1].ids.same_person(&MemberIds::phone("+852 9123 4568")));
        let plain = json!({"id": "G2", "subject": "x", "suspended": false, "total_participant_count": 0});
        let s = read_info(&plain);
        assert!(!s.suspended && !s.join_approval && s.members.is_empty());
    }

    #[test]
    fn join_requests_are_read_with_their_ids_and_times() {
        let v = json!({"data": [{"join_request_id": "R1", "wa_id": "16505551234", "creation_timestamp": 1755548877},
                                {"wa_id": "no id"}]});
        let r = read_requests(&v);
        assert_eq!(r.len(), 1, "a request without an id cannot be decided, so it is not listed");
        assert_eq!(r[0].requested_at, 1_755_548_877_000);
        assert_eq!(r[0].ids.wa_id.as_deref(), Some("16505551234"));
    }
}
