//! The authorization matrix: every declared `/api/v1` route × every built-in role × a resource
//! in and out of the user's scope (and signed out), each with its exact expected status. A
//! route added to the relay without an entry here fails the test.

mod common;

use std::time::Duration;

use axum::http::Method;
use serde_json::{json, Value};
use switchboard_relay::access::auth;
use switchboard_relay::numbers::{self, NewNumber};
use switchboard_relay::routes::{self, Need, RouteSpec};
use switchboard_relay::{Backend, ConfigArgs, Relay};
use switchboard_sandbox::{Sandbox, SandboxConfig, SandboxNumber};
use switchboard_shared::access::BUILTIN_ROLES;
use switchboard_shared::signature;

const SECRET: &str = "authz-app-secret";
const KEY: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
/// In every test user's scope.
const A: &str = "100000000000011";
/// Never in scope.
const B: &str = "100000000000012";
/// In scope, and removable (put back before each case that removes it).
const C: &str = "100000000000013";

struct Fixture {
    relay: Relay,
    _sandbox: Sandbox,
    http: reqwest::Client,
    /// A conversation on A (in scope) and one on B (out of scope).
    conversation_a: i64,
    conversation_b: i64,
    /// A Cloud group on A and one on B, each with a member.
    group_a: String,
    group_b: String,
    _dir: tempfile::TempDir,
    _database: Option<common::TestDatabase>,
}

/// The expected statuses for Administrator, Supervisor, Agent, Analyst (in `BUILTIN_ROLES`
/// order) with a resource in scope, then out of scope.
struct Expect {
    in_scope: [u16; 4],
    out_of_scope: [u16; 4],
}

const fn same(codes: [u16; 4]) -> Expect {
    Expect { in_scope: codes, out_of_scope: codes }
}

