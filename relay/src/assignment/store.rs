//! What assignment reads: the agents who may take a number's conversations, with their load.
//! It writes nothing of its own; a conversation's agent is the conversations feature's.

use sqlx::AnyConnection;

use crate::error::Result;

/// An agent who may take conversations on a number.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Candidate {
    pub id: i64,
    pub name: String,
    pub code: String,
    pub capacity: Option<i64>,
    /// Set themselves away (on a break).
    pub away: i64,
    /// Open conversations assigned to them now.
    pub open: i64,
}

impl Candidate {
    /// How customers see them: `#103`.
    pub fn public_name(&self) -> String {
        format!("#{}", self.code)
    }

    pub fn has_room(&self) -> bool {
        self.capacity.is_none_or(|c| self.open < c)
    }
}

/// Users' names by id (for the timeline's and the audit's sentences).
pub async fn name_of(conn: &mut AnyConnection, id: i64) -> Result<Option<String>> {
    let row: Option<(String,)> = sqlx::query_as("SELECT name FROM users WHERE id = $1").bind(id).fetch_optional(&mut *conn).await?;
    Ok(row.map(|(n,)| n))
}

/// The agents who may take conversations on `number_id`, fewest open first (then by id).
pub async fn candidates(conn: &mut AnyConnection, number_id: &str) -> Result<Vec<Candidate>> {
    Ok(sqlx::query_as(
        "SELECT u.id, u.name, u.code, u.capacity, CASE WHEN u.away THEN 1 ELSE 0 END AS away,
                (SELECT COUNT(*) FROM conversations c WHERE c.assigned_to = u.id AND c.status = 'open') AS open
         FROM users u JOIN roles r ON r.name = u.role
         WHERE u.code IS NOT NULL AND NOT u.disabled AND r.permissions LIKE '%\"reply\"%'
           AND (u.all_numbers OR EXISTS (SELECT 1 FROM user_numbers n WHERE n.user_id = u.id AND n.number_id = $1))
         ORDER BY open, u.id",
    )
    .bind(number_id)
    .fetch_all(&mut *conn)
    .await?)
}
