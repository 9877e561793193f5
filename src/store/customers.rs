//! Customers: creating, changing and finding them (from the cache on SQLite).

use chrono::{DateTime, Utc};
use sqlx::Row;

use super::audit::{Actor, Source, append_audit};
use super::{CUSTOMER_COLUMNS, Db, Store, ms};
use crate::domain::checklist::Tier;
use crate::domain::customer::{Customer, name_key};

/// A customer to create.
#[derive(Debug, Clone)]
pub struct NewCustomer {
    pub team_id: String,
    pub slug: String,
    pub name: String,
    pub tier: Tier,
    pub channel_id: Option<String>,
    pub created_by: String,
    pub created_at: i64,
}

#[derive(Debug, thiserror::Error)]
pub enum CreateCustomerError {
    #[error("a customer with this slug exists")]
    SlugTaken(Customer),
    #[error("the channel already belongs to a customer")]
    ChannelTaken(Customer),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}
/// A customer's changeable fields as the audit log shows them.
pub(crate) fn customer_json(c: &Customer) -> serde_json::Value {
    serde_json::json!({
        "name": c.name,
        "tier": c.tier.as_str(),
        "channel": c.channel_id,
        "csm": c.csm(),
        "archived": c.is_archived(),
        "golive": c.golive_on.map(|d| d.to_string()),
        "reminders_off": c.reminders_off,
        "intake": c.intake_mode.map(|m| m.as_str()),
        "kickoff": c.kickoff_on.map(|d| d.to_string()),
    })
}
impl Store {
    pub async fn create_customer(
        &self,
        new: &NewCustomer,
    ) -> Result<Customer, CreateCustomerError> {
        if let Some(existing) = self.customer_by_slug(&new.team_id, &new.slug).await? {
            return Err(CreateCustomerError::SlugTaken(existing));
        }
        if let Some(channel) = &new.channel_id
            && let Some(existing) = self.customer_by_channel(&new.team_id, channel).await?
        {
            return Err(CreateCustomerError::ChannelTaken(existing));
        }
        let sql = sqlx::AssertSqlSafe(format!(
            "INSERT INTO customers (team_id, slug, name, tier, channel_id, created_by, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)
             ON CONFLICT DO NOTHING
             RETURNING {CUSTOMER_COLUMNS}"
        ));
        let inserted = on_pool!(&self.db, write, |pool| {
            let mut tx = pool.begin().await?;
            let inserted = match sqlx::query(sql)
                .bind(&new.team_id)
                .bind(&new.slug)
                .bind(&new.name)
                .bind(new.tier.as_str())
                .bind(&new.channel_id)
                .bind(&new.created_by)
                .bind(new.created_at)
                .fetch_optional(&mut *tx)
                .await?
            {
                Some(row) => Some(customer_from_row!(&row)),
                None => None,
            };
            if let Some(customer) = &inserted {
                let entry = Actor::new(&new.created_by, Source::Command)
                    .entry(
                        &customer.team_id,
                        Some(customer.id),
                        "customer.created",
                        &customer.slug,
                        new.created_at,
                    )
                    .with(None, Some(customer_json(customer)));
                append_audit!(&mut *tx, &entry)?;
            }
            tx.commit().await?;
            inserted
        });
        match inserted {
            Some(customer) => {
                if let Some(cache) = &self.cache {
                    cache.put_customer(customer.clone());
                }
                Ok(customer)
            }
            // Lost a race with another request for the same slug or channel; the winner
            // may not be in the cache yet, so ask the database.
            None => {
                if let Some(existing) = self
                    .customer_where("slug = $2", &new.team_id, &new.slug)
                    .await?
                {
                    return Err(CreateCustomerError::SlugTaken(existing));
                }
                let channel = new.channel_id.as_deref().unwrap_or_default();
                match self
                    .customer_where("channel_id = $2", &new.team_id, channel)
                    .await?
                {
                    Some(existing) => Err(CreateCustomerError::ChannelTaken(existing)),
                    None => Err(sqlx::Error::RowNotFound.into()),
                }
            }
        }
    }

