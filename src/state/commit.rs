//! Writing changes: each change writes its resource row, a snapshot and an event, and a batch
//! of changes (one apply's worth) commits in one transaction with one serial bump.

use std::collections::{HashMap, HashSet};

use diesel::prelude::*;

use super::conn::{on_backend, AnyConnection};
use super::error::{Result, StateError};
use super::model::*;
use super::rows::*;
use super::schema::*;
use super::store::{Store, TxError};
use crate::addr::ResourceAddress;

/// Rows per multi-row INSERT: well under SQLite's and PostgreSQL's bind-parameter limits.
const INSERT_CHUNK: usize = 1000;

/// Batches at most this size check addresses one by one instead of loading all of them.
const SMALL_BATCH: usize = 64;

impl Store {
    /// Commits a batch of changes atomically: resource rows, one snapshot and one event per
    /// change, and one serial bump. Refuses (and writes nothing) when a change does not fit the
    /// state: creating what exists, updating or deleting what does not, an address twice.
    pub fn commit_changes(&mut self, run: Option<i64>, changes: Vec<Change>) -> Result<CommitOutcome> {
        if changes.is_empty() {
            let serial = self.meta()?.serial;
            return Ok(CommitOutcome { serial, counts: ChangeCounts::default() });
        }
        let outcome = self.transaction(|c, scope| commit_in(c, scope, run, &changes))?;
        tracing::debug!(serial = outcome.serial, changes = outcome.counts.total(), "state committed");
        Ok(outcome)
    }

    /// Renames a resource in state (`pmx state mv`): a "moved" snapshot under each address and
    /// one StateEditedByHand event, in one transaction. The target must not exist.
    pub fn move_resource(&mut self, run: Option<i64>, from: &ResourceAddress, to: &ResourceAddress) -> Result<i64> {
        if from == to {
            return Err(StateError::InvalidChange(format!("cannot move {from} onto itself")));
        }
        let current = self.require(from)?;
        self.transaction(|c, scope| {
            let (from_text, to_text) = (from.to_string(), to.to_string());
            if exists(c, scope, &to_text)? {
                return Err(StateError::AlreadyExists { address: to_text, workspace: scope.workspace.clone() }.into());
            }
            let serial = bump_serial(c, scope)?;
            let now = now_millis();
            let attributes = serde_json::to_string(&current.attributes).map_err(invalid)?;
            diesel::delete(resources::table.find((scope.workspace_id, &from_text))).execute(c)?;
            let row = ResourceRow {
                workspace_id: scope.workspace_id,
                address: to_text.clone(),
                kind: current.kind.as_str().to_string(),
                node: current.identity.node.clone(),
                vmid: current.identity.vmid.map(i64::from),
                fingerprint: current.identity.fingerprint.clone(),
                digest: current.digest.clone(),
                status: current.status.clone(),
                serial,
                created_at: current.created_at,
                updated_at: now,
                cluster: current.cluster.clone(),
                // An origin the old address implied follows the new one (`pmx state mv
                // vm.discovered[100] vm.web` adopts the guest); one set explicitly stays.
                origin: if current.origin == Origin::for_address(from) {
                    Origin::for_address(to).as_str().to_string()
                } else {
                    current.origin.as_str().to_string()
                },
            };
            diesel::insert_into(resources::table).values(&row).execute(c)?;
            let mut gone = snapshot_row(scope, &row, run, ChangeType::Moved, None, now);
            gone.address = from_text.clone();
            let moved = snapshot_row(scope, &row, run, ChangeType::Moved, Some(attributes), now);
            let both = vec![gone, moved];
            on_backend!(c, |b| diesel::insert_into(snapshots::table).values(&both).execute(b))?;
            let payload = serde_json::json!({"op": "mv", "from": from_text, "to": to_text});
            let event =
                event_row(scope, run, EventKind::StateEditedByHand, Some(to_text), Some(serial), Some(payload), now);
            diesel::insert_into(events::table).values(&event).execute(c)?;
            Ok(serial)
        })
    }
}

fn invalid(e: serde_json::Error) -> TxError {
    TxError::State(StateError::InvalidChange(format!("attributes do not serialise to JSON: {e}")))
}

