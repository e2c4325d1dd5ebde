//! Authentication as PVE does it: API tokens in `Authorization: PVEAPIToken=USER@REALM!ID=SECRET`,
//! or tickets from `/access/ticket` in the `PVEAuthCookie` cookie, with a `CSRFPreventionToken`
//! header on writes. Tickets expire after the configured lifetime.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, Method, StatusCode};
use base64::Engine;
use rand::RngCore;

use super::tasks::Starter;
use super::wire::ApiError;

pub struct Auth {
    pub token_user: String,
    pub token_name: String,
    token_secret: String,
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
    pub fn new(
        token_user: String,
        token_name: String,
        token_secret: String,
        password: String,
        lifetime: Duration,
    ) -> Self {
        Auth { token_user, token_name, token_secret, password, lifetime, tickets: Mutex::new(HashMap::new()) }
    }

    /// `POST /access/ticket`: a password, or a still-valid ticket (renewal).
    pub fn login(&self, username: &str, password: &str, realm: Option<&str>) -> Result<Issued, ApiError> {
        let user = match realm {
            Some(r) if !username.contains('@') => format!("{username}@{r}"),
            _ => username.to_string(),
        };
        let renewing = {
            let tickets = self.tickets.lock().unwrap_or_else(|e| e.into_inner());
            tickets.get(password).is_some_and(|t| t.user == user && t.issued.elapsed() < self.lifetime)
        };
        if !(renewing || (user == "root@pam" && password == self.password)) {
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

    /// Checks the request's credentials; returns who is calling.
    pub fn check(&self, method: &Method, headers: &HeaderMap) -> Result<Starter, ApiError> {
        if let Some(h) = headers.get(axum::http::header::AUTHORIZATION) {
            let value = h.to_str().unwrap_or("");
            let Some(token) = value.strip_prefix("PVEAPIToken=").or_else(|| value.strip_prefix("PVEAPIToken ")) else {
                return Err(unauthorized("authentication failure"));
            };
            return match parse_token(token.trim()) {
                Some((user, name, secret))
                    if user == self.token_user
                        && name == self.token_name
                        && constant_eq(&secret, &self.token_secret) =>
                {
                    Ok(Starter { user, tokenid: Some(name) })
                }
                _ => Err(unauthorized("invalid token value!")),
            };
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
        let auth = Auth::new("root@pam".into(), "pmx".into(), "s".into(), "pw".into(), Duration::from_millis(50));
        assert!(auth.login("root@pam", "wrong", None).is_err());
        let t = auth.login("root", "pw", Some("pam")).unwrap();
        let mut h = HeaderMap::new();
        h.insert("cookie", format!("PVEAuthCookie={}", t.ticket).parse().unwrap());
        assert!(auth.check(&Method::GET, &h).is_ok());
        assert!(auth.check(&Method::POST, &h).is_err(), "writes need the CSRF token");
        h.insert("CSRFPreventionToken", t.csrf.parse().unwrap());
        assert!(auth.check(&Method::POST, &h).is_ok());
        let renewed = auth.login("root@pam", &t.ticket, None).unwrap();
        std::thread::sleep(Duration::from_millis(60));
        assert_eq!(auth.check(&Method::GET, &h).unwrap_err().status, StatusCode::UNAUTHORIZED);
        assert!(auth.login("root@pam", &renewed.ticket, None).is_err());
    }
}