    /// Writes a customer's changeable fields (name, tier, CSM, channel, archive, go-live,
    /// switched-off milestones, intake mode, kickoff) from `after`, audited with `action` and the state
    /// before. Refused (`Ok(false)`) if the channel belongs to another customer.
    pub async fn update_customer(
        &self,
        before: &Customer,
        after: &Customer,
        action: &str,
        actor: Actor<'_>,
        now: DateTime<Utc>,
    ) -> Result<bool, sqlx::Error> {
        let now_ms = ms(now);
        if let Some(channel) = &after.channel_id
            && before.channel_id.as_ref() != Some(channel)
            && self
                .customer_where("channel_id = $2", &after.team_id, channel)
                .await?
                .is_some_and(|other| other.id != after.id)
        {
            return Ok(false);
        }
        on_pool!(&self.db, write, |pool| {
            let mut tx = pool.begin().await?;
            sqlx::query(
                "UPDATE customers SET name = $2, tier = $3, csm = $4, channel_id = $5,
                     archived_at = $6, golive_on = $7, reminders_off = $8, intake_mode = $9,
                     kickoff_on = $10, version = version + 1
                 WHERE id = $1",
            )
            .bind(after.id)
            .bind(&after.name)
            .bind(after.tier.as_str())
            .bind(&after.csm)
            .bind(&after.channel_id)
            .bind(after.archived_at)
            .bind(after.golive_on.map(|d| d.to_string()))
            .bind(after.reminders_off.join(","))
            .bind(after.intake_mode.map(|m| m.as_str()))
            .bind(after.kickoff_on.map(|d| d.to_string()))
            .execute(&mut *tx)
            .await?;
            let entry = actor
                .entry(&after.team_id, Some(after.id), action, &after.slug, now_ms)
                .with(Some(customer_json(before)), Some(customer_json(after)));
            append_audit!(&mut *tx, &entry)?;
            tx.commit().await?;
            Ok::<_, sqlx::Error>(())
        })?;
        if let Some(cache) = &self.cache {
            cache.put_customer(after.clone());
        }
        self.wake();
        Ok(true)
    }

    /// The first free `c<n>` slug, for names without ASCII letters or digits.
    pub async fn free_numbered_slug(&self, team_id: &str) -> Result<String, sqlx::Error> {
        let count: i64 = on_pool!(&self.db, read, |pool| sqlx::query(
            "SELECT COUNT(*) AS n FROM customers WHERE team_id = $1"
        )
        .bind(team_id)
        .fetch_one(pool)
        .await?
        .try_get("n")?);
        let mut n = count + 1;
        loop {
            let slug = format!("c{n}");
            if self.customer_by_slug(team_id, &slug).await?.is_none() {
                return Ok(slug);
            }
            n += 1;
        }
    }

