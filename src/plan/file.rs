//! The plan file: what `pmx plan --out FILE` saves and `pmx apply FILE` carries out.
//!
//! Layout: one JSON object `{"format": "pmx-plan", "version": 1, "pmx_version", "workspace",
//! "lineage", "sha256", "signature", "body"}` where `body` is the plan's JSON text. `sha256`
//! tells a truncated or corrupted file; `signature` (HMAC-SHA256 under the workspace's plan
//! key, which only the state store holds) tells a file edited by hand or made for another
//! state. Sensitive values inside are keyed hashes, never plaintext. Written 0600.

use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::Digest;

use super::Plan;

pub const FORMAT: &str = "pmx-plan";
pub const VERSION: u32 = 1;

#[derive(Debug, Serialize, Deserialize)]
struct Envelope {
    format: String,
    version: u32,
    pmx_version: String,
    workspace: String,
    lineage: String,
    sha256: String,
    signature: String,
    body: String,
}

/// Why a plan file is refused.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum PlanFileError {
    #[error("cannot read plan file {path}: {reason}")]
    Io { path: String, reason: String },
    #[error("{path} is not a pmx plan file (or it is truncated): {reason}")]
    NotAPlan { path: String, reason: String },
    #[error("{path} is a plan file of format version {found}; this pmx reads version {VERSION}")]
    Version { path: String, found: u32 },
    #[error("{path} was made by pmx {found}; this is pmx {ours}: make a new plan with this version")]
    PmxVersion { path: String, found: String, ours: String },
    #[error("{path} is corrupted: its content does not match its checksum")]
    Corrupted { path: String },
    #[error("{path} was made for workspace \"{found}\", not \"{ours}\"")]
    Workspace { path: String, found: String, ours: String },
    #[error("{path} was made for another state (lineage {found}, this state is {ours})")]
    Lineage { path: String, found: String, ours: String },
    #[error("{path} has been tampered with: its signature does not match this state's plan key")]
    Tampered { path: String },
}

fn sign(key: &[u8], body: &str) -> String {
    let k = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, key);
    hex::encode(ring::hmac::sign(&k, body.as_bytes()).as_ref())
}

/// Writes `plan` to `path`, readable by its owner only.
pub fn write(path: &Path, plan: &Plan, key: &[u8]) -> std::io::Result<()> {
    let body = serde_json::to_string(plan).map_err(std::io::Error::other)?;
    let env = Envelope {
        format: FORMAT.into(),
        version: VERSION,
        pmx_version: plan.pmx_version.clone(),
        workspace: plan.workspace.clone(),
        lineage: plan.lineage.clone(),
        sha256: hex::encode(sha2::Sha256::digest(body.as_bytes())),
        signature: sign(key, &body),
        body,
    };
    let text = serde_json::to_string(&env).map_err(std::io::Error::other)?;
    let tmp = path.with_extension("tmp-pmx");
    {
        use std::io::Write;
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let mut f = opts.open(&tmp)?;
        f.write_all(text.as_bytes())?;
        f.write_all(b"\n")?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)
}

/// What the file says about itself, before its key is known: workspace and lineage pick the
/// state to check it against.
pub struct Unverified {
    env: Envelope,
    path: String,
}

impl Unverified {
    pub fn workspace(&self) -> &str {
        &self.env.workspace
    }
}

/// Reads a plan file and checks what needs no key: format, version, checksum.
pub fn read(path: &Path) -> Result<Unverified, PlanFileError> {
    let shown = path.display().to_string();
    let text =
        std::fs::read_to_string(path).map_err(|e| PlanFileError::Io { path: shown.clone(), reason: e.to_string() })?;
    let env: Envelope = serde_json::from_str(&text)
        .map_err(|e| PlanFileError::NotAPlan { path: shown.clone(), reason: e.to_string() })?;
    if env.format != FORMAT {
        return Err(PlanFileError::NotAPlan { path: shown, reason: format!("format is \"{}\"", env.format) });
    }
    if env.version != VERSION {
        return Err(PlanFileError::Version { path: shown, found: env.version });
    }
    if hex::encode(sha2::Sha256::digest(env.body.as_bytes())) != env.sha256 {
        return Err(PlanFileError::Corrupted { path: shown });
    }
    Ok(Unverified { env, path: shown })
}

impl Unverified {
    /// Checks the file against the state it is applied to, and returns the plan.
    pub fn verify(self, workspace: &str, lineage: &str, key: &[u8]) -> Result<Plan, PlanFileError> {
        let Unverified { env, path } = self;
        if env.workspace != workspace {
            return Err(PlanFileError::Workspace { path, found: env.workspace, ours: workspace.into() });
        }
        if env.lineage != lineage {
            return Err(PlanFileError::Lineage { path, found: env.lineage, ours: lineage.into() });
        }
        let expected = sign(key, &env.body);
        if !constant_time_eq(expected.as_bytes(), env.signature.as_bytes()) {
            return Err(PlanFileError::Tampered { path });
        }
        let ours = env!("CARGO_PKG_VERSION");
        if env.pmx_version != ours {
            return Err(PlanFileError::PmxVersion { path, found: env.pmx_version, ours: ours.into() });
        }
        let plan: Plan = serde_json::from_str(&env.body)
            .map_err(|e| PlanFileError::NotAPlan { path: path.clone(), reason: e.to_string() })?;
        if plan.workspace != workspace || plan.lineage != lineage {
            return Err(PlanFileError::Tampered { path });
        }
        Ok(plan)
    }

    /// The plan without checking its signature: for `pmx show`, which only displays it.
    pub fn unchecked(self) -> Result<Plan, PlanFileError> {
        let path = self.path;
        serde_json::from_str(&self.env.body).map_err(|e| PlanFileError::NotAPlan { path, reason: e.to_string() })
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
