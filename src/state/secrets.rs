//! The workspace's plan key: a random secret kept in the state store (never in a plan file),
//! under which a plan's sensitive values are hashed and the plan file is signed. Anyone with
//! the plan file alone can neither read a secret from it nor forge a plan that apply accepts.

use diesel::prelude::*;
use rand::RngCore;

use super::error::Result;
use super::schema::store_info;
use super::store::Store;

impl Store {
    /// The workspace's plan key, created on first use.
    pub fn plan_key(&mut self) -> Result<Vec<u8>> {
        let name = format!("plan_key/{}", self.meta()?.lineage);
        let found: Option<String> = store_info::table
            .filter(store_info::key.eq(&name))
            .select(store_info::value)
            .first(&mut self.conn)
            .optional()
            .map_err(|e| self.db_err(e))?;
        if let Some(hex_key) = found.and_then(|h| hex::decode(h).ok()) {
            return Ok(hex_key);
        }
        let mut key = vec![0u8; 32];
        rand::thread_rng().fill_bytes(&mut key);
        // Two first plans at once: whichever inserts first wins; both then read the winner.
        let _ = diesel::insert_into(store_info::table)
            .values((store_info::key.eq(&name), store_info::value.eq(hex::encode(&key))))
            .execute(&mut self.conn);
        let stored: String = store_info::table
            .filter(store_info::key.eq(&name))
            .select(store_info::value)
            .first(&mut self.conn)
            .map_err(|e| self.db_err(e))?;
        Ok(hex::decode(stored).unwrap_or(key))
    }
}
