//! Files and paths. Relative paths are resolved against the configuration folder, not the
//! process's working folder, so `pmx -C dir` reads the same files as `cd dir && pmx`.

use std::path::{Component, Path, PathBuf};

use super::{Args, FunctionContext, FunctionError};
use crate::config::Value;

type Result = std::result::Result<Value, FunctionError>;

fn resolve(ctx: &FunctionContext, path: &str) -> PathBuf {
    ctx.base_dir.join(path)
}

/// The file named by the first argument, as text.
fn read_text(ctx: &FunctionContext, a: &Args) -> std::result::Result<String, FunctionError> {
    let bytes = read_bytes(ctx, a)?;
    String::from_utf8(bytes).map_err(|_| a.err(0, format!("{:?} is not UTF-8 text", a.get(0).as_str().unwrap_or(""))))
}

pub(super) fn file(ctx: &FunctionContext, a: &Args) -> Result {
    read_text(ctx, a).map(Value::String)
}

fn read_bytes(ctx: &FunctionContext, a: &Args) -> std::result::Result<Vec<u8>, FunctionError> {
    let path = a.string(0)?;
    let full = resolve(ctx, &path);
    std::fs::read(&full).map_err(|e| {
        let why = match e.kind() {
            std::io::ErrorKind::NotFound => "no such file".to_string(),
            _ if full.is_dir() => "it is a folder, not a file".to_string(),
            _ => e.to_string(),
        };
        a.err(0, format!("cannot read {path:?}: {why}"))
    })
}

pub(super) fn filebase64(ctx: &FunctionContext, a: &Args) -> Result {
    use base64::Engine;
    Ok(Value::String(base64::engine::general_purpose::STANDARD.encode(read_bytes(ctx, a)?)))
}

pub(super) fn filesha256(ctx: &FunctionContext, a: &Args) -> Result {
    use sha2::Digest;
    Ok(Value::String(hex::encode(sha2::Sha256::digest(read_bytes(ctx, a)?))))
}

pub(super) fn filemd5(ctx: &FunctionContext, a: &Args) -> Result {
    use md5::Digest;
    Ok(Value::String(hex::encode(md5::Md5::digest(read_bytes(ctx, a)?))))
}

pub(super) fn filesha1(ctx: &FunctionContext, a: &Args) -> Result {
    let digest = ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, &read_bytes(ctx, a)?);
    Ok(Value::String(hex::encode(digest.as_ref())))
}

pub(super) fn filesha512(ctx: &FunctionContext, a: &Args) -> Result {
    use sha2::Digest;
    Ok(Value::String(hex::encode(sha2::Sha512::digest(read_bytes(ctx, a)?))))
}

pub(super) fn filebase64sha256(ctx: &FunctionContext, a: &Args) -> Result {
    use base64::Engine;
    use sha2::Digest;
    Ok(Value::String(base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(read_bytes(ctx, a)?))))
}

pub(super) fn filebase64sha512(ctx: &FunctionContext, a: &Args) -> Result {
    use base64::Engine;
    use sha2::Digest;
    Ok(Value::String(base64::engine::general_purpose::STANDARD.encode(sha2::Sha512::digest(read_bytes(ctx, a)?))))
}

pub(super) fn fileexists(ctx: &FunctionContext, a: &Args) -> Result {
    let path = a.string(0)?;
    let full = resolve(ctx, &path);
    match std::fs::metadata(&full) {
        Ok(meta) if meta.is_dir() => Err(a.err(0, format!("{path:?} is a folder, not a file"))),
        Ok(_) => Ok(Value::Bool(true)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Value::Bool(false)),
        Err(e) => Err(a.err(0, format!("cannot check {path:?}: {e}"))),
    }
}

