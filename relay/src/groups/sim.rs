//! `sim-linked`: the linked-device provider over the sandbox's simulated sessions. It speaks
//! HTTP to `/_linked/{phone}/…` where the real provider speaks WhatsApp's socket, and maps the
//! session's events into [`GroupChange`]s the same way.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use async_trait::async_trait;
use serde::de::DeserializeOwned;
use serde::Serialize;
use switchboard_shared::groups::sim::{
    self, ChangeResult, DecideBody, EventPage, MessageBody, Participant, ParticipantsBody, RevokeBody, SettingsBody,
};
use switchboard_shared::groups::{
    Connection, GroupCaps, GroupMember, GroupSetting, JoinRequest, LogoutReason, MemberIds, MemberOp, MemberOutcome, MemberRole, PerMember,
    ProviderKind, Refusal,
};

use super::linked::{Device, Happened, Page, Status};
use super::provider::{ready, Created, GroupChange, GroupErr, GroupProvider, GroupResult, Snapshot};

#[derive(Clone)]
pub struct SimLinked {
    http: reqwest::Client,
    base: String,
    pub phone: String,
    pub connection: Arc<RwLock<Connection>>,
}

impl SimLinked {
    pub fn new(base: &str, phone: &str, connection: Arc<RwLock<Connection>>) -> SimLinked {
        let http = reqwest::Client::builder().timeout(Duration::from_secs(40)).build().expect("http client");
        SimLinked { http, base: base.trim_end_matches('/').to_owned(), phone: phone.to_owned(), connection }
    }

    fn url(&self, path: &str) -> String {
        format!("{}/_linked/{}/{}", self.base, self.phone, path)
    }

    async fn read<T: DeserializeOwned>(result: reqwest::Result<reqwest::Response>) -> GroupResult<T> {
        let response =
            result.map_err(|e| if e.is_connect() { GroupErr::Unreachable(e.to_string()) } else { GroupErr::Unknown(e.to_string()) })?;
        let status = response.status();
        let bytes = response.bytes().await.map_err(|e| GroupErr::Unknown(e.to_string()))?;
        if status.is_success() {
            return serde_json::from_slice(&bytes).map_err(|e| GroupErr::Unknown(e.to_string()));
        }
        let error = serde_json::from_slice::<sim::Error>(&bytes).map(|e| e.error).unwrap_or_default();
        Err(match error.as_str() {
            "rate-overlimit" => GroupErr::RateLimited,
            "not-authorized" => GroupErr::Refused(Refusal::NotAdmin),
            "item-not-found" => GroupErr::NotFound,
            "offline" => GroupErr::Refused(Refusal::Offline),
            "logged-out" => GroupErr::Refused(Refusal::LoggedOut),
            "banned" => GroupErr::Refused(Refusal::Banned),
            _ if status.is_client_error() => GroupErr::Invalid(String::from_utf8_lossy(&bytes).chars().take(200).collect()),
            _ => GroupErr::Unknown(format!("{status}")),
        })
    }

    async fn get<T: DeserializeOwned>(&self, path: &str) -> GroupResult<T> {
        ready(&self.connection())?;
        Self::read(self.http.get(self.url(path)).send().await).await
    }

    async fn post<B: Serialize, T: DeserializeOwned>(&self, path: &str, body: &B) -> GroupResult<T> {
        ready(&self.connection())?;
        Self::read(self.http.post(self.url(path)).json(body).send().await).await
    }
}

#[async_trait]
impl Device for SimLinked {
    async fn pair(&self, by_code: bool) -> GroupResult<Status> {
        let status: sim::Status =
            Self::read(self.http.post(self.url("pair")).json(&serde_json::json!({"by_code": by_code})).send().await).await?;
        Ok(self::status(&status))
    }

    async fn logout(&self) -> GroupResult<()> {
        Self::read::<serde_json::Value>(self.http.post(self.url("logout")).json(&serde_json::json!({})).send().await).await.map(drop)
    }