/// The table. Every declared route must appear here.
fn expected(method: &Method, path: &str) -> Option<Expect> {
    let m = method.as_str();
    Some(match (m, path) {
        ("POST", "/session") => same([401; 4]), // with a wrong password
        ("DELETE", "/session") => same([204; 4]),
        ("POST", "/password") => same([400; 4]), // with an unknown token
        ("GET", "/me") | ("PUT", "/me/away") => same([200; 4]),
        ("GET", "/numbers") => same([200; 4]),
        ("POST", "/numbers") => Expect { in_scope: [201, 403, 403, 403], out_of_scope: [403, 403, 403, 403] },
        ("PATCH", "/numbers/{id}") => Expect { in_scope: [200, 403, 403, 403], out_of_scope: [404, 403, 403, 403] },
        ("DELETE", "/numbers/{id}") => Expect { in_scope: [204, 403, 403, 403], out_of_scope: [404, 403, 403, 403] },
        ("GET", "/conversations") | ("GET", "/conversations/search") => same([200; 4]),
        ("GET", "/conversations/{id}/messages") => Expect { in_scope: [200; 4], out_of_scope: [404; 4] },
        ("POST", "/conversations/{id}/messages") => Expect { in_scope: [200, 200, 200, 403], out_of_scope: [404, 404, 404, 403] },
        ("POST", "/conversations/{id}/read") => Expect { in_scope: [204; 4], out_of_scope: [404; 4] },
        ("POST", "/conversations/{id}/template") => Expect { in_scope: [200, 200, 200, 403], out_of_scope: [404, 404, 404, 403] },
        // A PNG, inside the window.
        ("POST", "/conversations/{id}/media") => Expect { in_scope: [200, 200, 200, 403], out_of_scope: [404, 404, 404, 403] },
        // A file still being fetched; outside the user's scope, refused outright.
        ("GET", "/media/{id}") => Expect { in_scope: [409; 4], out_of_scope: [403; 4] },
        ("POST", "/conversations/{id}/assign") => Expect { in_scope: [200, 200, 200, 403], out_of_scope: [404, 404, 404, 403] },
        ("DELETE", "/messages/{id}") => Expect { in_scope: [204, 204, 403, 403], out_of_scope: [404, 404, 403, 403] },
        ("PUT", "/conversations/{id}/labels") | ("POST", "/conversations/{id}/status") | ("POST", "/conversations/{id}/notes") => {
            Expect { in_scope: [200, 200, 200, 403], out_of_scope: [404, 404, 404, 403] }
        }
        ("GET", "/conversations/{id}/activity") | ("GET", "/conversations/{id}/colleagues") => {
            Expect { in_scope: [200; 4], out_of_scope: [404; 4] }
        }
        // Moving in bulk is a supervisor's: an agent may reply but not move others' work.
        ("POST", "/conversations/assign") => Expect { in_scope: [200, 200, 403, 403], out_of_scope: [404, 404, 403, 403] },
        ("GET", "/events") => same([200; 4]),
        ("GET", "/agents") => same([200, 403, 403, 403]),
        ("POST", "/agents") => same([201, 403, 403, 403]),
        ("PATCH", "/agents/{id}") | ("POST", "/agents/bulk") => same([200, 403, 403, 403]),
        ("POST", "/agents/{id}/password-link") => same([200, 403, 403, 403]),
        ("GET", "/roles") => same([200, 403, 403, 403]),
        ("POST", "/roles") => same([201, 403, 403, 403]),
        ("PUT", "/roles/{id}") => same([200, 403, 403, 403]),
        ("DELETE", "/roles/{id}") => same([204, 403, 403, 403]),
        ("GET", "/audit") => same([200, 200, 403, 200]),
        ("GET", "/supervisor") => same([200, 200, 403, 200]),
        ("GET", "/export/conversations") => same([200, 200, 403, 200]),
        ("GET", "/contacts") | ("GET", "/contacts/export") | ("GET", "/segments") | ("GET", "/settings/opt-out") => {
            same([200, 200, 403, 403])
        }
        ("PATCH", "/contacts/{id}") => Expect { in_scope: [204, 204, 403, 403], out_of_scope: [404, 404, 403, 403] },
        // An empty file: the mapping names a column it does not have.
        ("POST", "/contacts/import") => same([400, 400, 403, 403]),
        ("GET", "/contacts/import/{id}") | ("GET", "/contacts/import/{id}/rejected") => same([404, 404, 403, 403]),
        ("POST", "/segments") => same([201, 201, 403, 403]),
        ("DELETE", "/segments/{id}") => same([204, 204, 403, 403]),
        ("PUT", "/settings/opt-out") => same([200, 200, 403, 403]),
        ("GET", "/templates") => same([200; 4]),
        ("POST", "/templates/sync") | ("GET", "/broadcasts") => same([200, 200, 403, 403]),
        ("POST", "/broadcasts") => Expect { in_scope: [201, 201, 403, 403], out_of_scope: [404, 404, 403, 403] },
        ("GET", "/broadcasts/{id}")
        | ("POST", "/broadcasts/{id}/control")
        | ("GET", "/broadcasts/{id}/recipients")
        | ("GET", "/broadcasts/{id}/export") => Expect { in_scope: [200, 200, 403, 403], out_of_scope: [404, 404, 403, 403] },
        ("GET", "/groups")
        | ("GET", "/groups/creations")
        | ("POST", "/groups/sync")
        | ("GET", "/groups/people")
        | ("POST", "/group-jobs/plan")
        | ("GET", "/group-jobs")
        | ("GET", "/linked-devices") => same([200, 200, 403, 403]),
        ("GET", "/groups/{id}")
        | ("POST", "/groups/{id}/members")
        | ("POST", "/groups/{id}/invite-link")
        | ("POST", "/groups/{id}/messages") => Expect { in_scope: [200, 200, 403, 403], out_of_scope: [404, 404, 403, 403] },
        ("POST", "/groups/{id}/settings") | ("DELETE", "/groups/{id}") => {
            Expect { in_scope: [202, 202, 403, 403], out_of_scope: [404, 404, 403, 403] }
        }
        // An empty body is not a photo.
        ("PUT", "/groups/{id}/photo") => Expect { in_scope: [400, 400, 403, 403], out_of_scope: [404, 404, 403, 403] },
        // No photo was set through Switchboard.
        ("GET", "/groups/{id}/photo") => same([404, 404, 403, 403]),
        // A number outside the user's scope is not theirs to make groups on.
        ("POST", "/groups") => Expect { in_scope: [200, 200, 403, 403], out_of_scope: [404, 404, 403, 403] },
        // Nobody asked to join.
        ("POST", "/groups/{id}/requests") => Expect { in_scope: [400, 400, 403, 403], out_of_scope: [404, 404, 403, 403] },
        // The Cloud API cannot delete a message for everyone.
        ("POST", "/groups/{id}/messages/{message}/revoke") => Expect { in_scope: [409, 409, 403, 403], out_of_scope: [404, 404, 403, 403] },
        // Out of scope, the named group is not among the user's, so nothing is left to do.
        ("POST", "/group-jobs") => Expect { in_scope: [200, 200, 403, 403], out_of_scope: [400, 400, 403, 403] },
        ("GET", "/group-jobs/{id}") | ("POST", "/group-jobs/{id}/cancel") => {
            Expect { in_scope: [200, 200, 403, 403], out_of_scope: [404, 404, 403, 403] }
        }
        // Nothing of the job was skipped for being offline.
        ("POST", "/group-jobs/{id}/rerun") => Expect { in_scope: [400, 400, 403, 403], out_of_scope: [404, 404, 403, 403] },
        // A phone no number has yet is outside a scoped user's numbers.
        ("POST", "/linked-devices") => same([403, 403, 403, 403]),
        ("DELETE", "/linked-devices/{number}") => same([404, 403, 403, 403]),
        ("GET", "/auto-replies") => same([200, 403, 403, 403]),
        ("GET", "/canned-replies") => same([200; 4]),
        ("POST", "/canned-replies") | ("PUT", "/canned-replies/{id}") => {
            Expect { in_scope: [200, 403, 403, 403], out_of_scope: [404, 403, 403, 403] }
        }
        ("DELETE", "/canned-replies/{id}") => Expect { in_scope: [204, 403, 403, 403], out_of_scope: [404, 403, 403, 403] },
        ("POST", "/auto-replies") | ("PUT", "/auto-replies/{id}") | ("GET", "/numbers/{id}/support") | ("PUT", "/numbers/{id}/support") => {
            Expect { in_scope: [200, 403, 403, 403], out_of_scope: [404, 403, 403, 403] }
        }
        ("DELETE", "/auto-replies/{id}") => Expect { in_scope: [204, 403, 403, 403], out_of_scope: [404, 403, 403, 403] },
        _ => return None,
    })
}

/// An auto-reply rule for one number.
fn auto_rule(number: &str) -> Value {
    json!({"name": format!("Rule {}", unique()), "trigger": {"type": "keyword", "words": ["hours"]},
           "answer": {"type": "text", "text": "09:00–18:00"}, "number_ids": [number]})
}

fn unique() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    format!("{}", N.fetch_add(1, Ordering::Relaxed))
}

impl Fixture {
    async fn sql(&self, sql: &str) -> i64 {
        let (id,): (i64,) = sqlx::query_as(sqlx::AssertSqlSafe(sql.to_owned())).fetch_one(&self.relay.state.db.pool).await.unwrap();
        id
    }

    /// A session for a new user with this role and scope {A, C}; returns (user id, cookie).
    async fn user(&self, role: &str) -> (i64, String) {
        self.user_on(role, &[A, C]).await
    }

    /// A session for a new user with this role on these numbers (every number when empty).
    async fn user_on(&self, role: &str, numbers: &[&str]) -> (i64, String) {
        let email = format!("{}-{}@example.com", role.to_lowercase().replace(' ', "-"), unique());
        let all = if numbers.is_empty() { "TRUE" } else { "FALSE" };
        let id = self
            .sql(&format!(
                "INSERT INTO users (email, name, password_hash, role, disabled, created_at, all_numbers) \
                 VALUES ('{email}', '{role} {email}', 'x', '{role}', FALSE, 0, {all}) RETURNING id"
            ))
            .await;
        for n in numbers {
            self.sql(&format!("INSERT INTO user_numbers (user_id, number_id) VALUES ({id}, '{n}') RETURNING user_id")).await;
        }
        let token = format!("token-{}", unique());
        self.sql(&format!(
            "INSERT INTO sessions (token_hash, user_id, created_at, expires_at) VALUES ('{}', {id}, 0, 99999999999999) RETURNING user_id",
            auth::token_hash(&token)
        ))
        .await;
        (id, format!("{}={token}", auth::SESSION_COOKIE))
    }