pub(crate) fn bump_serial(c: &mut AnyConnection, scope: &Scope) -> QueryResult<i64> {
    // The first statement writes, so SQLite takes its write lock now rather than failing to
    // upgrade a read lock later.
    diesel::update(workspaces::table.find(scope.workspace_id))
        .set(workspaces::serial.eq(workspaces::serial + 1))
        .returning(workspaces::serial)
        .get_result(c)
}

fn exists(c: &mut AnyConnection, scope: &Scope, address: &str) -> QueryResult<bool> {
    Ok(resources::table
        .find((scope.workspace_id, address))
        .select(resources::address)
        .first::<String>(c)
        .optional()?
        .is_some())
}

/// Addresses of the batch already in state, with when each was first created.
fn existing_addresses(c: &mut AnyConnection, scope: &Scope, changes: &[Change]) -> QueryResult<HashMap<String, i64>> {
    if changes.len() <= SMALL_BATCH {
        let mut out = HashMap::new();
        for ch in changes {
            let a = ch.address.to_string();
            let found: Option<i64> =
                resources::table.find((scope.workspace_id, &a)).select(resources::created_at).first(c).optional()?;
            if let Some(created_at) = found {
                out.insert(a, created_at);
            }
        }
        return Ok(out);
    }
    let all: Vec<(String, i64)> = resources::table
        .filter(resources::workspace_id.eq(scope.workspace_id))
        .select((resources::address, resources::created_at))
        .load(c)?;
    Ok(all.into_iter().collect())
}

/// Deletes resource rows by address, a chunk per statement (one row per statement would be a
/// network round trip each on PostgreSQL). The placeholder syntax is the one thing that differs.
fn delete_addresses(c: &mut AnyConnection, workspace_id: i64, addresses: &[String]) -> QueryResult<()> {
    use diesel::sql_types::{BigInt, Text};
    let postgres = matches!(c, AnyConnection::Postgresql(_));
    for chunk in addresses.chunks(INSERT_CHUNK) {
        let placeholders: Vec<String> =
            (0..chunk.len()).map(|i| if postgres { format!("${}", i + 2) } else { "?".to_string() }).collect();
        let first = if postgres { "$1" } else { "?" };
        let sql =
            format!("DELETE FROM resources WHERE workspace_id = {first} AND address IN ({})", placeholders.join(", "));
        on_backend!(&mut *c, |b| {
            let mut q = diesel::sql_query(&sql).into_boxed().bind::<BigInt, _>(workspace_id);
            for a in chunk {
                q = q.bind::<Text, _>(a);
            }
            q.execute(b)
        })?;
    }
    Ok(())
}

/// A vmid names one guest per cluster: refuses a batch in which two addresses, or an address
/// and one already in state (and not rewritten by this batch), claim the same (cluster, vmid).
/// The unique index would refuse it too; this says which address holds it.
fn check_vmid_claims(
    c: &mut AnyConnection,
    scope: &Scope,
    inserts: &[ResourceRow],
    updates: &[ResourceRow],
    batch: &HashSet<String>,
) -> Result<(), TxError> {
    let mut claims: HashMap<(&str, i64), &str> = HashMap::new();
    for row in inserts.iter().chain(updates) {
        let (Some(cluster), Some(vmid)) = (row.cluster.as_deref(), row.vmid) else { continue };
        if let Some(other) = claims.insert((cluster, vmid), &row.address) {
            return Err(StateError::InvalidChange(format!(
                "{} and {other} both claim vmid {vmid} on cluster {cluster}",
                row.address
            ))
            .into());
        }
    }
    if claims.is_empty() {
        return Ok(());
    }
    let holders: Vec<(String, Option<String>, Option<i64>)> = if claims.len() <= SMALL_BATCH {
        let mut out = Vec::new();
        for (cluster, vmid) in claims.keys() {
            out.extend(
                resources::table
                    .filter(resources::workspace_id.eq(scope.workspace_id))
                    .filter(resources::cluster.eq(*cluster))
                    .filter(resources::vmid.eq(*vmid))
                    .select((resources::address, resources::cluster, resources::vmid))
                    .load::<(String, Option<String>, Option<i64>)>(c)?,
            );
        }
        out
    } else {
        resources::table
            .filter(resources::workspace_id.eq(scope.workspace_id))
            .filter(resources::cluster.is_not_null())
            .filter(resources::vmid.is_not_null())
            .select((resources::address, resources::cluster, resources::vmid))
            .load(c)?
    };
    for (holder, cluster, vmid) in holders {
        let (Some(cluster), Some(vmid)) = (cluster, vmid) else { continue };
        if batch.contains(&holder) {
            continue; // rewritten or removed by this very batch
        }
        if let Some(address) = claims.get(&(cluster.as_str(), vmid)) {
            return Err(StateError::InvalidChange(format!(
                "{address}: vmid {vmid} on cluster {cluster} is already in state as {holder} \
                 (remove or move {holder} in the same commit to hand the guest over)"
            ))
            .into());
        }
    }
    Ok(())
}

