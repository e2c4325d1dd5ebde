//! Client settings: the provider block's fields with environment fallback (`PMX_*`), checked
//! and normalised into a `ClientConfig`. Secrets are wrapped in `Secret`, whose Debug and
//! Display print `<redacted>`.

use super::error::Error;
use super::lenient::parse_bool;
use super::retry::RetryPolicy;
use crate::config::value::Value;
use indexmap::IndexMap;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

/// A secret value (API token secret, password, ticket). Never printed.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }
    /// The value itself, for the one place that must send it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl From<&str> for Secret {
    fn from(s: &str) -> Self {
        Secret(s.to_string())
    }
}

impl From<String> for Secret {
    fn from(s: String) -> Self {
        Secret(s)
    }
}

/// The provider block as written (every field optional); `with_env` fills the gaps.
#[derive(Debug, Clone, Default)]
pub struct ProviderSettings {
    pub endpoint: Option<String>,
    pub token_id: Option<String>,
    pub token_secret: Option<Secret>,
    pub username: Option<String>,
    pub password: Option<Secret>,
    pub fingerprint: Option<String>,
    pub ca_file: Option<PathBuf>,
    pub insecure: Option<bool>,
}

impl ProviderSettings {
    /// Reads an evaluated `provider "proxmox" { ... }` block. Values may be sensitive (their
    /// mark is dropped here: `Secret` keeps them from being shown); they must be known.
    pub fn from_block(attrs: &IndexMap<String, Value>) -> Result<Self, Error> {
        let mut s = ProviderSettings::default();
        for (key, value) in attrs {
            let (value, _) = value.clone().unmark();
            if value == Value::Null {
                continue;
            }
            if !value.is_wholly_known() {
                return Err(Error::Config(format!("provider attribute {key} must be known before apply")));
            }
            let text = || match &value {
                Value::String(t) => Ok(t.clone()),
                other => Err(Error::Config(format!(
                    "provider attribute {key} must be a string, not a {}",
                    other.type_name()
                ))),
            };
            match key.as_str() {
                "endpoint" => s.endpoint = Some(text()?),
                "token_id" => s.token_id = Some(text()?),
                "token_secret" => s.token_secret = Some(Secret(text()?)),
                "username" => s.username = Some(text()?),
                "password" => s.password = Some(Secret(text()?)),
                "fingerprint" => s.fingerprint = Some(text()?),
                "ca_file" => s.ca_file = Some(PathBuf::from(text()?)),
                "insecure" => match value {
                    Value::Bool(b) => s.insecure = Some(b),
                    ref other => {
                        return Err(Error::Config(format!(
                            "provider attribute insecure must be a bool, not a {}",
                            other.type_name()
                        )))
                    }
                },
                other => return Err(Error::Config(format!("unknown provider attribute {other:?}"))),
            }
        }
        Ok(s)
    }

    /// Fills unset fields from the process environment (`PMX_ENDPOINT`, ...).
    pub fn with_env(self) -> Result<Self, Error> {
        self.with_env_from(|k| std::env::var(k).ok())
    }

    /// Fills unset fields from `get` (the environment, or a map in tests). Set fields win.
    pub fn with_env_from(self, get: impl Fn(&str) -> Option<String>) -> Result<Self, Error> {
        let get = |k: &str| get(k).filter(|v| !v.is_empty());
        let insecure = match self.insecure {
            Some(b) => Some(b),
            None => match get("PMX_INSECURE") {
                None => None,
                Some(v) => Some(
                    parse_bool(&v)
                        .ok_or_else(|| Error::Config(format!("PMX_INSECURE={v:?} is not a boolean (use 1 or 0)")))?,
                ),
            },
        };
        Ok(ProviderSettings {
            endpoint: self.endpoint.or_else(|| get("PMX_ENDPOINT")),
            token_id: self.token_id.or_else(|| get("PMX_TOKEN_ID")),
            token_secret: self.token_secret.or_else(|| get("PMX_TOKEN_SECRET").map(Secret)),
            username: self.username.or_else(|| get("PMX_USERNAME")),
            password: self.password.or_else(|| get("PMX_PASSWORD").map(Secret)),
            fingerprint: self.fingerprint.or_else(|| get("PMX_FINGERPRINT")),
            ca_file: self.ca_file.or_else(|| get("PMX_CA_FILE").map(PathBuf::from)),
            insecure,
        })
    }
}