/// The files under `path` whose path (relative to it, `/`-separated) matches the glob
/// `pattern`: `*` and `?` within one folder, `**` across folders, `[abc]`, `{a,b}`. Sorted.
pub(super) fn fileset(ctx: &FunctionContext, a: &Args) -> Result {
    let path = a.string(0)?;
    let pattern = a.string(1)?;
    let re = regex::Regex::new(&glob_to_regex(&pattern))
        .map_err(|e| a.err(1, format!("{pattern:?} is not a valid pattern: {e}")))?;
    let root = resolve(ctx, &path);
    let mut found = Vec::new();
    let mut folders = vec![(root.clone(), String::new())];
    while let Some((folder, prefix)) = folders.pop() {
        let entries = std::fs::read_dir(&folder).map_err(|e| a.err(0, format!("cannot read folder {path:?}: {e}")))?;
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().to_string();
            let rel = if prefix.is_empty() { name } else { format!("{prefix}/{name}") };
            // file_type does not follow symbolic links, so a link loop cannot trap the walk.
            match entry.file_type() {
                Ok(t) if t.is_dir() => folders.push((entry.path(), rel)),
                Ok(_) if entry.path().is_file() && re.is_match(&rel) => found.push(rel),
                _ => {}
            }
            if found.len() > 100_000 {
                return Err(a.fail("more than 100000 files match"));
            }
        }
    }
    found.sort();
    Ok(Value::List(found.into_iter().map(Value::String).collect()))
}

/// A glob as an anchored regular expression.
fn glob_to_regex(glob: &str) -> String {
    let mut re = String::from("^");
    let mut chars = glob.chars().peekable();
    let mut in_alternatives = false;
    while let Some(c) = chars.next() {
        match c {
            '*' if chars.peek() == Some(&'*') => {
                chars.next();
                if chars.peek() == Some(&'/') {
                    chars.next();
                    re.push_str("(?:.*/)?");
                } else {
                    re.push_str(".*");
                }
            }
            '*' => re.push_str("[^/]*"),
            '?' => re.push_str("[^/]"),
            '[' => {
                re.push('[');
                for c in chars.by_ref() {
                    if c == ']' {
                        break;
                    }
                    if c == '\\' || c == '[' {
                        re.push('\\');
                    }
                    re.push(c);
                }
                re.push(']');
            }
            '{' => {
                in_alternatives = true;
                re.push_str("(?:");
            }
            ',' if in_alternatives => re.push('|'),
            '}' if in_alternatives => {
                in_alternatives = false;
                re.push(')');
            }
            c => re.push_str(&regex::escape(&c.to_string())),
        }
    }
    re.push('$');
    re
}

pub(super) fn templatefile(ctx: &FunctionContext, a: &Args) -> Result {
    let vars = a.map(1)?;
    let text = read_text(ctx, a)?;
    let path = a.string(0)?;
    (ctx.render_template)(&text, vars).map_err(|e| a.err(0, format!("in template {path:?}: {e}")))
}