fn commit_in(
    c: &mut AnyConnection,
    scope: &Scope,
    run: Option<i64>,
    changes: &[Change],
) -> Result<CommitOutcome, TxError> {
    let serial = bump_serial(c, scope)?;
    let now = now_millis();
    let existing = existing_addresses(c, scope, changes)?;
    let mut seen = HashSet::with_capacity(changes.len());
    let mut counts = ChangeCounts::default();
    let (mut inserts, mut updates, mut removals) = (Vec::new(), Vec::new(), Vec::new());
    let mut snaps = Vec::with_capacity(changes.len());
    let mut evs = Vec::with_capacity(changes.len());

    for ch in changes {
        let address = ch.address.to_string();
        if !seen.insert(address.clone()) {
            return Err(StateError::InvalidChange(format!("{address} appears twice in one commit")).into());
        }
        let present = existing.contains_key(&address);
        match ch.change {
            ChangeType::Created | ChangeType::Imported if present => {
                return Err(StateError::AlreadyExists { address, workspace: scope.workspace.clone() }.into());
            }
            ChangeType::Updated | ChangeType::Replaced | ChangeType::Deleted | ChangeType::Forgotten if !present => {
                return Err(StateError::NotFound { address, workspace: scope.workspace.clone(), help: None }.into());
            }
            ChangeType::Moved => {
                return Err(StateError::InvalidChange(format!("{address}: use move_resource to move")).into());
            }
            _ => {}
        }
        counts.add(ch.change);
        let row = ResourceRow {
            workspace_id: scope.workspace_id,
            address: address.clone(),
            kind: ch.kind.as_str().to_string(),
            node: ch.identity.node.clone(),
            vmid: ch.identity.vmid.map(i64::from),
            fingerprint: ch.identity.fingerprint.clone(),
            digest: ch.digest.clone(),
            status: ch.status.clone(),
            serial,
            created_at: existing.get(&address).copied().unwrap_or(now),
            updated_at: now,
            cluster: ch.cluster.clone(),
            origin: ch.origin.as_str().to_string(),
        };
        let attributes =
            if ch.change.removes() { None } else { Some(serde_json::to_string(&ch.attributes).map_err(invalid)?) };
        snaps.push(snapshot_row(scope, &row, run, ch.change, attributes, now));
        let payload = match ch.change {
            ChangeType::Forgotten => Some(ch.payload.clone().unwrap_or_else(|| serde_json::json!({"op": "rm"}))),
            _ => ch.payload.clone(),
        };
        evs.push(event_row(scope, run, ch.change.event_kind(), Some(address.clone()), Some(serial), payload, now));
        if ch.change.removes() {
            removals.push(address);
        } else if present {
            updates.push(row);
        } else {
            inserts.push(row);
        }
    }

    check_vmid_claims(c, scope, &inserts, &updates, &seen)?;

    // An update is a delete and a re-insert of the row (created_at kept): two statements per
    // thousand rows instead of one per row.
    removals.extend(updates.iter().map(|r: &ResourceRow| r.address.clone()));
    delete_addresses(c, scope.workspace_id, &removals)?;
    inserts.extend(updates);
    for chunk in inserts.chunks(INSERT_CHUNK) {
        on_backend!(&mut *c, |b| diesel::insert_into(resources::table).values(chunk).execute(b))?;
    }
    for chunk in snaps.chunks(INSERT_CHUNK) {
        on_backend!(&mut *c, |b| diesel::insert_into(snapshots::table).values(chunk).execute(b))?;
    }
    for chunk in evs.chunks(INSERT_CHUNK) {
        on_backend!(&mut *c, |b| diesel::insert_into(events::table).values(chunk).execute(b))?;
    }
    Ok(CommitOutcome { serial, counts })
}
