//! VMID reservations: PVE's `/cluster/nextid` does not reserve, so two pmx processes creating
//! guests at once would pick the same vmid. A reservation row per (cluster, vmid), with a
//! primary key, lets exactly one of them have it; reservations expire so a crash frees them.

use std::collections::HashSet;
use std::time::Duration;

use diesel::prelude::*;
use serde::Serialize;

use super::error::{Result, StateError};
use super::model::*;
use super::rows::ReservationRow;
use super::schema::*;
use super::store::Store;
use crate::addr::ResourceAddress;

/// A vmid held for a resource about to be created.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VmidReservation {
    pub cluster: String,
    pub vmid: u32,
    pub workspace_id: i64,
    pub address: String,
    pub holder: String,
    pub reserved_at: Millis,
    pub expires_at: Millis,
}

impl Store {
    /// Reserves the first vmid from `candidates` that no live reservation on `cluster` holds and
    /// no resource of this workspace on that cluster uses (a resource without a recorded
    /// cluster, from before state schema 2, counts as on every cluster) and no open intent of
    /// this workspace on that cluster names (a crashed apply may have been creating it). The caller leaves out vmids the cluster already has.
    pub fn reserve_vmid(
        &mut self,
        cluster: &str,
        address: &ResourceAddress,
        candidates: impl IntoIterator<Item = u32>,
        ttl: Duration,
    ) -> Result<u32> {
        let now = now_millis();
        let ttl_ms = i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX / 2);
        diesel::delete(
            vmid_reservations::table
                .filter(vmid_reservations::cluster.eq(cluster))
                .filter(vmid_reservations::expires_at.lt(now)),
        )
        .execute(&mut self.conn)
        .map_err(|e| self.db_err(e))?;
        let mut used: HashSet<i64> = resources::table
            .filter(resources::workspace_id.eq(self.scope.workspace_id))
            .filter(resources::vmid.is_not_null())
            .filter(resources::cluster.eq(cluster).or(resources::cluster.is_null()))
            .select(resources::vmid)
            .load::<Option<i64>>(&mut self.conn)
            .map_err(|e| self.db_err(e))?
            .into_iter()
            .flatten()
            .collect();
        // An open intent's vmid may be a guest a crashed apply was creating: not free until
        // recovery closes the intent.
        let intended = intents::table
            .filter(intents::workspace_id.eq(self.scope.workspace_id))
            .filter(intents::cluster.eq(cluster))
            .filter(intents::state.eq_any([IntentState::Pending.as_str(), IntentState::Started.as_str()]))
            .filter(intents::vmid.is_not_null())
            .select(intents::vmid)
            .load::<Option<i64>>(&mut self.conn)
            .map_err(|e| self.db_err(e))?;
        used.extend(intended.into_iter().flatten());
        let holder = format!("{}@{} pid {}", self.scope.actor.user, self.scope.actor.host, self.scope.actor.pid);
        for vmid in candidates {
            if used.contains(&i64::from(vmid)) {
                continue;
            }
            let row = ReservationRow {
                cluster: cluster.to_string(),
                vmid: i64::from(vmid),
                workspace_id: self.scope.workspace_id,
                address: address.to_string(),
                holder: holder.clone(),
                reserved_at: now,
                expires_at: now.saturating_add(ttl_ms),
            };
            // Each attempt stands alone (no surrounding transaction): on PostgreSQL a failed
            // insert would otherwise abort the transaction.
            match diesel::insert_into(vmid_reservations::table).values(&row).execute(&mut self.conn) {
                Ok(_) => return Ok(vmid),
                Err(diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _)) => {}
                Err(e) => return Err(self.db_err(e)),
            }
        }
        Err(StateError::NoFreeVmid { address: address.to_string() })
    }

    /// Gives a reservation back (the guest exists now, or was not created). True if it existed.
    pub fn release_vmid(&mut self, cluster: &str, vmid: u32) -> Result<bool> {
        let n = diesel::delete(vmid_reservations::table.find((cluster, i64::from(vmid))))
            .execute(&mut self.conn)
            .map_err(|e| self.db_err(e))?;
        Ok(n > 0)
    }

    /// Whether this workspace holds any vmid reservation.
    pub fn has_own_reservations(&mut self) -> Result<bool> {
        let n: i64 = vmid_reservations::table
            .filter(vmid_reservations::workspace_id.eq(self.scope.workspace_id))
            .count()
            .get_result(&mut self.conn)
            .map_err(|e| self.db_err(e))?;
        Ok(n > 0)
    }

    /// Frees this workspace's reservations that no open intent names: a pmx killed between
    /// reserving a vmid and writing the intent for it leaves one. Only for a caller that holds
    /// the workspace lock (no apply of this workspace is running). Returns what it freed.
    pub fn release_orphan_reservations(&mut self) -> Result<Vec<(String, u32)>> {
        let named: HashSet<(String, u32)> =
            self.open_intents()?.into_iter().filter_map(|i| Some((i.cluster, i.vmid?))).collect();
        let own: Vec<(String, i64)> = vmid_reservations::table
            .filter(vmid_reservations::workspace_id.eq(self.scope.workspace_id))
            .select((vmid_reservations::cluster, vmid_reservations::vmid))
            .load(&mut self.conn)
            .map_err(|e| self.db_err(e))?;
        let mut freed = Vec::new();
        for (cluster, vmid) in own {
            let v = u32::try_from(vmid).unwrap_or_default();
            if !named.contains(&(cluster.clone(), v)) && self.release_vmid(&cluster, v)? {
                freed.push((cluster, v));
            }
        }
        Ok(freed)
    }

    /// Live reservations on a cluster, by vmid.
    pub fn vmid_reservations(&mut self, cluster: &str) -> Result<Vec<VmidReservation>> {
        let rows: Vec<ReservationRow> = vmid_reservations::table
            .filter(vmid_reservations::cluster.eq(cluster))
            .filter(vmid_reservations::expires_at.ge(now_millis()))
            .order(vmid_reservations::vmid.asc())
            .select(ReservationRow::as_select())
            .load(&mut self.conn)
            .map_err(|e| self.db_err(e))?;
        Ok(rows
            .into_iter()
            .map(|r| VmidReservation {
                cluster: r.cluster,
                vmid: u32::try_from(r.vmid).unwrap_or_default(),
                workspace_id: r.workspace_id,
                address: r.address,
                holder: r.holder,
                reserved_at: r.reserved_at,
                expires_at: r.expires_at,
            })
            .collect())
    }
}