/// How the client proves who it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credentials {
    /// `USER@REALM!TOKENID` and its secret: `Authorization: PVEAPIToken=...`.
    Token { token_id: String, secret: Secret },
    /// `USER@REALM` and password: a ticket from `POST /access/ticket`.
    Password { username: String, password: Secret },
}

impl Credentials {
    /// The secrets to scrub from any text the client produces.
    pub fn secrets(&self) -> Vec<&str> {
        match self {
            Credentials::Token { secret, .. } => vec![secret.expose()],
            Credentials::Password { password, .. } => vec![password.expose()],
        }
    }
}

/// How the server's certificate is checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TlsMode {
    /// Verified against the public roots, plus `ca_file` when given.
    Verified { ca_file: Option<PathBuf> },
    /// Accept exactly the certificate whose SHA-256 (of the DER) is this.
    Pinned(Fingerprint),
    /// No verification at all (asked for with `insecure = true`).
    Insecure,
}

/// A SHA-256 certificate fingerprint.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Fingerprint(pub [u8; 32]);

impl Fingerprint {
    /// Accepts `AB:CD:...` (as PVE shows it) or plain hex, any case.
    pub fn parse(s: &str) -> Result<Self, Error> {
        let hex_str: String = s.trim().chars().filter(|c| *c != ':').collect();
        let bytes = hex::decode(&hex_str).map_err(|_| {
            Error::Config(format!("fingerprint {s:?} is not a SHA-256 fingerprint (64 hex digits, AB:CD:... or plain)"))
        })?;
        let arr: [u8; 32] = bytes.try_into().map_err(|b: Vec<u8>| {
            Error::Config(format!("fingerprint {s:?} has {} bytes; a SHA-256 fingerprint has 32", b.len()))
        })?;
        Ok(Fingerprint(arr))
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self.0.iter().map(|b| format!("{b:02X}")).collect();
        f.write_str(&parts.join(":"))
    }
}

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Fingerprint({self})")
    }
}

/// Everything the client needs, checked.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// `https://host:8006` (no trailing slash, no `/api2/json`).
    pub endpoint: String,
    pub credentials: Credentials,
    pub tls: TlsMode,
    /// Per HTTP request.
    pub request_timeout: Duration,
    pub connect_timeout: Duration,
    pub retry: RetryPolicy,
    /// Requests in flight per node (`/nodes/{node}/...`); others share one extra limit.
    pub per_node_concurrency: usize,
    /// Tickets last 2 h on PVE; renew them before that.
    pub ticket_renew_after: Duration,
}

impl ClientConfig {
    /// Checks the settings: an endpoint, one complete set of credentials, a valid TLS choice.
    pub fn from_settings(s: ProviderSettings) -> Result<Self, Error> {
        let endpoint = normalize_endpoint(s.endpoint.as_deref().ok_or_else(|| {
            Error::Config("no endpoint: set endpoint (or PMX_ENDPOINT), e.g. https://pve1:8006".into())
        })?)?;
        let credentials = match (s.token_id, s.token_secret, s.username, s.password) {
            (Some(token_id), Some(secret), _, _) => {
                if let Err(why) = super::token_id::TokenId::parse(&token_id) {
                    return Err(Error::Config(format!(
                        "token_id {token_id:?} must look like USER@REALM!TOKENID (e.g. root@pam!pmx): {why}"
                    )));
                }
                Credentials::Token { token_id, secret }
            }
            (Some(_), None, _, _) => {
                return Err(Error::Config("token_id is set but token_secret (PMX_TOKEN_SECRET) is not".into()))
            }
            (None, Some(_), _, _) => {
                return Err(Error::Config("token_secret is set but token_id (PMX_TOKEN_ID) is not".into()))
            }
            (None, None, Some(username), Some(password)) => {
                if !username.contains('@') {
                    return Err(Error::Config(format!("username {username:?} needs a realm, e.g. root@pam")));
                }
                Credentials::Password { username, password }
            }
            (None, None, Some(_), None) => {
                return Err(Error::Config("username is set but password (PMX_PASSWORD) is not".into()))
            }
            (None, None, None, _) => {
                return Err(Error::Config(
                    "no credentials: set token_id and token_secret (PMX_TOKEN_ID, PMX_TOKEN_SECRET), \
                     or username and password (PMX_USERNAME, PMX_PASSWORD)"
                        .into(),
                ))
            }
        };
        let tls = if let Some(fp) = s.fingerprint.as_deref() {
            TlsMode::Pinned(Fingerprint::parse(fp)?)
        } else if s.insecure == Some(true) {
            TlsMode::Insecure
        } else {
            TlsMode::Verified { ca_file: s.ca_file }
        };
        Ok(ClientConfig {
            endpoint,
            credentials,
            tls,
            request_timeout: Duration::from_secs(60),
            connect_timeout: Duration::from_secs(10),
            retry: RetryPolicy::default(),
            per_node_concurrency: 16,
            ticket_renew_after: Duration::from_secs(105 * 60),
        })
    }