    async fn events(&self, after: u64, wait: Duration) -> GroupResult<Page> {
        let url = format!("{}?after={after}&wait_ms={}", self.url("events"), wait.as_millis());
        let page: EventPage = Self::read(self.http.get(url).send().await).await?;
        let events =
            page.events.iter().map(|e| Happened { seq: e.seq, group: e.group.clone(), change: change(&e.change, &self.phone) }).collect();
        Ok(Page { status: status(&page.status), events })
    }
}

/// The session's status as ours (an offline session's `since` is the session task's to know).
fn status(s: &sim::Status) -> Status {
    Status { connection: connection(s, 0), qr: s.qr.clone(), code: s.code.clone() }
}

/// A participant as we address them: the phone where known, else the LID.
fn participant(ids: &MemberIds) -> Participant {
    Participant { pn: ids.phone_digits().map(str::to_owned), lid: ids.lid.clone(), name: None, role: MemberRole::Member }
}

pub fn member(p: &Participant) -> GroupMember {
    GroupMember { ids: p.ids(), name: p.name.clone(), role: p.role }
}

/// A session's group metadata as a snapshot, seen from our number.
pub fn snapshot(m: &sim::Metadata, our_phone: &str) -> Snapshot {
    let is_admin = m.participants.iter().any(|p| p.pn.as_deref() == Some(our_phone) && p.role.is_admin());
    Snapshot {
        id: m.jid.clone(),
        subject: m.subject.clone(),
        description: m.description.clone(),
        members: m.participants.iter().map(member).collect(),
        member_count: Some(m.participants.len() as u32),
        admins_only: m.announce,
        locked: m.locked,
        join_approval: m.join_approval,
        suspended: false,
        lid_addressing: m.lid_addressing,
        is_admin,
        invite_link: None,
    }
}

/// How the session's connection reads as ours.
pub fn connection(status: &sim::Status, offline_since: i64) -> Connection {
    match status.state.as_str() {
        "online" => Connection::Online,
        "pairing" => Connection::Connecting,
        "offline" => Connection::Offline { since: offline_since },
        "banned" => Connection::Banned,
        _ => Connection::LoggedOut {
            reason: match status.reason.as_deref() {
                Some("device_removed") => LogoutReason::DeviceRemoved,
                Some("inactivity") => LogoutReason::Inactivity,
                _ => LogoutReason::NotPaired,
            },
        },
    }
}

/// A session event as a group change.
pub fn change(c: &sim::Change, our_phone: &str) -> GroupChange {
    use sim::Change as C;
    match c {
        C::Participants { action, participants } => {
            let ids: Vec<MemberIds> = participants.iter().map(Participant::ids).collect();
            match action.as_str() {
                "add" | "join" => GroupChange::Joined(participants.iter().map(member).collect()),
                "promote" => GroupChange::Promoted(ids),
                "demote" => GroupChange::Demoted(ids),
                // We were the one removed: the group is gone for us.
                _ if participants.iter().any(|p| p.pn.as_deref() == Some(our_phone)) => GroupChange::Gone,
                _ => GroupChange::Left(ids),
            }
        }
        C::Settings { announce, locked, join_approval, subject, description } => {
            let setting = if let Some(v) = announce {
                GroupSetting::AdminsOnlyMessages(*v)
            } else if let Some(v) = locked {
                GroupSetting::LockedInfo(*v)
            } else if let Some(v) = join_approval {
                GroupSetting::JoinApproval(*v)
            } else if let Some(v) = subject {
                GroupSetting::Subject(v.clone())
            } else {
                GroupSetting::Description(description.clone().unwrap_or_default())
            };
            GroupChange::Setting(setting)
        }
        C::JoinRequest { action, requester } if action == "created" => GroupChange::RequestCreated(JoinRequest {
            id: requester.lid.clone().or(requester.pn.clone()).unwrap_or_default(),
            ids: requester.ids(),
            name: requester.name.clone(),
            requested_at: crate::clock::now_ms(),
        }),
        C::JoinRequest { requester, .. } => GroupChange::RequestGone(requester.ids()),
        C::LidAddressing { on } => GroupChange::LidAddressing(*on),
        C::Joined { metadata } => GroupChange::Appeared(snapshot(metadata, our_phone)),
        C::Left => GroupChange::Gone,
        C::Message { .. } => GroupChange::Activity,
    }
}

