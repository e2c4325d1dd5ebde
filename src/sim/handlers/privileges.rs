//! What only `root@pam` may do, and checks PVE makes on request values before anything else:
//! an API token is never root@pam, even `root@pam!pmx`, so these fail for tokens as they do on
//! a real cluster (the bpg provider documents each of them).

use axum::http::StatusCode;

use super::super::model::{Guest, GuestKind};
use super::super::params::Params;
use super::super::wire::ApiError;
use super::Ctx;

pub fn is_root(ctx: &Ctx) -> bool {
    ctx.who.as_ref().is_some_and(|w| w.user == "root@pam" && w.tokenid.is_none())
}

fn forbidden(message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::FORBIDDEN, message)
}

/// Checks a create or config update of a guest (`existing` for an update).
pub fn check_guest_write(
    ctx: &Ctx,
    kind: GuestKind,
    params: &Params,
    existing: Option<&Guest>,
) -> Result<(), ApiError> {
    if let Some(keys) = params.get("sshkeys") {
        validate_ssh_keys(keys)?;
    }
    if let Some(keys) = params.get("ssh-public-keys") {
        validate_ssh_keys(keys)?;
    }
    if is_root(ctx) {
        return Ok(());
    }
    for (key, value) in params {
        let base = key.trim_end_matches(|c: char| c.is_ascii_digit());
        match (kind, base) {
            (GuestKind::Qemu, "args") => return Err(ApiError::server(format!("only root can set '{key}' config"))),
            (GuestKind::Qemu, "hostpci") if !value.starts_with("mapping=") => {
                return Err(ApiError::server(format!("only root can set '{key}' config for non-mapped devices")));
            }
            (GuestKind::Qemu, "ide" | "sata" | "scsi" | "virtio") | (GuestKind::Lxc, "mp" | "rootfs") => {
                let file = value.split(',').next().unwrap_or("");
                let file = file.strip_prefix("file=").or_else(|| file.strip_prefix("volume=")).unwrap_or(file);
                if file.starts_with('/') {
                    return Err(forbidden("Only root can pass arbitrary filesystem paths."));
                }
            }
            (GuestKind::Lxc, "features") => {
                // On create `unprivileged` defaults to 1 (PVE 9); an existing CT has what it has.
                let unprivileged = match existing {
                    Some(g) => g.config.get("unprivileged").map(String::as_str).unwrap_or("0"),
                    None => params.get("unprivileged").map(String::as_str).unwrap_or("1"),
                };
                let unprivileged =
                    if super::super::params::parse_bool(unprivileged) == Some(false) { "0" } else { "1" };
                // pve-container's check_ct_modify_config_perm: a token may only turn nesting on
                // or off, and only on an unprivileged container.
                let only_nesting =
                    value.split(',').all(|f| f.is_empty() || f.split_once('=').is_some_and(|(k, _)| k == "nesting"));
                if unprivileged != "1" {
                    return Err(forbidden(
                        "changing feature flags for privileged container is only allowed for root@pam",
                    ));
                }
                if !only_nesting {
                    return Err(forbidden("changing feature flags (except nesting) is only allowed for root@pam"));
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// PVE's validate_ssh_public_keys (after URL-decoding `sshkeys`): every non-empty line must be a
/// public key `ssh-keygen -l` accepts.
fn validate_ssh_keys(encoded: &str) -> Result<(), ApiError> {
    let text = percent_encoding::percent_decode_str(encoded).decode_utf8_lossy().into_owned();
    const TYPES: &[&str] = &[
        "ssh-ed25519",
        "ssh-rsa",
        "ssh-dss",
        "ecdsa-sha2-nistp256",
        "ecdsa-sha2-nistp384",
        "ecdsa-sha2-nistp521",
        "sk-ssh-ed25519@openssh.com",
        "sk-ecdsa-sha2-nistp256@openssh.com",
    ];
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')) {
        let words: Vec<&str> = line.split_whitespace().collect();
        // An authorized_keys line may start with options: find the key type.
        let ok = words.iter().position(|w| TYPES.contains(w)).is_some_and(|i| {
            words.get(i + 1).is_some_and(|b64| {
                use base64::Engine;
                base64::engine::general_purpose::STANDARD.decode(b64).is_ok_and(|bytes| bytes.len() > 16)
            })
        });
        if !ok {
            return Err(ApiError::server("SSH public key validation error"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::validate_ssh_keys;

    #[test]
    fn ssh_keys_are_checked_like_ssh_keygen() {
        let key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl deploy@example";
        assert!(validate_ssh_keys(key).is_ok());
        assert!(validate_ssh_keys(&key.replace(' ', "%20")).is_ok(), "URL-encoded, as PVE receives them");
        assert!(validate_ssh_keys("not a key").is_err());
        assert!(validate_ssh_keys("ssh-ed25519 !!!notbase64").is_err());
    }
}
