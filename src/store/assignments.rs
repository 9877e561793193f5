//! What round-robin assignment needs to know of the tickets: each assignee's open
//! tickets and when they were last given one.

use std::collections::HashMap;

use sqlx::Row;

use super::{Db, Store};
use crate::domain::assign::Load;

impl Store {
    /// Everyone ever given a ticket in `team_id`: their unresolved tickets, and the
    /// number of the last ticket they were given (numbers grow with time, unlike
    /// `opened_at`, which a back-dated ticket sets in the past). Read from the database
    /// on both dialects: a choice made on stale counts would pile work on one person.
    pub async fn assignment_loads(
        &self,
        team_id: &str,
    ) -> Result<HashMap<String, Load>, sqlx::Error> {
        on_pool!(&self.db, read, |pool| {
            let rows = sqlx::query(
                "SELECT assignee,
                        CAST(SUM(CASE WHEN resolved_at IS NULL THEN 1 ELSE 0 END) AS BIGINT)
                            AS open_count,
                        MAX(number) AS last_number
                 FROM tickets
                 WHERE team_id = $1 AND assignee IS NOT NULL
                 GROUP BY assignee",
            )
            .bind(team_id)
            .fetch_all(pool)
            .await?;
            let mut loads = HashMap::with_capacity(rows.len());
            for row in &rows {
                let open: i64 = row.try_get("open_count")?;
                loads.insert(
                    row.try_get("assignee")?,
                    Load {
                        open: usize::try_from(open).unwrap_or(0),
                        last_assigned: row.try_get("last_number")?,
                    },
                );
            }
            Ok(loads)
        })
    }
}