fn outcome(r: &ChangeResult) -> MemberOutcome {
    match r.status.as_str() {
        "200" => MemberOutcome::Done,
        "403" => MemberOutcome::PrivacyRefused { invite_link: r.invite_code.as_ref().map(|c| format!("https://chat.whatsapp.com/{c}")) },
        "404" => MemberOutcome::NotMember,
        "409" => MemberOutcome::AlreadyMember,
        other => MemberOutcome::Failed { reason: format!("WhatsApp answered {other}") },
    }
}

#[async_trait]
impl GroupProvider for SimLinked {
    fn kind(&self) -> ProviderKind {
        ProviderKind::Linked
    }

    fn capabilities(&self) -> GroupCaps {
        GroupCaps::linked()
    }

    fn connection(&self) -> Connection {
        self.connection.read().expect("connection lock").clone()
    }

    async fn list_groups(&self) -> GroupResult<Vec<Snapshot>> {
        let all: Vec<sim::Metadata> = self.get("groups").await?;
        Ok(all.iter().map(|m| snapshot(m, &self.phone)).collect())
    }

    async fn group(&self, id: &str) -> GroupResult<Snapshot> {
        let m: sim::Metadata = self.get(&format!("groups/{id}")).await?;
        Ok(snapshot(&m, &self.phone))
    }

    async fn members(&self, id: &str, op: MemberOp, who: &[MemberIds]) -> GroupResult<Vec<PerMember>> {
        let body = ParticipantsBody { action: op.as_str().into(), participants: who.iter().map(participant).collect() };
        let results: Vec<ChangeResult> = self.post(&format!("groups/{id}/participants"), &body).await?;
        Ok(who.iter().zip(results.iter()).map(|(ids, r)| PerMember { ids: ids.clone(), outcome: outcome(r) }).collect())
    }

    async fn set(&self, id: &str, setting: &GroupSetting) -> GroupResult<()> {
        let mut body = SettingsBody::default();
        match setting {
            GroupSetting::AdminsOnlyMessages(v) => body.announce = Some(*v),
            GroupSetting::LockedInfo(v) => body.locked = Some(*v),
            GroupSetting::JoinApproval(v) => body.join_approval = Some(*v),
            GroupSetting::Subject(v) => body.subject = Some(v.clone()),
            GroupSetting::Description(v) => body.description = Some(v.clone()),
        }
        self.post::<_, serde_json::Value>(&format!("groups/{id}"), &body).await.map(drop)
    }

    async fn join_requests(&self, id: &str) -> GroupResult<Vec<JoinRequest>> {
        let list: Vec<sim::Request> = self.get(&format!("groups/{id}/requests")).await?;
        Ok(list
            .iter()
            .map(|r| JoinRequest {
                id: r.requester.lid.clone().or(r.requester.pn.clone()).unwrap_or_default(),
                ids: r.requester.ids(),
                name: r.requester.name.clone(),
                requested_at: r.requested_at,
            })
            .collect())
    }

    async fn decide(&self, id: &str, requests: &[JoinRequest], approve: bool) -> GroupResult<Vec<PerMember>> {
        let body = DecideBody { approve, participants: requests.iter().map(|r| participant(&r.ids)).collect() };
        let results: Vec<ChangeResult> = self.post(&format!("groups/{id}/requests"), &body).await?;
        Ok(requests.iter().zip(results.iter()).map(|(r, res)| PerMember { ids: r.ids.clone(), outcome: outcome(res) }).collect())
    }

    async fn invite_link(&self, id: &str, reset: bool) -> GroupResult<String> {
        #[derive(serde::Deserialize)]
        struct Link {
            link: String,
        }
        let link: Link = if reset {
            self.post(&format!("groups/{id}/invite"), &serde_json::json!({})).await?
        } else {
            self.get(&format!("groups/{id}/invite")).await?
        };
        Ok(link.link)
    }