    /// The concrete request for a route: path below /api/v1 and body.
    async fn request(&self, spec: &RouteSpec, me: i64, in_scope: bool) -> (String, Option<Value>) {
        let number = if in_scope { C } else { B };
        let conversation = if in_scope { self.conversation_a } else { self.conversation_b };
        let path = spec.path.to_owned();
        match (spec.method.as_str(), spec.path) {
            ("POST", "/session") => (path, Some(json!({"email": format!("nobody{}@example.com", unique()), "password": "wrong"}))),
            ("POST", "/password") => (path, Some(json!({"token": "not-a-token", "password": "long enough password"}))),
            ("POST", "/numbers") => (
                path,
                Some(json!({"waba_id": "200000000000011", "phone_number_id": if in_scope { A } else { B },
                            "access_token": "sandbox-token", "app_secret": SECRET})),
            ),
            ("PATCH", "/numbers/{id}") => (format!("/numbers/{number}"), Some(json!({"disabled": false}))),
            ("DELETE", "/numbers/{id}") => {
                connect(&self.relay, C).await;
                (format!("/numbers/{number}"), None)
            }
            ("GET", "/conversations/{id}/messages")
            | ("POST", "/conversations/{id}/read")
            | ("GET", "/conversations/{id}/activity")
            | ("GET", "/conversations/{id}/colleagues") => (path.replace("{id}", &conversation.to_string()), None),
            ("POST", "/conversations/{id}/messages") => {
                (path.replace("{id}", &conversation.to_string()), Some(json!({"text": "hello from the matrix"})))
            }
            ("POST", "/conversations/{id}/template") => (
                path.replace("{id}", &conversation.to_string()),
                Some(json!({"name": "hello_world", "language": "en_US", "parameters": []})),
            ),
            // The body is the file: see `call`.
            ("POST", "/conversations/{id}/media") => (path.replace("{id}", &conversation.to_string()), None),
            ("GET", "/media/{id}") => {
                // A customer's photo in the conversation, still on its way from WhatsApp.
                let number = if in_scope { A } else { B };
                let message = self
                    .sql(&format!(
                        "INSERT INTO messages (conversation_id, number_id, wamid, direction, kind, body, status, status_rank, error, created_at) \
                         VALUES ({conversation}, '{number}', NULL, 'inbound', 'image', '[image]', NULL, 0, NULL, 0) RETURNING id"
                    ))
                    .await;
                self.sql(&format!(
                    "INSERT INTO media (message_id, conversation_id, number_id, direction, meta_id, kind, state, next_try_at, created_at) \
                     VALUES ({message}, {conversation}, '{number}', 'inbound', '1', 'image', 'pending', 99999999999999, 0) RETURNING id"
                ))
                .await;
                (path.replace("{id}", &message.to_string()), None)
            }
            ("DELETE", "/messages/{id}") => {
                // A fresh message in the conversation each time.
                let id = self
                    .sql(&format!(
                        "INSERT INTO messages (conversation_id, number_id, wamid, direction, kind, body, status, status_rank, error, created_at) \
                         VALUES ({conversation}, '{}', NULL, 'inbound', 'text', 'to delete', NULL, 0, NULL, 0) RETURNING id",
                        if in_scope { A } else { B }
                    ))
                    .await;
                (path.replace("{id}", &id.to_string()), None)
            }
            ("POST", "/conversations/{id}/status") => {
                // Alternately pending and open, so each call changes something.
                let status = if unique().parse::<u64>().unwrap() % 2 == 0 { "pending" } else { "open" };
                (path.replace("{id}", &conversation.to_string()), Some(json!({"status": status})))
            }
            ("POST", "/conversations/{id}/notes") => {
                (path.replace("{id}", &conversation.to_string()), Some(json!({"text": "内部備註 internal note", "mentions": [me]})))
            }
            ("GET", "/conversations/search") => (format!("{path}?q=hello"), None),
            ("PUT", "/me/away") => (path, Some(json!({"away": false}))),
            ("POST", "/conversations/assign") => (path, Some(json!({"conversation_ids": [conversation], "agent_id": null}))),
            ("PUT", "/conversations/{id}/labels") => {
                (path.replace("{id}", &conversation.to_string()), Some(json!({"labels": ["vip", "訂單"]})))
            }
            ("POST", "/conversations/{id}/assign") => {
                // From the queue: earlier cases (replies) may have assigned it to someone.
                self.sql("UPDATE conversations SET assigned_to = NULL RETURNING id").await;
                (path.replace("{id}", &conversation.to_string()), Some(json!({"agent_id": me})))
            }
            ("POST", "/agents") => {
                (path, Some(json!({"emails": format!("new{}@example.com", unique()), "role": "agent", "scope": {"kind": "all"}})))
            }
            ("POST", "/agents/bulk") => {
                let target = self.user("Agent").await.0;
                (path, Some(json!({"agent_ids": [target], "change": {"capacity": 12}})))
            }
            ("PATCH", "/agents/{id}") | ("POST", "/agents/{id}/password-link") => {
                let target = self.user("Agent").await.0;
                (path.replace("{id}", &target.to_string()), Some(json!({"name": "Renamed"})))
            }
            ("POST", "/roles") => (path, Some(json!({"name": format!("Custom {}", unique()), "permissions": ["reply"]}))),
            ("PUT", "/roles/{id}") | ("DELETE", "/roles/{id}") => {
                let id = self
                    .sql(&format!(
                        "INSERT INTO roles (name, permissions, builtin, created_at) VALUES ('Temp {}', '[]', FALSE, 0) RETURNING id",
                        unique()
                    ))
                    .await;
                (path.replace("{id}", &id.to_string()), Some(json!({"name": format!("Temp {}", unique()), "permissions": []})))
            }
            ("PATCH", "/contacts/{id}") => {
                let id = self
                    .sql(&format!(
                        "INSERT INTO contacts (wa_id, name, created_at, updated_at, numbers) VALUES ('8526{:07}', 'Fixture', 0, 0, '{}') RETURNING id",
                        unique().parse::<u64>().unwrap(),
                        if in_scope { A } else { B }
                    ))
                    .await;
                (path.replace("{id}", &id.to_string()), Some(json!({"tags": ["vip"]})))
            }
            ("POST", "/contacts/import") => {
                (format!("{path}?mapping=%7B%22phone%22%3A%22phone%22%2C%22default_country%22%3A%22HK%22%7D"), None)
            }
            ("GET", "/contacts/import/{id}") | ("GET", "/contacts/import/{id}/rejected") => (path.replace("{id}", "999999"), None),
            ("POST", "/segments") => (path, Some(json!({"name": format!("Segment {}", unique()), "expression": "tag vip and opted_in"}))),
            ("DELETE", "/segments/{id}") => {
                let id = self
                    .sql(&format!(
                        "INSERT INTO segments (name, expression, created_by, created_at) VALUES ('Temp {}', 'tag x', NULL, 0) RETURNING id",
                        unique()
                    ))
                    .await;
                (path.replace("{id}", &id.to_string()), None)
            }
            ("PUT", "/settings/opt-out") => (path, Some(json!({"keywords": ["STOP", "取消訂閱"], "confirmation": "Done. 已取消。"}))),
            ("POST", "/auto-replies") => (path, Some(auto_rule(number))),
            ("POST", "/canned-replies") => {
                (path, Some(json!({"shortcut": format!("hours{}", unique()), "text": "09:00–18:00", "number_ids": [number]})))
            }
            ("PUT", "/canned-replies/{id}") | ("DELETE", "/canned-replies/{id}") => {
                let id = self
                    .sql(&format!(
                        "INSERT INTO canned_replies (shortcut, text, numbers, created_at) VALUES ('fixture{}', 'Hi', ',{number},', 0) RETURNING id",
                        unique()
                    ))
                    .await;
                let body = json!({"shortcut": format!("renamed{}", unique()), "text": "Hello {contact.name}", "number_ids": [number]});
                (path.replace("{id}", &id.to_string()), (spec.method.as_str() == "PUT").then_some(body))
            }
            ("PUT", "/auto-replies/{id}") | ("DELETE", "/auto-replies/{id}") => {
                // A rule on the number, made as the relay makes one.
                let mut tx = self.relay.state.db.pool.begin().await.unwrap();
                let rule: switchboard_shared::support::AutoRuleSpec = serde_json::from_value(auto_rule(number)).unwrap();
                let id = switchboard_relay::automation::add_rule(&mut tx, &rule, 0).await.unwrap();
                tx.commit().await.unwrap();
                let body = (spec.method.as_str() == "PUT").then(|| auto_rule(number));
                (path.replace("{id}", &id.to_string()), body)
            }
            ("GET", "/numbers/{id}/support") => (format!("/numbers/{number}/support"), None),
            ("PUT", "/numbers/{id}/support") => (
                format!("/numbers/{number}/support"),
                Some(
                    json!({"hours": {"week": [[{"open": "09:00", "close": "18:00"}], [], [], [], [], [], []]}, "assignment": "least_open"}),
                ),
            ),
            ("POST", "/broadcasts") => (
                path,
                Some(json!({"name": "Matrix", "numbers": [if in_scope { A } else { B }], "template": "hello_world", "language": "en_US",
                            "audience": {"kind": "segment", "expression": "tag nobody"}, "send_at": 99_999_999_999_999_i64})),
            ),
            ("GET", "/broadcasts/{id}")
            | ("POST", "/broadcasts/{id}/control")
            | ("GET", "/broadcasts/{id}/recipients")
            | ("GET", "/broadcasts/{id}/export") => {
                let spec = json!({"name": "Fixture", "numbers": [if in_scope { A } else { B }], "template": "hello_world", "language": "en_US",
                                  "audience": {"kind": "segment", "expression": "tag nobody"}});
                let id = self
                    .sql(&format!(
                        "INSERT INTO broadcasts (name, spec, state, send_at, created_by, created_at) VALUES ('Fixture', '{spec}', 'scheduled', 99999999999999, NULL, 0) RETURNING id"
                    ))
                    .await;
                (path.replace("{id}", &id.to_string()), Some(json!({"action": "pause"})))
            }
            ("GET", "/groups/people") => (format!("{path}?q=8529"), None),
            ("POST", "/group-jobs/plan") => (path, Some(json!({"action": {"kind": "announce", "text": "Matrix"}}))),
            ("GET", "/groups/{id}") | ("PUT", "/groups/{id}/photo") | ("GET", "/groups/{id}/photo") => {
                (path.replace("{id}", self.group(in_scope)), None)
            }
            ("POST", "/groups") => (
                path,
                Some(json!({"number_id": if in_scope { A } else { B }, "provider": "cloud", "subject": format!("Matrix {}", unique())})),
            ),
            ("DELETE", "/groups/{id}") => {
                // A group of its own each time: the fixture's groups are needed by other routes.
                let number = if in_scope { A } else { B };
                let id = self._sandbox.seed_cloud_group(number, &format!("Doomed {}", unique()), &[], false);
                switchboard_relay::groups::sync_number(&self.relay.state, number, switchboard_shared::groups::ProviderKind::Cloud)
                    .await
                    .unwrap();
                (path.replace("{id}", &id), None)
            }
            ("POST", "/groups/{id}/invite-link") => (path.replace("{id}", self.group(in_scope)), Some(json!({"reset": false}))),
            ("POST", "/groups/{id}/members") => {
                (path.replace("{id}", self.group(in_scope)), Some(json!({"op": "remove", "people": ["85290009999"]})))
            }
            ("POST", "/groups/{id}/settings") => (
                path.replace("{id}", self.group(in_scope)),
                Some(json!({"setting": "description", "value": format!("Matrix {}", unique())})),
            ),
            ("POST", "/groups/{id}/requests") => (path.replace("{id}", self.group(in_scope)), Some(json!({"approve": true, "all": true}))),
            ("POST", "/groups/{id}/messages") => (path.replace("{id}", self.group(in_scope)), Some(json!({"text": "Matrix"}))),
            ("POST", "/groups/{id}/messages/{message}/revoke") => {
                (path.replace("{id}", self.group(in_scope)).replace("{message}", "wamid.X"), Some(json!({"sender": "85290001111"})))
            }
            ("POST", "/group-jobs") => (
                path,
                Some(json!({"action": {"kind": "setting", "setting": {"setting": "description", "value": format!("Job {}", unique())}},
                            "groups": [self.group(in_scope)]})),
            ),
            ("GET", "/group-jobs/{id}") | ("POST", "/group-jobs/{id}/cancel") | ("POST", "/group-jobs/{id}/rerun") => {
                let numbers = if in_scope { A } else { B };
                let id = self
                    .sql(&format!(
                        "INSERT INTO group_jobs (action, state, created_by, created_at, numbers) \
                         VALUES ('{{\"kind\":\"announce\",\"text\":\"x\"}}', 'running', 'matrix', 0, ',{numbers},') RETURNING id"
                    ))
                    .await;
                (path.replace("{id}", &id.to_string()), None)
            }
            ("POST", "/linked-devices") => (path, Some(json!({"phone": "+852 9000 1234", "label": "Matrix"}))),
            ("DELETE", "/linked-devices/{number}") => (path.replace("{number}", number), None),
            _ => (path, None),
        }
    }

