//! Encodings and digests.

use base64::Engine;
use sha2::Digest;

use super::{Args, FunctionContext, FunctionError};
use crate::config::Value;

type Result = std::result::Result<Value, FunctionError>;

pub(super) fn jsonencode(_: &FunctionContext, a: &Args) -> Result {
    Ok(Value::String(a.get(0).to_json().to_string()))
}

pub(super) fn jsondecode(_: &FunctionContext, a: &Args) -> Result {
    let text = a.string(0)?;
    let json: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| a.err(0, format!("the string is not valid JSON: {e}")))?;
    Ok(Value::from_json(&json))
}

pub(super) fn base64encode(_: &FunctionContext, a: &Args) -> Result {
    Ok(Value::String(base64::engine::general_purpose::STANDARD.encode(a.string(0)?)))
}

pub(super) fn base64decode(_: &FunctionContext, a: &Args) -> Result {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(a.string(0)?.trim())
        .map_err(|e| a.err(0, format!("the string is not valid Base64: {e}")))?;
    String::from_utf8(bytes).map(Value::String).map_err(|_| a.err(0, "the decoded bytes are not UTF-8 text"))
}

pub(super) fn sha256(_: &FunctionContext, a: &Args) -> Result {
    Ok(Value::String(hex::encode(sha2::Sha256::digest(a.string(0)?.as_bytes()))))
}

pub(super) fn base64sha256(_: &FunctionContext, a: &Args) -> Result {
    let digest = sha2::Sha256::digest(a.string(0)?.as_bytes());
    Ok(Value::String(base64::engine::general_purpose::STANDARD.encode(digest)))
}

/// Go's `url.QueryEscape`, as Terraform uses: unreserved characters stay, spaces become `+`.
pub(super) fn urlencode(_: &FunctionContext, a: &Args) -> Result {
    const KEEP: &percent_encoding::AsciiSet =
        &percent_encoding::NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');
    let encoded = percent_encoding::utf8_percent_encode(&a.string(0)?, KEEP).to_string();
    Ok(Value::String(encoded.replace("%20", "+")))
}

/// A fresh UUID on every evaluation would make every plan differ, so, as in Terraform's plans,
/// it is known only after apply.
pub(super) fn uuid(_: &FunctionContext, _: &Args) -> Result {
    Ok(Value::Unknown)
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use crate::config::Value;

    #[test]
    fn json_round_trip() {
        let v = map(vec![("a", list(vec![n(1.0), Value::Bool(true), Value::Null])), ("b", s("x"))]);
        let text = ok("jsonencode", vec![v.clone()]);
        assert_eq!(text, s(r#"{"a":[1,true,null],"b":"x"}"#));
        assert_eq!(ok("jsondecode", vec![text]), v);
        assert!(err("jsondecode", vec![s("{nope")]).message.contains("not valid JSON"));
        assert_eq!(ok("jsonencode", vec![map(vec![("k", Value::Unknown)])]), Value::Unknown);
    }

    #[test]
    fn base64() {
        assert_eq!(ok("base64encode", vec![s("hello")]), s("aGVsbG8="));
        assert_eq!(ok("base64decode", vec![s("aGVsbG8=")]), s("hello"));
        assert!(err("base64decode", vec![s("!!")]).message.contains("not valid Base64"));
        assert!(err("base64decode", vec![s("/w==")]).message.contains("not UTF-8"));
    }

    #[test]
    fn digests() {
        assert_eq!(
            ok("sha256", vec![s("hello")]),
            s("2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824")
        );
        assert_eq!(ok("base64sha256", vec![s("hello")]), s("LPJNul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ="));
        assert_eq!(err("sha256", vec![list(vec![])]).arg, Some(0));
    }

    #[test]
    fn urlencode_like_go() {
        assert_eq!(ok("urlencode", vec![s("a b/c?d=é~")]), s("a+b%2Fc%3Fd%3D%C3%A9~"));
    }

    #[test]
    fn uuid_is_known_after_apply() {
        assert_eq!(ok("uuid", vec![]), Value::Unknown);
        assert!(err("uuid", vec![s("x")]).message.contains("takes 0 arguments"));
    }
}