    async fn send(&self, id: &str, message_id: &str, text: &str, mentions: &[MemberIds]) -> GroupResult<String> {
        let mentions = mentions
            .iter()
            .filter_map(|m| m.phone_digits().map(|p| format!("{p}@s.whatsapp.net")).or(m.lid.as_ref().map(|l| format!("{l}@lid"))))
            .collect();
        let body = MessageBody { id: message_id.into(), text: text.into(), mentions };
        let _: serde_json::Value = self.post(&format!("groups/{id}/messages"), &body).await?;
        Ok(message_id.to_owned())
    }

    async fn revoke(&self, id: &str, message_id: &str, sender: &MemberIds) -> GroupResult<()> {
        let body = RevokeBody { id: message_id.into(), sender: participant(sender) };
        self.post::<_, serde_json::Value>(&format!("groups/{id}/revoke"), &body).await.map(drop)
    }

    async fn set_photo(&self, id: &str, jpeg: &[u8]) -> GroupResult<()> {
        use base64::Engine as _;
        let body = serde_json::json!({"jpeg_base64": base64::engine::general_purpose::STANDARD.encode(jpeg)});
        self.post::<_, serde_json::Value>(&format!("groups/{id}/photo"), &body).await.map(drop)
    }

    async fn create(&self, subject: &str, description: Option<&str>, join_approval: bool) -> GroupResult<Created> {
        let body = sim::CreateBody { subject: subject.trim().into(), description: description.map(str::to_owned), join_approval };
        let m: sim::Metadata = self.post("groups", &body).await?;
        Ok(Created::Now(snapshot(&m, &self.phone)))
    }

    async fn delete(&self, id: &str) -> GroupResult<()> {
        self.post::<_, serde_json::Value>(&format!("groups/{id}/leave"), &serde_json::json!({})).await.map(drop)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_events_map_to_group_changes() {
        let p = |pn: Option<&str>, lid: &str| Participant {
            pn: pn.map(str::to_owned),
            lid: Some(lid.into()),
            name: None,
            role: MemberRole::Member,
        };
        let removed = sim::Change::Participants { action: "remove".into(), participants: vec![p(None, "111")] };
        assert_eq!(change(&removed, "852"), GroupChange::Left(vec![MemberIds::new(None, Some("111"), None, None)]));
        let we_left = sim::Change::Participants { action: "remove".into(), participants: vec![p(Some("852"), "9")] };
        assert_eq!(change(&we_left, "852"), GroupChange::Gone);
        let announce = sim::Change::Settings { announce: Some(true), locked: None, join_approval: None, subject: None, description: None };
        assert_eq!(change(&announce, "852"), GroupChange::Setting(GroupSetting::AdminsOnlyMessages(true)));
        let asked = sim::Change::JoinRequest { action: "created".into(), requester: p(Some("85290000001"), "222") };
        match change(&asked, "852") {
            GroupChange::RequestCreated(r) => assert_eq!(r.ids.pn.as_deref(), Some("85290000001")),
            other => panic!("{other:?}"),
        }
        assert_eq!(change(&sim::Change::LidAddressing { on: true }, "852"), GroupChange::LidAddressing(true));
    }

    #[test]
    fn a_sessions_state_reads_as_a_connection() {
        let s = |state: &str, reason: Option<&str>| sim::Status {
            state: state.into(),
            reason: reason.map(str::to_owned),
            qr: None,
            code: None,
        };
        assert_eq!(connection(&s("online", None), 5), Connection::Online);
        assert_eq!(connection(&s("offline", None), 5), Connection::Offline { since: 5 });
        assert_eq!(connection(&s("logged_out", Some("device_removed")), 5), Connection::LoggedOut { reason: LogoutReason::DeviceRemoved });
        assert_eq!(connection(&s("unpaired", None), 5), Connection::LoggedOut { reason: LogoutReason::NotPaired });
        assert_eq!(connection(&s("banned", None), 5), Connection::Banned);
    }
}