    /// Shorthand for settings taken from the environment only.
    pub fn from_env() -> Result<Self, Error> {
        Self::from_settings(ProviderSettings::default().with_env()?)
    }
}

/// `pve1` → `https://pve1:8006`; `https://pve1:8006/api2/json/` → `https://pve1:8006`.
/// Refuses credentials in the URL (they would leak into logs and errors).
pub fn normalize_endpoint(raw: &str) -> Result<String, Error> {
    let raw = raw.trim();
    let with_scheme = if raw.contains("://") { raw.to_string() } else { format!("https://{raw}") };
    let mut url = reqwest::Url::parse(&with_scheme)
        .map_err(|e| Error::Config(format!("endpoint {:?} is not a URL: {e}", strip_userinfo(raw))))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(Error::Config(format!(
            "endpoint {:?} contains credentials; use token_id/token_secret or username/password instead",
            strip_userinfo(raw)
        )));
    }
    if !matches!(url.scheme(), "https" | "http") {
        return Err(Error::Config(format!("endpoint {raw:?}: scheme must be https (or http)")));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(Error::Config(format!("endpoint {raw:?} has no host")));
    }
    if !raw.contains("://") && url.port().is_none() {
        let _ = url.set_port(Some(8006));
    }
    let path = url.path().trim_end_matches('/');
    let path = path.strip_suffix("/api2/json").unwrap_or(path).to_string();
    url.set_path(&path);
    url.set_query(None);
    url.set_fragment(None);
    Ok(url.as_str().trim_end_matches('/').to_string())
}

