//! The Postgres backend: for deployments that outgrow one machine. Any number of crawler,
//! classifier and API processes can share one database.

use crate::shared::impl_store;
use crate::{Backend, StoreError};
use sqlx::postgres::PgPoolOptions;
use sqlx::PgPool;
use std::time::Duration;

/// A store in a Postgres database.
#[derive(Debug, Clone)]
pub struct PostgresStore {
    pool: PgPool,
}

impl PostgresStore {
    /// Connects to a `postgres://` URL and applies the Postgres migrations. Several
    /// processes starting at once are safe: sqlx takes an advisory lock while migrating.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let pool = PgPoolOptions::new()
            .max_connections(8)
            .acquire_timeout(Duration::from_secs(10))
            .connect(url)
            .await
            .map_err(|source| StoreError::connecting(url, source))?;
        sqlx::migrate!("../migrations/postgres")
            .run(&pool)
            .await
            .map_err(StoreError::migrating)?;
        Ok(Self { pool })
    }
}

impl_store!(PostgresStore, sqlx::Postgres, Backend::Postgres);