    /// The Cloud group on A (in scope) or on B (out of scope).
    fn group(&self, in_scope: bool) -> &str {
        if in_scope {
            &self.group_a
        } else {
            &self.group_b
        }
    }

    async fn call(&self, spec: &RouteSpec, cookie: Option<&str>, path: &str, body: Option<Value>) -> u16 {
        let mut request = self
            .http
            .request(reqwest::Method::from_bytes(spec.method.as_str().as_bytes()).unwrap(), format!("{}/api/v1{path}", self.relay.url()))
            .header("x-requested-with", "switchboard");
        if let Some(cookie) = cookie {
            request = request.header("cookie", cookie);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        if spec.path == "/conversations/{id}/media" {
            request = request.header("content-type", "image/png").body(switchboard_sandbox::media::DOT_PNG);
        }
        let response = request.send().await.unwrap();
        response.status().as_u16()
    }
}

async fn connect(relay: &Relay, id: &str) {
    numbers::upsert(
        &relay.state,
        &NewNumber {
            id: id.into(),
            waba_id: "200000000000011".into(),
            access_token: "sandbox-token".into(),
            app_secret: SECRET.into(),
            verify_token: String::new(),
            time_zone: None,
        },
    )
    .await
    .unwrap();
}

/// A signed webhook: a customer writes "hi" to `number` just now, in `group` if given.
async fn customer_writes(http: &reqwest::Client, relay: &Relay, number: &str, wamid: &str, group: Option<&str>) {
    let mut message = json!({"from": "85291234567", "id": wamid, "type": "text", "text": {"body": "hi"},
                             "timestamp": (std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs()).to_string()});
    if let Some(group) = group {
        message["group_id"] = json!(group);
    }
    let body = serde_json::to_vec(&json!({
        "object": "whatsapp_business_account",
        "entry": [{"id": "200000000000011", "changes": [{"field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550111", "phone_number_id": number},
            "contacts": [{"profile": {"name": "Mei"}, "wa_id": "85291234567"}],
            "messages": [message]
        }}]}]
    }))
    .unwrap();
    let r = http
        .post(format!("{}/webhooks/whatsapp", relay.url()))
        .header("x-hub-signature-256", signature::sign(SECRET.as_bytes(), &body))
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