fn strip_userinfo(raw: &str) -> String {
    match (raw.find("://"), raw.rfind('@')) {
        (Some(s), Some(at)) if at > s => format!("{}<redacted>@{}", &raw[..s + 3], &raw[at + 1..]),
        (None, Some(at)) => format!("<redacted>@{}", &raw[at + 1..]),
        _ => raw.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let m: HashMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        move |k| m.get(k).cloned()
    }

    #[test]
    fn provider_values_win_over_env() {
        let s = ProviderSettings { endpoint: Some("pve1".into()), ..Default::default() }
            .with_env_from(env(&[
                ("PMX_ENDPOINT", "https://other:8006"),
                ("PMX_TOKEN_ID", "root@pam!pmx"),
                ("PMX_TOKEN_SECRET", "abcd-secret"),
                ("PMX_INSECURE", "1"),
            ]))
            .unwrap();
        let c = ClientConfig::from_settings(s).unwrap();
        assert_eq!(c.endpoint, "https://pve1:8006");
        assert_eq!(c.tls, TlsMode::Insecure);
        assert!(matches!(c.credentials, Credentials::Token { ref token_id, .. } if token_id == "root@pam!pmx"));
        assert!(!format!("{c:?}").contains("abcd-secret"));
    }

    #[test]
    fn endpoints_normalised() {
        assert_eq!(normalize_endpoint("pve1").unwrap(), "https://pve1:8006");
        assert_eq!(normalize_endpoint("10.0.0.1:8007").unwrap(), "https://10.0.0.1:8007");
        assert_eq!(normalize_endpoint("https://pve1:8006/api2/json/").unwrap(), "https://pve1:8006");
        assert_eq!(normalize_endpoint("http://127.0.0.1:1234").unwrap(), "http://127.0.0.1:1234");
        let e = normalize_endpoint("https://root:hunter22@pve1:8006").unwrap_err().to_string();
        assert!(!e.contains("hunter22"), "{e}");
        assert!(normalize_endpoint("ftp://pve1").is_err());
    }

    #[test]
    fn token_ids_are_checked_by_pve_rule_and_the_reason_is_given() {
        let with = |id: &str| {
            ClientConfig::from_settings(ProviderSettings {
                endpoint: Some("pve1".into()),
                token_id: Some(id.into()),
                token_secret: Some("s3cret-value".into()),
                ..Default::default()
            })
        };
        for (id, why) in [("@pam!pmx", "user name before `@` is empty"), ("root@!pmx", "the realm \"\"")] {
            let e = with(id).unwrap_err().to_string();
            assert!(e.contains("USER@REALM!TOKENID") && e.contains(why) && !e.contains("s3cret-value"), "{e}");
        }
        assert!(with("ci@pve!deploy").is_ok());
    }

    #[test]
    fn incomplete_credentials_are_refused_clearly() {
        let base = || ProviderSettings { endpoint: Some("pve1".into()), ..Default::default() };
        let e = ClientConfig::from_settings(base()).unwrap_err().to_string();
        assert!(e.contains("no credentials"), "{e}");
        let e = ClientConfig::from_settings(ProviderSettings { token_id: Some("root@pam!x".into()), ..base() })
            .unwrap_err()
            .to_string();
        assert!(e.contains("token_secret"), "{e}");
        let e = ClientConfig::from_settings(ProviderSettings {
            token_id: Some("pmx".into()),
            token_secret: Some("s3cret-value".into()),
            ..base()
        })
        .unwrap_err()
        .to_string();
        assert!(e.contains("USER@REALM!TOKENID") && !e.contains("s3cret-value"), "{e}");
        let e = ClientConfig::from_settings(ProviderSettings {
            username: Some("root".into()),
            password: Some("pw-pw-pw".into()),
            ..base()
        })
        .unwrap_err()
        .to_string();
        assert!(e.contains("realm"), "{e}");
        let e = ProviderSettings::default().with_env_from(env(&[("PMX_INSECURE", "perhaps")])).unwrap_err();
        assert!(e.to_string().contains("PMX_INSECURE"));
    }

    #[test]
    fn provider_block_values() {
        let mut attrs = IndexMap::new();
        attrs.insert("endpoint".to_string(), Value::String("pve1".into()));
        attrs.insert("token_id".to_string(), Value::String("root@pam!pmx".into()));
        attrs.insert("token_secret".to_string(), Value::String("tok-secret-9".into()).mark_sensitive());
        attrs.insert("insecure".to_string(), Value::Bool(true));
        let s = ProviderSettings::from_block(&attrs).unwrap();
        assert_eq!(s.token_secret.as_ref().map(Secret::expose), Some("tok-secret-9"));
        assert_eq!(s.insecure, Some(true));
        assert!(!format!("{s:?}").contains("tok-secret-9"));
        attrs.insert("insecure".to_string(), Value::String("yes".into()));
        assert!(ProviderSettings::from_block(&attrs).unwrap_err().to_string().contains("must be a bool"));
        attrs.shift_remove("insecure");
        attrs.insert("endpoint".to_string(), Value::Unknown);
        assert!(ProviderSettings::from_block(&attrs).unwrap_err().to_string().contains("known"));
        attrs.shift_remove("endpoint");
        attrs.insert("endpiont".to_string(), Value::String("x".into()));
        assert!(ProviderSettings::from_block(&attrs).unwrap_err().to_string().contains("endpiont"));
    }

    #[test]
    fn fingerprints_in_both_spellings() {
        let hex64 = "ab".repeat(32);
        let colon = vec!["AB"; 32].join(":");
        assert_eq!(Fingerprint::parse(&hex64).unwrap(), Fingerprint::parse(&colon).unwrap());
        assert_eq!(Fingerprint::parse(&hex64).unwrap().to_string(), colon);
        assert!(Fingerprint::parse("AB:CD").unwrap_err().to_string().contains("32"));
        assert!(Fingerprint::parse("zz").is_err());
    }
}