    async fn customer_where(
        &self,
        condition: &'static str,
        team_id: &str,
        value: &str,
    ) -> Result<Option<Customer>, sqlx::Error> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {CUSTOMER_COLUMNS} FROM customers WHERE team_id = $1 AND {condition} LIMIT 1"
        ));
        on_pool!(&self.db, read, |pool| {
            match sqlx::query(sql)
                .bind(team_id)
                .bind(value)
                .fetch_optional(pool)
                .await?
            {
                Some(row) => Ok(Some(customer_from_row!(&row))),
                None => Ok(None),
            }
        })
    }

    pub async fn customer_by_slug(
        &self,
        team_id: &str,
        slug: &str,
    ) -> Result<Option<Customer>, sqlx::Error> {
        if let Some(cache) = &self.cache {
            return Ok(cache.by_slug(team_id, slug));
        }
        self.customer_where("slug = $2", team_id, slug).await
    }

    /// Every customer of the workspace whose name is `name` as people read it
    /// ([`name_key`]: width, case and spaces aside), oldest first. More than one only
    /// in a database from before names were kept unique. Compared here, not in SQL:
    /// neither database normalises Unicode, and a workspace's customers are few.
    pub async fn customers_named(
        &self,
        team_id: &str,
        name: &str,
    ) -> Result<Vec<Customer>, sqlx::Error> {
        let key = name_key(name);
        let mut named: Vec<Customer> = self
            .customers(team_id)
            .await?
            .into_iter()
            .filter(|c| name_key(&c.name) == key)
            .collect();
        named.sort_by_key(|c| c.id);
        Ok(named)
    }

    pub async fn customer_by_channel(
        &self,
        team_id: &str,
        channel_id: &str,
    ) -> Result<Option<Customer>, sqlx::Error> {
        if let Some(cache) = &self.cache {
            return Ok(cache.by_channel(team_id, channel_id));
        }
        self.customer_where("channel_id = $2", team_id, channel_id)
            .await
    }

    /// By id, within the workspace: an id guessed from another workspace finds nothing.
    pub async fn customer_by_id(
        &self,
        team_id: &str,
        id: i64,
    ) -> Result<Option<Customer>, sqlx::Error> {
        Ok(self
            .customer_by_id_unscoped(id)
            .await?
            .filter(|c| c.team_id == team_id))
    }

    /// By id alone, for the background work that already holds a checked id.
    pub async fn customer_by_id_unscoped(&self, id: i64) -> Result<Option<Customer>, sqlx::Error> {
        if let Some(cache) = &self.cache {
            return Ok(cache.customer(id));
        }
        self.customer_from_db(id).await
    }

    async fn customer_from_db(&self, id: i64) -> Result<Option<Customer>, sqlx::Error> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {CUSTOMER_COLUMNS} FROM customers WHERE id = $1"
        ));
        on_pool!(&self.db, read, |pool| {
            match sqlx::query(sql).bind(id).fetch_optional(pool).await? {
                Some(row) => Ok(Some(customer_from_row!(&row))),
                None => Ok(None),
            }
        })
    }

    /// The workspace's customers, by name.
    pub async fn customers(&self, team_id: &str) -> Result<Vec<Customer>, sqlx::Error> {
        if let Some(cache) = &self.cache {
            return Ok(cache.team(team_id));
        }
        self.customers_from_db("team_id = $1 ORDER BY LOWER(name), id", Some(team_id))
            .await
    }

    /// Customers whose channel is still to be created (a crash may have interrupted it).
    pub async fn customers_awaiting_channel(&self) -> Result<Vec<Customer>, sqlx::Error> {
        self.customers_from_db(
            "channel_id IS NULL AND channel_error IS NULL ORDER BY id",
            None,
        )
        .await
    }

    /// Customers matching `clause` (what follows WHERE), with `$1` bound to `arg`.
    async fn customers_from_db(
        &self,
        clause: &str,
        arg: Option<&str>,
    ) -> Result<Vec<Customer>, sqlx::Error> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {CUSTOMER_COLUMNS} FROM customers WHERE {clause}"
        ));
        on_pool!(&self.db, read, |pool| {
            let mut query = sqlx::query(sql);
            if let Some(arg) = arg {
                query = query.bind(arg);
            }
            let rows = query.fetch_all(pool).await?;
            rows.iter().map(|row| Ok(customer_from_row!(row))).collect()
        })
    }

    pub async fn set_customer_channel(
        &self,
        customer_id: i64,
        channel_id: Option<&str>,
        error: Option<&str>,
    ) -> Result<(), sqlx::Error> {
        on_pool!(&self.db, write, |pool| sqlx::query(
            "UPDATE customers SET channel_id = $2, channel_error = $3 WHERE id = $1"
        )
        .bind(customer_id)
        .bind(channel_id)
        .bind(error)
        .execute(pool)
        .await
        .map(|_| ()))?;
        if let Some(cache) = &self.cache
            && let Some(customer) = self.customer_from_db(customer_id).await?
        {
            cache.put_customer(customer);
        }
        Ok(())
    }

    /// Every customer of every workspace (to fill the cache, to plan digests).
    pub async fn all_customers(&self) -> Result<Vec<Customer>, sqlx::Error> {
        self.customers_from_db("TRUE", None).await
    }
}