/// The id of the conversation whose `column` is `value`, once the processor has made it.
async fn conversation_with(relay: &Relay, column: &str, value: &str) -> i64 {
    let sql = format!("SELECT id FROM conversations WHERE {column} = $1");
    for _ in 0..200 {
        let row: Option<(i64,)> =
            sqlx::query_as(sqlx::AssertSqlSafe(sql.clone())).bind(value).fetch_optional(&relay.state.db.pool).await.unwrap();
        if let Some((id,)) = row {
            return id;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("no conversation with {column} = {value} appeared");
}

async fn fixture(backend: Backend) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let database = match backend {
        Backend::Sqlite => None,
        Backend::Postgres => Some(common::fresh_postgres_url().await.expect("DATABASE_URL must point at PostgreSQL")),
    };
    let database_url = database.as_ref().map(|d| d.url.clone());
    let sandbox = Sandbox::spawn(SandboxConfig {
        numbers: [A, B, C].iter().map(|n| SandboxNumber::new(n, "200000000000011", "+1 555-0111", "Matrix Shop")).collect(),
        app_secret: SECRET.into(),
        webhook_batch_window: Duration::from_millis(2),
        ..SandboxConfig::default()
    })
    .await
    .unwrap();
    let config = ConfigArgs {
        listen: Some("127.0.0.1:0".parse().unwrap()),
        data_dir: Some(dir.path().to_owned()),
        database_url,
        graph_base_url: Some(sandbox.url.clone()),
        console_dir: Some(dir.path().join("dist")),
        secret_key: Some(KEY.into()),
        ..Default::default()
    }
    .resolve()
    .unwrap();
    let relay = Relay::start(config).await.unwrap();
    for n in [A, B, C] {
        connect(&relay, n).await;
    }
    sandbox.set_webhook_url(format!("{}/webhooks/whatsapp", relay.url()));
    let http = reqwest::Client::new();
    // A customer writes to A and to B, just now (so replies are inside the 24-hour window).
    customer_writes(&http, &relay, A, "wamid.AUTHZ.A", None).await;
    customer_writes(&http, &relay, B, "wamid.AUTHZ.B", None).await;
    let conversation_a = conversation_with(&relay, "number_id", A).await;
    let conversation_b = conversation_with(&relay, "number_id", B).await;
    let group_a = sandbox.seed_cloud_group(A, "Matrix A", &["85290001111".into()], false);
    let group_b = sandbox.seed_cloud_group(B, "Matrix B", &["85290002222".into()], false);
    for n in [A, B] {
        switchboard_relay::groups::sync_number(&relay.state, n, switchboard_shared::groups::ProviderKind::Cloud).await.unwrap();
    }
    Fixture { relay, _sandbox: sandbox, http, conversation_a, conversation_b, group_a, group_b, _dir: dir, _database: database }
}

on_both_backends!(
    every_route_times_every_role_in_and_out_of_scope_gets_its_exact_status,
    openapi_json_describes_every_declared_route_and_nothing_else,
    a_scoped_reader_sees_only_audit_entries_on_their_numbers_with_phones_masked,
    the_live_view_lists_only_colleagues_on_the_readers_numbers,
    a_segment_broadcast_reaches_only_the_contacts_its_creator_sees,
    send_again_refuses_a_broadcast_the_user_may_not_see,
    a_broadcast_needs_the_send_templates_permission,
    a_group_reply_needs_the_manage_groups_permission_and_goes_to_the_group,
    every_route_with_a_json_body_refuses_a_bad_one_in_our_error_shape_and_changes_nothing,
);

async fn every_route_times_every_role_in_and_out_of_scope_gets_its_exact_status(backend: Backend) {
    let fx = fixture(backend).await;
    let specs = routes::specs(&fx.relay.state);
    let missing: Vec<String> =
        specs.iter().filter(|s| expected(&s.method, s.path).is_none()).map(|s| format!("{} {}", s.method, s.path)).collect();
    assert!(missing.is_empty(), "routes without an entry in the authorization table: {missing:?}");
    assert!(specs.len() >= 24, "suspiciously few routes: {}", specs.len());

    let mut failures = Vec::new();
    let mut checked = 0;
    for spec in &specs {
        let expect = expected(&spec.method, spec.path).unwrap();
        // Signed out: only public routes answer anything but 401.
        if spec.need != Need::Public {
            let (path, body) = fx.request(spec, 0, true).await;
            let got = fx.call(spec, None, &path, body).await;
            checked += 1;
            if got != 401 {
                failures.push(format!("{} {} signed out: got {got}, expected 401", spec.method, spec.path));
            }
        }
        for (i, role) in BUILTIN_ROLES.iter().enumerate() {
            for in_scope in [true, false] {
                let (me, cookie) = fx.user(role).await;
                let (path, body) = fx.request(spec, me, in_scope).await;
                let got = fx.call(spec, Some(&cookie), &path, body).await;
                let want = if in_scope { expect.in_scope[i] } else { expect.out_of_scope[i] };
                checked += 1;
                if got != want {
                    let scope = if in_scope { "in scope" } else { "out of scope" };
                    failures.push(format!("{} {} as {role} {scope} ({path}): got {got}, expected {want}", spec.method, spec.path));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{} of {checked} checks failed:\n{}", failures.len(), failures.join("\n"));
}

/// Every `$ref` in a JSON document.
fn refs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(map) => {
            for (k, v) in map {
                if k == "$ref" {
                    out.push(v.as_str().unwrap_or_default().to_owned());
                } else {
                    refs(v, out);
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
        _ => {}
    }
}

async fn openapi_json_describes_every_declared_route_and_nothing_else(backend: Backend) {
    let fx = fixture(backend).await;
    let doc: Value = fx.http.get(format!("{}/openapi.json", fx.relay.url())).send().await.unwrap().json().await.unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."), "{}", doc["openapi"]);
    let specs = routes::specs(&fx.relay.state);
    let mut missing = Vec::new();
    for spec in &specs {
        let op = &doc["paths"][format!("/api/v1{}", spec.path)][spec.method.as_str().to_lowercase()];
        if !op.is_object() || !op["operationId"].is_string() {
            missing.push(format!("{} {}", spec.method, spec.path));
        }
        for p in spec.need.permissions() {
            assert!(op["description"].as_str().unwrap_or_default().contains(p.as_str()), "{} {}", spec.method, spec.path);
        }
    }
    assert!(missing.is_empty(), "routes missing from /openapi.json: {missing:?}");
    // Each route's body and answer are the schemas its declaration names.
    let (me, _) = fx.user_on("Administrator", &[]).await;
    let target = |content: &Value| {
        let schema = &content["schema"];
        let (reference, array) = if schema["type"] == "array" { (&schema["items"]["$ref"], true) } else { (&schema["$ref"], false) };
        (reference.as_str().unwrap_or_default().trim_start_matches("#/components/schemas/").to_owned(), array)
    };
    for spec in &specs {
        let op = &doc["paths"][format!("/api/v1{}", spec.path)][spec.method.as_str().to_lowercase()];
        let what = format!("{} {}", spec.method, spec.path);
        match spec.request {
            Some(name) => {
                assert_eq!(target(&op["requestBody"]["content"]["application/json"]), (name.to_owned(), false), "{what}");
                assert!(doc["components"]["schemas"][name].is_object(), "{what}: {name} is not defined");
            }
            None => assert!(op["requestBody"].is_null(), "{what} documents a body it does not declare"),
        }
        // A route the matrix calls with a JSON body must say which.
        let (_, body) = fx.request(spec, me, true).await;
        let takes_json =
            body.is_some() && matches!(spec.method.as_str(), "POST" | "PUT" | "PATCH") && spec.path != "/agents/{id}/password-link";
        assert_eq!(takes_json, spec.request.is_some(), "{what}: its JSON body is not declared with the route");
        if let Some((name, array)) = spec.response {
            let ok = op["responses"].as_object().unwrap().iter().find(|(code, _)| code.starts_with('2')).unwrap().1;
            let media = if spec.path == "/events" { "text/event-stream" } else { "application/json" };
            assert_eq!(target(&ok["content"][media]), (name.to_owned(), array), "{what}");
            assert!(doc["components"]["schemas"][name].is_object(), "{what}: {name} is not defined");
        } else if spec.method == Method::GET
            && !spec.path.contains("export")
            && !spec.path.ends_with("/rejected")
            // A group photo is a JPEG, and a message's file is the file, not JSON.
            && !spec.path.ends_with("/photo")
            && spec.path != "/media/{id}"
        {
            panic!("{what} answers JSON without a declared schema");
        }
    }
    // Every query string a handler reads is declared with its route, and documented.
    let with_query: Vec<&str> = specs.iter().filter(|s| s.query.is_some()).map(|s| s.path).collect();
    for path in [
        "/events",
        "/audit",
        "/supervisor",
        "/contacts/import",
        "/broadcasts/{id}/recipients",
        "/export/conversations",
        "/conversations/{id}/media",
        "/media/{id}",
    ] {
        assert!(with_query.contains(&path), "{path} reads a query string its declaration does not name");
    }
    for spec in specs.iter().filter(|s| s.query.is_some()) {
        let op = &doc["paths"][format!("/api/v1{}", spec.path)][spec.method.as_str().to_lowercase()];
        for param in (spec.query.unwrap())() {
            let listed = op["parameters"].as_array().into_iter().flatten().any(|p| p["name"] == param.name.as_str() && p["in"] == "query");
            assert!(listed, "{} {}: query parameter {} is not documented", spec.method, spec.path, param.name);
        }
    }
    let operations: usize = doc["paths"].as_object().unwrap().values().map(|item| item.as_object().unwrap().len()).sum();
    assert_eq!(operations, specs.len(), "the document has operations the relay does not serve");
    // Every schema it points at is defined.
    let mut all = Vec::new();
    refs(&doc, &mut all);
    assert!(all.len() > 30);
    for r in all {
        let name = r.strip_prefix("#/components/schemas/").unwrap_or_else(|| panic!("unexpected $ref {r}"));
        assert!(doc["components"]["schemas"][name].is_object(), "{r} is not defined");
    }
}

// Scope holes found on review: each case failed before its fix.

impl Fixture {
    async fn get(&self, cookie: &str, path: &str) -> Value {
        let r = self.http.get(format!("{}/api/v1{path}", self.relay.url())).header("cookie", cookie).send().await.unwrap();
        assert_eq!(r.status(), 200, "GET {path}");
        r.json().await.unwrap()
    }

    async fn post(&self, cookie: &str, path: &str, body: &Value) -> reqwest::Response {
        self.http
            .post(format!("{}/api/v1{path}", self.relay.url()))
            .header("cookie", cookie)
            .header("x-requested-with", "switchboard")
            .json(body)
            .send()
            .await
            .unwrap()
    }

    /// A broadcast row on `number`, scheduled far in the future (never starts).
    async fn far_broadcast(&self, number: &str) -> i64 {
        let spec = json!({"name": "Elsewhere", "numbers": [number], "template": "hello_world", "language": "en_US",
                          "audience": {"kind": "segment", "expression": "tag nobody"}});
        self.sql(&format!(
            "INSERT INTO broadcasts (name, spec, state, send_at, created_by, created_at) VALUES ('Elsewhere', '{spec}', 'scheduled', 99999999999999, NULL, 0) RETURNING id"
        ))
        .await
    }
}

fn hello(numbers: &[&str], audience: Value) -> Value {
    json!({"name": "Scope", "numbers": numbers, "template": "hello_world", "language": "en_US", "audience": audience,
           "send_at": 99_999_999_999_999_i64})
}

async fn a_scoped_reader_sees_only_audit_entries_on_their_numbers_with_phones_masked(backend: Backend) {
    let fx = fixture(backend).await;
    let (_, admin) = fx.user_on("Administrator", &[]).await;
    for number in [A, B] {
        let r = fx.post(&admin, "/broadcasts", &hello(&[number], json!({"kind": "list", "phones": ["+85291234567"]}))).await;
        assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    }
    let r = fx.post(&admin, "/roles", &json!({"name": format!("Temp {}", unique()), "permissions": []})).await;
    assert_eq!(r.status(), 201);

    // An analyst on A and C (no "see full phone numbers").
    let (_, analyst) = fx.user("Analyst").await;
    let entries = fx.get(&analyst, "/audit").await;
    let actions: Vec<&str> = entries.as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["broadcast.create"], "only the broadcast on A: {entries}");
    assert_eq!(entries[0]["after"]["numbers"], json!([A]));
    assert_eq!(entries[0]["after"]["audience"]["phones"], json!(["852•••••567"]));
    assert!(!entries.to_string().contains("91234567"), "{entries}");

    // The administrator sees everything, phones in full.
    let all = fx.get(&admin, "/audit").await;
    let actions: Vec<&str> = all.as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions.iter().filter(|a| **a == "broadcast.create").count(), 2, "{all}");
    assert!(actions.contains(&"role.create"));
    assert!(all.to_string().contains("+85291234567"));
}

async fn the_live_view_lists_only_colleagues_on_the_readers_numbers(backend: Backend) {
    let fx = fixture(backend).await;
    let (on_a, _) = fx.user_on("Agent", &[A]).await;
    let (on_b, _) = fx.user_on("Agent", &[B]).await;
    let (everywhere, _) = fx.user_on("Agent", &[]).await;
    let (_, viewer) = fx.user("Analyst").await;
    let view = fx.get(&viewer, "/supervisor").await;
    let agents: Vec<String> = view["agents"].as_array().unwrap().iter().map(|a| a["id"].as_str().unwrap().to_owned()).collect();
    assert!(agents.contains(&on_a.to_string()) && agents.contains(&everywhere.to_string()), "{agents:?}");
    assert!(!agents.contains(&on_b.to_string()), "an agent on B only is not the viewer's colleague: {agents:?}");
    let (_, admin) = fx.user_on("Administrator", &[]).await;
    let all = fx.get(&admin, "/supervisor").await;
    assert!(all["agents"].as_array().unwrap().iter().any(|a| a["id"] == json!(on_b.to_string())));
}

async fn a_segment_broadcast_reaches_only_the_contacts_its_creator_sees(backend: Backend) {
    let fx = fixture(backend).await;
    for (phone, number) in [("85261110001", A), ("85261110002", B), ("85261110003", C)] {
        fx.sql(&format!(
            "INSERT INTO contacts (wa_id, name, tags, created_at, updated_at, numbers) VALUES ('{phone}', 'Scoped', 'scopetest', 0, 0, '{number}') RETURNING id"
        ))
        .await;
    }
    let (_, supervisor) = fx.user("Supervisor").await;
    // The console counts what the creator sees: two of the three.
    let contacts = fx.get(&supervisor, "/contacts").await;
    let tagged = contacts.as_array().unwrap().iter().filter(|c| c["tags"].to_string().contains("scopetest")).count();
    assert_eq!(tagged, 2);
    let mut spec = hello(&[A], json!({"kind": "segment", "expression": "tag scopetest"}));
    spec["send_at"] = Value::Null;
    let r = fx.post(&supervisor, "/broadcasts", &spec).await;
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    let id = r.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    let mut frozen = Vec::new();
    for _ in 0..200 {
        let rows: Vec<(String,)> = sqlx::query_as("SELECT contact FROM broadcast_recipients WHERE broadcast_id = $1 ORDER BY contact")
            .bind(id)
            .fetch_all(&fx.relay.state.db.pool)
            .await
            .unwrap();
        if !rows.is_empty() {
            frozen = rows.into_iter().map(|(c,)| c).collect();
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(frozen, ["85261110001", "85261110003"], "the contact on B is not the creator's");
}

async fn send_again_refuses_a_broadcast_the_user_may_not_see(backend: Backend) {
    let fx = fixture(backend).await;
    let on_b = fx.far_broadcast(B).await;
    let on_a = fx.far_broadcast(A).await;
    let (_, supervisor) = fx.user("Supervisor").await;
    let r = fx.post(&supervisor, "/broadcasts", &hello(&[A], json!({"kind": "resend", "broadcast_id": on_b}))).await;
    assert_eq!(r.status(), 400);
    let error: Value = r.json().await.unwrap();
    assert_eq!(error["error"]["code"], "audience");
    assert_eq!(fx.sql("SELECT COUNT(*) FROM broadcasts WHERE name = 'Scope'").await, 0, "nothing was created");
    let r = fx.post(&supervisor, "/broadcasts", &hello(&[A], json!({"kind": "resend", "broadcast_id": on_a}))).await;
    assert_eq!(r.status(), 201, "one they see is fine");
}

async fn a_broadcast_needs_the_send_templates_permission(backend: Backend) {
    let fx = fixture(backend).await;
    let (_, admin) = fx.user_on("Administrator", &[]).await;
    let role = format!("Broadcaster {}", unique());
    let r = fx.post(&admin, "/roles", &json!({"name": role, "permissions": ["broadcast", "manage_contacts"]})).await;
    assert_eq!(r.status(), 201);
    let (_, broadcaster) = fx.user(&role).await;
    let r = fx.post(&broadcaster, "/broadcasts", &hello(&[A], json!({"kind": "segment", "expression": "tag vip"}))).await;
    assert_eq!(r.status(), 403);
    let error: Value = r.json().await.unwrap();
    assert!(error["error"]["message"].as_str().unwrap().contains("send_templates"), "{error}");
    assert_eq!(fx.sql("SELECT COUNT(*) FROM broadcasts").await, 0);
}

async fn a_group_reply_needs_the_manage_groups_permission_and_goes_to_the_group(backend: Backend) {
    let fx = fixture(backend).await;
    let group = "120363025246125999";
    customer_writes(&fx.http, &fx.relay, A, "wamid.AUTHZ.GROUP", Some(group)).await;
    let conversation = conversation_with(&fx.relay, "contact", group).await;
    let path = format!("/conversations/{conversation}/messages");
    let (_, agent) = fx.user("Agent").await;
    let r = fx.post(&agent, &path, &json!({"text": "to everyone"})).await;
    assert_eq!(r.status(), 403, "an agent without manage_groups");
    assert_eq!(fx.sql("SELECT COUNT(*) FROM outbox").await, 0, "nothing queued");
    let (_, supervisor) = fx.user("Supervisor").await;
    let r = fx.post(&supervisor, &path, &json!({"text": "to everyone"})).await;
    assert_eq!(r.status(), 200);
    let (payload,): (String,) =
        sqlx::query_as("SELECT payload FROM outbox WHERE idempotency_key LIKE 'reply-%'").fetch_one(&fx.relay.state.db.pool).await.unwrap();
    let payload: Value = serde_json::from_str(&payload).unwrap();
    assert_eq!(payload["body"]["recipient_type"], "group", "{payload}");
    assert_eq!(payload["body"]["to"], group);
}

async fn every_route_with_a_json_body_refuses_a_bad_one_in_our_error_shape_and_changes_nothing(backend: Backend) {
    let fx = fixture(backend).await;
    let (me, admin) = fx.user_on("Administrator", &[]).await;
    let mut checked = 0;
    for spec in routes::specs(&fx.relay.state) {
        // The import takes a CSV file, not JSON; a new password link takes no body.
        if !matches!(spec.method.as_str(), "POST" | "PUT" | "PATCH")
            || ["/contacts/import", "/agents/{id}/password-link"].contains(&spec.path)
        {
            continue;
        }
        let (path, body) = fx.request(&spec, me, true).await;
        if body.is_none() {
            continue;
        }
        for bad in ["{not json", "[]", "{\"unexpected\": true, \"name\": 12}"] {
            let audit_before = fx.sql("SELECT COUNT(*) FROM audit_log").await;
            let r = fx
                .http
                .request(reqwest::Method::from_bytes(spec.method.as_str().as_bytes()).unwrap(), format!("{}/api/v1{path}", fx.relay.url()))
                .header("cookie", &admin)
                .header("x-requested-with", "switchboard")
                .header("content-type", "application/json")
                .body(bad)
                .send()
                .await
                .unwrap();
            let status = r.status().as_u16();
            let error: Value = r.json().await.unwrap_or(Value::Null);
            // `{"unexpected": …}` may be a valid change for routes whose fields are all optional.
            if status == 200 || status == 204 {
                assert!(bad.contains("unexpected"), "{} {} took {bad:?}", spec.method, spec.path);
                continue;
            }
            assert_eq!(status, 400, "{} {} with {bad:?}: {error}", spec.method, spec.path);
            assert_eq!(error["error"]["code"], "invalid_body", "{} {} with {bad:?}: {error}", spec.method, spec.path);
            assert!(!error["error"]["message"].as_str().unwrap_or_default().is_empty());
            assert_eq!(
                fx.sql("SELECT COUNT(*) FROM audit_log").await,
                audit_before,
                "{} {}: a refused body changes nothing",
                spec.method,
                spec.path
            );
            checked += 1;
        }
    }
    assert!(checked >= 30, "only {checked} bad bodies were tried");
}
