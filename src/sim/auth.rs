//! Authentication as PVE does it: API tokens in `Authorization: PVEAPIToken=USER@REALM!ID=SECRET`,
//! or tickets from `/access/ticket` in the `PVEAuthCookie` cookie, with a `CSRFPreventionToken`
//! header on writes. Tickets expire after the configured lifetime.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, Method, StatusCode};
use base64::Engine;
use rand::RngCore;

use super::access::Access;
use super::tasks::Starter;
use super::wire::ApiError;

pub struct Auth {
    /// root@pam's password.
    password: String,
    lifetime: Duration,
    tickets: Mutex<HashMap<String, TicketInfo>>,
}

struct TicketInfo {
    user: String,
    csrf: String,
    issued: Instant,
}

/// A freshly issued ticket.
pub struct Issued {
    pub ticket: String,
    pub csrf: String,
    pub user: String,
}

/// Splits `USER@REALM!TOKENID=SECRET`.
pub fn parse_token(s: &str) -> Option<(String, String, String)> {
    let (id, secret) = s.split_once('=')?;
    let (user, name) = id.split_once('!')?;
    if !user.contains('@') || name.is_empty() || secret.is_empty() {
        return None;
    }
    Some((user.to_string(), name.to_string(), secret.to_string()))
}

fn random_b64(n: usize) -> String {
    let mut bytes = vec![0u8; n];
    rand::thread_rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::STANDARD_NO_PAD.encode(bytes)
}

fn unauthorized(msg: &str) -> ApiError {
    ApiError::new(StatusCode::UNAUTHORIZED, msg)
}

impl Auth {
    pub fn new(password: String, lifetime: Duration) -> Self {
        Auth { password, lifetime, tickets: Mutex::new(HashMap::new()) }
    }

    /// `POST /access/ticket`: a password, or a still-valid ticket (renewal). Users other than
    /// root@pam log in with the password the cluster file gives them.
    pub fn login(
        &self,
        username: &str,
        password: &str,
        realm: Option<&str>,
        access: &Access,
    ) -> Result<Issued, ApiError> {
        let user = match realm {
            Some(r) if !username.contains('@') => format!("{username}@{r}"),
            _ => username.to_string(),
        };
        let renewing = {
            let tickets = self.tickets.lock().unwrap_or_else(|e| e.into_inner());
            tickets.get(password).is_some_and(|t| t.user == user && t.issued.elapsed() < self.lifetime)
        };
        let password_ok = if user == "root@pam" {
            constant_eq(password, &self.password)
        } else {
            access.users.get(&user).and_then(|u| u.password.as_deref()).is_some_and(|p| constant_eq(password, p))
        };
        let enabled = user == "root@pam" || user_enabled(access, &user).is_ok();
        if !((renewing || password_ok) && enabled) {
            return Err(unauthorized("authentication failure"));
        }
        let hex_time = format!("{:08X}", super::model::now());
        let ticket = format!("PVE:{user}:{hex_time}::{}", random_b64(64));
        let csrf = format!("{hex_time}:{}", random_b64(32));
        self.tickets
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(ticket.clone(), TicketInfo { user: user.clone(), csrf: csrf.clone(), issued: Instant::now() });
        Ok(Issued { ticket, csrf, user })
    }

    /// Checks the request's credentials against `access` (pve-access-control's `verify_token`
    /// and `verify_ticket`); returns who is calling.
    pub fn check(&self, method: &Method, headers: &HeaderMap, access: &Access) -> Result<Starter, ApiError> {
        if let Some(h) = headers.get(axum::http::header::AUTHORIZATION) {
            let value = h.to_str().unwrap_or("");
            let Some(token) = value.strip_prefix("PVEAPIToken=").or_else(|| value.strip_prefix("PVEAPIToken ")) else {
                return Err(unauthorized("authentication failure"));
            };
            let Some((user, name, secret)) = parse_token(token.trim()) else {
                return Err(unauthorized("invalid token value!"));
            };
            user_enabled(access, &user).map_err(|m| unauthorized(&m))?;
            let Some(t) = access.users.get(&user).and_then(|u| u.tokens.get(&name)) else {
                return Err(unauthorized(&format!("no such token '{name}' for user '{user}'")));
            };
            if t.expire != 0 && t.expire < super::model::now() {
                return Err(unauthorized(&format!("token '{name}' access expired")));
            }
            if !constant_eq(&secret, &t.secret) {
                return Err(unauthorized("invalid token value!"));
            }
            return Ok(Starter { user, tokenid: Some(name) });
        }
        let Some(ticket) = cookie(headers, "PVEAuthCookie") else {
            return Err(unauthorized("No ticket"));
        };
        let tickets = self.tickets.lock().unwrap_or_else(|e| e.into_inner());
        let info = match tickets.get(&ticket) {
            Some(info) if info.issued.elapsed() < self.lifetime => info,
            _ => return Err(unauthorized("permission denied - invalid PVE ticket")),
        };
        if method != Method::GET && method != Method::HEAD {
            let csrf = headers.get("CSRFPreventionToken").and_then(|v| v.to_str().ok()).unwrap_or("");
            if csrf != info.csrf {
                return Err(unauthorized("Permission denied - invalid csrf token"));
            }
        }
        Ok(Starter { user: info.user.clone(), tokenid: None })
    }
}

/// pve-access-control's `check_user_enabled`.
fn user_enabled(access: &Access, user: &str) -> Result<(), String> {
    let Some(u) = access.users.get(user) else {
        return Err(format!("no such user ('{user}')"));
    };
    if !u.enable {
        return Err(format!("user '{user}' is disabled"));
    }
    if u.expire != 0 && u.expire < super::model::now() {
        return Err("account expired".into());
    }
    Ok(())
}

fn constant_eq(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A cookie's value (percent-decoded, as browsers and clients may encode `:` and `=`).
fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    for h in headers.get_all(axum::http::header::COOKIE) {
        let Ok(s) = h.to_str() else { continue };
        for part in s.split(';') {
            if let Some((k, v)) = part.trim().split_once('=') {
                if k == name {
                    return Some(percent_encoding::percent_decode_str(v).decode_utf8_lossy().into_owned());
                }
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_parse() {
        assert_eq!(parse_token("root@pam!pmx=abc"), Some(("root@pam".into(), "pmx".into(), "abc".into())));
        assert_eq!(parse_token("root!pmx=abc"), None);
        assert_eq!(parse_token("root@pam!pmx="), None);
    }

    #[test]
    fn tickets_expire_and_renew() {
        let auth = Auth::new("pw".into(), Duration::from_millis(50));
        let access = Access::default();
        assert!(auth.login("root@pam", "wrong", None, &access).is_err());
        let t = auth.login("root", "pw", Some("pam"), &access).unwrap();
        let mut h = HeaderMap::new();
        h.insert("cookie", format!("PVEAuthCookie={}", t.ticket).parse().unwrap());
        assert!(auth.check(&Method::GET, &h, &access).is_ok());
        assert!(auth.check(&Method::POST, &h, &access).is_err(), "writes need the CSRF token");
        h.insert("CSRFPreventionToken", t.csrf.parse().unwrap());
        assert!(auth.check(&Method::POST, &h, &access).is_ok());
        let renewed = auth.login("root@pam", &t.ticket, None, &access).unwrap();
        std::thread::sleep(Duration::from_millis(60));
        assert_eq!(auth.check(&Method::GET, &h, &access).unwrap_err().status, StatusCode::UNAUTHORIZED);
        assert!(auth.login("root@pam", &renewed.ticket, None, &access).is_err());
    }
}
