//! API token ids, `USER@REALM!TOKENNAME`: the one rule that `pmx validate` and the client both
//! apply, so a token id one accepts is never refused by the other.
//!
//! The rule is PVE's own (pve-access-control, `pve_verify_tokenid`): the user is any run of
//! characters without white space, `:` or `/`; the realm and the token name each start with a
//! letter, followed by one or more letters, digits, `.`, `-` or `_`. The realm and the token
//! name cannot hold `@` or `!`, so the last `!` ends the user id and the last `@` before it
//! starts the realm.

/// A token id that PVE accepts, borrowed from the text it was read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenId<'a> {
    /// `root` in `root@pam!pmx`.
    pub user: &'a str,
    /// `pam`.
    pub realm: &'a str,
    /// `pmx`.
    pub name: &'a str,
}

impl<'a> TokenId<'a> {
    /// Checks `text` by PVE's rule; the error says which part is wrong (it quotes no secret:
    /// a token id is not one).
    pub fn parse(text: &'a str) -> Result<Self, String> {
        let Some((userid, name)) = text.rsplit_once('!') else {
            return Err("it has no `!TOKENNAME`".into());
        };
        let Some((user, realm)) = userid.rsplit_once('@') else {
            return Err("the user has no `@REALM`".into());
        };
        if user.is_empty() {
            return Err("the user name before `@` is empty".into());
        }
        if let Some(c) = user.chars().find(|c| c.is_whitespace() || *c == ':' || *c == '/') {
            return Err(format!("the user name cannot contain {c:?}"));
        }
        if !is_pve_id(realm) {
            return Err(format!("the realm {realm:?} {}", ID_RULE));
        }
        if !is_pve_id(name) {
            return Err(format!("the token name {name:?} {}", ID_RULE));
        }
        Ok(TokenId { user, realm, name })
    }
}

const ID_RULE: &str = "must be a letter followed by one or more letters, digits, '.', '-' or '_'";

/// PVE's `realm_regex`, which token names share: `[A-Za-z][A-Za-z0-9.\-_]+`.
fn is_pve_id(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && s.len() >= 2
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_what_pve_accepts() {
        assert_eq!(TokenId::parse("root@pam!pmx"), Ok(TokenId { user: "root", realm: "pam", name: "pmx" }));
        let t = TokenId::parse("ci-bot@ldap.corp!deploy_2").unwrap();
        assert_eq!((t.user, t.realm, t.name), ("ci-bot", "ldap.corp", "deploy_2"));
        // The user may hold `@` (an e-mail address as user name): the realm follows the last one.
        let t = TokenId::parse("jane@example.com@pve!t1").unwrap();
        assert_eq!((t.user, t.realm, t.name), ("jane@example.com", "pve", "t1"));
    }

    #[test]
    fn refuses_what_pve_refuses_and_says_why() {
        for (text, why) in [
            ("@pam!x1", "user name before `@` is empty"),
            ("root@!x1", "realm \"\""),
            ("root@pam!", "token name \"\""),
            ("root@pam!x", "token name \"x\""),
            ("root@pam!1abc", "token name \"1abc\""),
            ("root@pam!a b", "token name \"a b\""),
            ("root@p!pmx", "realm \"p\""),
            ("root@pam", "no `!TOKENNAME`"),
            ("root!pmx", "no `@REALM`"),
            ("ro ot@pam!pmx", "cannot contain ' '"),
            ("a/b@pam!pmx", "cannot contain '/'"),
            ("root@pam!pm!x", "realm \"pam!pm\""),
            ("root-pmx", "no `!TOKENNAME`"),
        ] {
            let e = TokenId::parse(text).unwrap_err();
            assert!(e.contains(why), "{text}: {e}");
        }
    }
}