/// Joins and cleans without touching the file system (the path need not exist).
fn clean(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

pub(super) fn abspath(ctx: &FunctionContext, a: &Args) -> Result {
    let path = a.string(0)?;
    let mut full = resolve(ctx, &path);
    if full.is_relative() {
        let cwd = std::env::current_dir().map_err(|e| a.fail(format!("cannot find the working folder: {e}")))?;
        full = cwd.join(full);
    }
    Ok(Value::String(clean(&full).to_string_lossy().replace('\\', "/")))
}

/// Go's `filepath.Base`: trailing slashes ignored, `"."` for an empty path.
pub(super) fn basename(_: &FunctionContext, a: &Args) -> Result {
    let path = a.string(0)?;
    if path.is_empty() {
        return Ok(Value::String(".".into()));
    }
    let trimmed = path.trim_end_matches('/');
    if trimmed.is_empty() {
        return Ok(Value::String("/".into()));
    }
    Ok(Value::String(trimmed.rsplit('/').next().unwrap_or(trimmed).to_string()))
}

/// Go's `filepath.Dir`: everything but the last part, cleaned; `"."` when there is none.
pub(super) fn dirname(_: &FunctionContext, a: &Args) -> Result {
    let path = a.string(0)?;
    let dir = match path.rfind('/') {
        Some(i) => &path[..=i],
        None => "",
    };
    let cleaned = clean(Path::new(dir)).to_string_lossy().to_string();
    Ok(Value::String(match cleaned.as_str() {
        "" => ".".into(),
        _ => cleaned,
    }))
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::super::{call, FunctionContext};
    use crate::config::Value;
    use indexmap::IndexMap;

    #[test]
    fn file_reads_relative_to_base_dir() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("keys")).unwrap();
        std::fs::write(dir.path().join("keys/a.pub"), "ssh-ed25519 AAAA").unwrap();
        std::fs::write(dir.path().join("bin"), [0xff, 0xfe]).unwrap();
        let ctx = ctx_in(dir.path());
        assert_eq!(call(&ctx, "file", vec![s("keys/a.pub")]).unwrap(), s("ssh-ed25519 AAAA"));
        let e = call(&ctx, "file", vec![s("nope")]).unwrap_err();
        assert!(e.message.contains("cannot read \"nope\": no such file"), "{}", e.message);
        let e = call(&ctx, "file", vec![s("keys")]).unwrap_err();
        assert!(e.message.contains("folder"), "{}", e.message);
        assert!(call(&ctx, "file", vec![s("bin")]).unwrap_err().message.contains("not UTF-8"));
        assert_eq!(call(&ctx, "fileexists", vec![s("keys/a.pub")]).unwrap(), Value::Bool(true));
        assert_eq!(call(&ctx, "fileexists", vec![s("keys/b.pub")]).unwrap(), Value::Bool(false));
        assert!(call(&ctx, "fileexists", vec![s("keys")]).is_err());
        assert_eq!(call(&ctx, "filebase64", vec![s("bin")]).unwrap(), s("//4="));
        assert_eq!(
            call(&ctx, "filesha256", vec![s("keys/a.pub")]).unwrap(),
            call(&ctx, "sha256", vec![s("ssh-ed25519 AAAA")]).unwrap()
        );
        assert!(call(&ctx, "filesha256", vec![s("nope")]).unwrap_err().message.contains("no such file"));
    }

    #[test]
    fn templatefile_uses_the_evaluator() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("t.tpl"), "hello ${name}").unwrap();
        let ctx = ctx_in(dir.path());
        let vars = map(vec![("name", s("web"))]);
        assert_eq!(call(&ctx, "templatefile", vec![s("t.tpl"), vars]).unwrap(), s("hello web"));
        let e = call(&ctx, "templatefile", vec![s("t.tpl"), map(vec![])]).unwrap_err();
        assert!(e.message.contains("in template \"t.tpl\""), "{}", e.message);
        let e = call(&ctx, "templatefile", vec![s("t.tpl"), s("x")]).unwrap_err();
        assert_eq!(e.arg, Some(1));
        let secret = map(vec![("name", s("pw").mark_sensitive())]);
        assert!(matches!(call(&ctx, "templatefile", vec![s("t.tpl"), secret]).unwrap(), Value::Sensitive(_)));
    }

    #[test]
    fn template_renderer_sees_variables() {
        let seen = std::cell::RefCell::new(Vec::new());
        let render = |_: &str, vars: &IndexMap<String, Value>| {
            seen.borrow_mut().extend(vars.keys().cloned());
            Ok(Value::String("ok".into()))
        };
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("t"), "").unwrap();
        let ctx = FunctionContext { base_dir: dir.path(), render_template: &render };
        call(&ctx, "templatefile", vec![s("t"), map(vec![("a", n(1.0))])]).unwrap();
        assert_eq!(*seen.borrow(), vec!["a".to_string()]);
    }

    #[test]
    fn paths() {
        let abs = ok("abspath", vec![s("a/../b/./c")]);
        let Value::String(abs) = abs else { panic!() };
        assert!(abs.starts_with('/') && abs.ends_with("/b/c"), "{abs}");
        assert_eq!(ok("basename", vec![s("foo/bar/baz.txt")]), s("baz.txt"));
        assert_eq!(ok("basename", vec![s("foo/bar/")]), s("bar"));
        assert_eq!(ok("basename", vec![s("")]), s("."));
        assert_eq!(ok("dirname", vec![s("foo/bar/baz.txt")]), s("foo/bar"));
        assert_eq!(ok("dirname", vec![s("foo")]), s("."));
        assert_eq!(ok("dirname", vec![s("/foo")]), s("/"));
        assert_eq!(err("basename", vec![list(vec![])]).arg, Some(0));
    }
}
