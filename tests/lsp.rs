//! `pmx lsp` through the real binary and a real client: [`lsp_client`] speaks JSON-RPC to the
//! server over its standard input and output, the way an editor does.

#[path = "support/lsp_client.rs"]
mod lsp_client;

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use lsp_client::{uri, wait, Client, PATIENCE};
use serde_json::{json, Value};

fn position(line: u32, character: u32) -> Value {
    json!({"line": line, "character": character})
}

/// The line and column (0-based) of the first `needle` in `text`, plus `plus` columns.
fn find(text: &str, needle: &str, plus: u32) -> Value {
    let at = text.find(needle).unwrap_or_else(|| panic!("{needle:?} not in the text"));
    let line = text[..at].matches('\n').count() as u32;
    let column = text[..at].rsplit('\n').next().map_or(0, |l| l.encode_utf16().count()) as u32;
    position(line, column + plus)
}

fn at(path: &Path, position: Value) -> Value {
    json!({"textDocument": {"uri": uri(path)}, "position": position})
}

fn labels(completion: &Value) -> Vec<String> {
    let items = completion.as_array().or_else(|| completion["items"].as_array()).cloned().unwrap_or_default();
    items.iter().filter_map(|i| i["label"].as_str().map(str::to_string)).collect()
}

const POOLS: &str = "resource \"pool\" \"web\" {\n  comment = \"the web tier\"\n}\n\nvariable \"cores\" {\n  type        = number\n  default     = 2\n  description = \"Cores of each web server.\"\n}\n";

const BROKEN: &str = "resource \"vm\" \"web\" {\n  node = \"pve1\"\n  nmae = \"web\"\n  pool = pool.nope.id\n\n  cpu {\n    cores = var.cores\n  }\n}\n";

const FIXED: &str = "resource \"vm\" \"web\" {\n  node = \"pve1\"\n  name = \"web\"\n  pool = pool.web.id\n\n  cpu {\n    cores = var.cores\n  }\n}\n";

#[test]
fn an_editing_session_from_initialize_to_exit() {
    let dir = tempfile::tempdir().expect("tempdir");
    let dir = dir.path().canonicalize().expect("canonical");
    let pools = dir.join("pools.pmx");
    let main = dir.join("main.pmx");
    std::fs::write(&pools, POOLS).expect("write");
    std::fs::write(&main, FIXED).expect("write");

    let (mut client, init) = Client::start(&dir, json!({}));
    let caps = &init["capabilities"];
    assert_eq!(caps["positionEncoding"], "utf-16", "{init}");
    for provider in
        ["hoverProvider", "completionProvider", "definitionProvider", "referencesProvider", "renameProvider"]
    {
        assert!(!caps[provider].is_null(), "{provider} missing: {caps}");
    }
    assert_eq!(init["serverInfo"]["name"], "pmx");

    // The folder is checked at start: both files valid.
    client.diagnostics_until(&uri(&main), |d| d.is_empty());

    // Opening the file with errors (not saved: the buffer is what counts) publishes them, with
    // the loader's messages at the loader's places; a reference into the other file resolves.
    client.open(&main, BROKEN);
    let diags = client.diagnostics_until(&uri(&main), |d| d.len() >= 2);
    let messages: Vec<&str> = diags.iter().filter_map(|d| d["message"].as_str()).collect();
    let nmae = diags.iter().find(|d| d["message"].as_str().unwrap().contains("nmae")).expect("nmae reported");
    assert_eq!(nmae["range"]["start"], find(BROKEN, "nmae", 0), "{nmae}");
    assert_eq!(nmae["severity"], 1);
    assert_eq!(nmae["source"], "pmx");
    assert!(nmae["message"].as_str().unwrap().contains("did you mean"), "{nmae}");
    assert!(messages.iter().any(|m| m.contains("pool.nope")), "{messages:?}");
    assert!(!messages.iter().any(|m| m.contains("var.cores")), "var.cores is declared in pools.pmx: {messages:?}");
    assert_eq!(client.diagnostics[&uri(&pools)], Vec::<Value>::new());

    // Completion: attributes of the cpu block, variables of the folder, free disk slots.
    let cpu_line = find(BROKEN, "    cores", 4);
    let cpu = labels(
        &client.request("textDocument/completion", at(&main, json!({"line": cpu_line["line"], "character": 4}))),
    );
    assert!(cpu.contains(&"sockets".to_string()) && !cpu.contains(&"name".to_string()), "{cpu:?}");
    let vars = labels(&client.request("textDocument/completion", at(&main, find(BROKEN, "var.cores", 4))));
    assert_eq!(vars, ["cores"]);

    // Hover: how a change lands and the Proxmox parameter.
    let hover = client.request("textDocument/hover", at(&main, find(BROKEN, "cores =", 2)));
    let text = hover["contents"]["value"].as_str().expect("markdown");
    assert!(text.contains("reboots the guest") && text.contains("**Proxmox**: `cores`"), "{text}");
    let hover = client.request("textDocument/hover", at(&main, find(BROKEN, "var.cores", 5)));
    let text = hover["contents"]["value"].as_str().expect("markdown");
    assert!(text.contains("Cores of each web server.") && text.contains("`2`"), "{text}");

    // Fixing the buffer clears the problems (an incremental edit, as editors send).
    let edit = |text: &str, needle: &str, new: &str| {
        let start = find(text, needle, 0);
        let end = find(text, needle, needle.len() as u32);
        json!({"range": {"start": start, "end": end}, "text": new})
    };
    let changes = json!([edit(BROKEN, "nmae", "name"), edit(&BROKEN.replace("nmae", "name"), "pool.nope", "pool.web")]);
    client.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": uri(&main), "version": 2}, "contentChanges": changes}),
    );
    client.diagnostics_until(&uri(&main), |d| d.is_empty());

    // Go to definition and find references across the two files.
    let def = client.request("textDocument/definition", at(&main, find(FIXED, "pool.web", 6)));
    assert_eq!(def["uri"], uri(&pools), "{def}");
    assert_eq!(def["range"]["start"], find(POOLS, "web\"", 0));
    let refs = client.request(
        "textDocument/references",
        json!({"textDocument": {"uri": uri(&pools)}, "position": find(POOLS, "web\"", 1), "context": {"includeDeclaration": true}}),
    );
    assert_eq!(refs.as_array().map(Vec::len), Some(2), "{refs}");

    // Rename the pool: the declaration, the reference and a moved block.
    let prepare = client.request("textDocument/prepareRename", at(&pools, find(POOLS, "web\"", 1)));
    assert_eq!(prepare["start"], find(POOLS, "web\"", 0), "{prepare}");
    let rename = client.request(
        "textDocument/rename",
        json!({"textDocument": {"uri": uri(&main)}, "position": find(FIXED, "pool.web", 6), "newName": "front"}),
    );
    let changes = &rename["changes"];
    assert_eq!(changes[uri(&main)].as_array().map(Vec::len), Some(1), "{rename}");
    assert_eq!(changes[uri(&main)][0]["newText"], "front");
    let in_pools: Vec<&str> =
        changes[uri(&pools)].as_array().expect("edits").iter().filter_map(|e| e["newText"].as_str()).collect();
    assert!(in_pools.contains(&"front") && in_pools.iter().any(|t| t.contains("from = pool.web")), "{in_pools:?}");

    // Document symbols and formatting through pmx fmt.
    let symbols = client.request("textDocument/documentSymbol", json!({"textDocument": {"uri": uri(&pools)}}));
    let names: Vec<&str> = symbols.as_array().expect("symbols").iter().filter_map(|s| s["name"].as_str()).collect();
    assert_eq!(names, ["pool.web", "var.cores"]);
    let messy = dir.join("messy.pmx");
    client.open(&messy, "locals {\n a=1\n    bb = 2\n}\n");
    let edits = client.request(
        "textDocument/formatting",
        json!({"textDocument": {"uri": uri(&messy)}, "options": {"tabSize": 2, "insertSpaces": true}}),
    );
    assert_eq!(edits[0]["newText"], "locals {\n  a  = 1\n  bb = 2\n}\n", "{edits}");

    // An unknown request is an error, not a crash.
    let unknown = client.request_raw("textDocument/unknownThing", json!({}));
    assert_eq!(unknown["error"]["code"], -32601, "{unknown}");

    let status = client.shutdown();
    assert!(status.success(), "pmx lsp exits cleanly after shutdown and exit: {status:?}");
}

#[test]
fn utf8_positions_and_snippets_when_the_client_offers_them() {
    let dir = tempfile::tempdir().expect("tempdir");
    let dir = dir.path().canonicalize().expect("canonical");
    let main = dir.join("main.pmx");
    let text = "# \u{1F47E} résumé\nresource \"vm\" \"a\" {\n  node = \"pve1\"\n  \n}\n";
    std::fs::write(&main, text).expect("write");
    let caps = json!({
        "general": {"positionEncodings": ["utf-8", "utf-16"]},
        "textDocument": {"completion": {"completionItem": {"snippetSupport": true}}},
    });
    let (mut client, init) = Client::start(&dir, caps);
    assert_eq!(init["capabilities"]["positionEncoding"], "utf-8");
    client.open(&main, text);
    let completion = client.request("textDocument/completion", at(&main, position(3, 2)));
    let items = completion.as_array().expect("items");
    let disk = items.iter().find(|i| i["label"] == "disk").expect("disk offered");
    assert_eq!(disk["insertTextFormat"], 2, "a snippet: {disk}");
    assert!(disk["textEdit"]["newText"].as_str().unwrap().contains("disk \"${1:scsi0}\""), "{disk}");
    let slots = labels(&client.request("textDocument/completion", at(&main, position(3, 2))));
    assert!(slots.contains(&"network".to_string()));
    assert!(client.shutdown().success());
}

#[test]
fn exit_without_shutdown_is_a_failure() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut client, _) = Client::start(dir.path(), json!({}));
    client.notify("exit", Value::Null);
    client.stdin.take();
    let status = wait(&mut client.child);
    assert_eq!(status.code(), Some(1), "{status:?}");
}

/// A diagnostic as both sides report it: file, message (with label and help), start, end.
type Problem = (String, String, (u64, u64), (u64, u64));

/// What `pmx validate --json` reports in `dir`: (file, message, label-and-help, start, end)
/// with 0-based lines and columns, as LSP counts them (the cases are ASCII, so characters and
/// UTF-16 units agree).
fn validate(dir: &Path) -> BTreeSet<Problem> {
    let out = Command::new(env!("CARGO_BIN_EXE_pmx"))
        .arg("validate")
        .arg("--json")
        .current_dir(dir)
        .env("PMX_LOG", "off")
        .output()
        .expect("runs");
    let report: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let mut set = BTreeSet::new();
    for d in report["diagnostics"].as_array().expect("diagnostics") {
        let mut message = d["message"].as_str().unwrap_or_default().to_string();
        if let Some(label) = d["label"].as_str().filter(|l| !l.is_empty() && *l != message) {
            message.push('\n');
            message.push_str(label);
        }
        if let Some(help) = d["help"].as_str() {
            message.push_str("\nhelp: ");
            message.push_str(help);
        }
        let range = &d["range"];
        let point = |p: &Value| (p["line"].as_u64().unwrap_or(1) - 1, p["column"].as_u64().unwrap_or(1) - 1);
        let file = range["file"].as_str().unwrap_or("(none)").to_string();
        set.insert((file, message, point(&range["start"]), point(&range["end"])));
    }
    set
}

#[test]
fn diagnostics_are_those_of_pmx_validate_on_every_broken_case() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/broken");
    let mut cases: Vec<PathBuf> = std::fs::read_dir(&root)
        .expect("tests/broken")
        .filter_map(Result::ok)
        .map(|e| e.path())
        // A case with an `args` file runs something other than plain `pmx validate`.
        .filter(|p| p.is_dir() && !p.join("args").exists())
        .collect();
    cases.sort();
    assert!(cases.len() >= 20, "{cases:?}");
    let (mut client, _) = Client::start(&root, json!({}));
    let mut files_of: HashMap<PathBuf, Vec<PathBuf>> = HashMap::new();
    for case in &cases {
        let mut files: Vec<PathBuf> = std::fs::read_dir(case)
            .expect("case")
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "pmx"))
            .collect();
        files.sort();
        let first = files.first().expect("a .pmx file");
        client.open(first, &std::fs::read_to_string(first).expect("read"));
        files_of.insert(case.clone(), files);
    }
    for case in &cases {
        let files = &files_of[case];
        let want = validate(case);
        // A problem of no place goes on the first file at 0:0 in the editor.
        let want: BTreeSet<_> = want
            .into_iter()
            .map(|(file, m, s, e)| {
                if file == "(none)" {
                    (files[0].file_name().unwrap().to_string_lossy().to_string(), m, (0, 0), (0, 0))
                } else {
                    (file, m, s, e)
                }
            })
            .collect();
        assert!(!want.is_empty(), "{} should be broken", case.display());
        // Every file of the case with diagnostics: its .pmx files, and a .pmxvars file too.
        let prefix = format!("{}/", uri(case));
        let deadline = Instant::now() + PATIENCE;
        loop {
            let mut got = BTreeSet::new();
            for (file, list) in client.diagnostics.iter().filter(|(u, _)| u.starts_with(&prefix)) {
                for d in list {
                    let point = |p: &Value| (p["line"].as_u64().unwrap(), p["character"].as_u64().unwrap());
                    let name = file[prefix.len()..].to_string();
                    let message = d["message"].as_str().unwrap().to_string();
                    got.insert((name, message, point(&d["range"]["start"]), point(&d["range"]["end"])));
                }
            }
            let every_file_published = files.iter().all(|f| client.publications.contains_key(&uri(f)));
            if (every_file_published && got == want) || Instant::now() > deadline {
                assert_eq!(got, want, "{}", case.display());
                break;
            }
            client.receive(Duration::from_millis(100));
        }
    }
    assert!(client.shutdown().success());
}

/// Neovim's own LSP client, headless, against the real server: an independent client that
/// frames, orders and syncs (incrementally) the way an editor in use does. Skipped, saying so,
/// where Neovim is not installed (`apt-get install neovim`); under CI (`CI=true`, where
/// `.ci/test` installs it) a missing Neovim fails the test instead.
#[test]
fn a_headless_neovim_session() {
    let Ok(version) = Command::new("nvim").arg("--version").output() else {
        assert!(
            std::env::var("CI").map_or(true, |v| v != "true"),
            "nvim is not installed, and under CI=true the Neovim session must run (.ci/test installs Debian's neovim)"
        );
        eprintln!("skipped: nvim is not installed (apt-get install neovim), so no Neovim session was run");
        return;
    };
    assert!(version.status.success());
    let dir = tempfile::tempdir().expect("tempdir");
    let dir = dir.path().canonicalize().expect("canonical");
    std::fs::write(dir.join("pools.pmx"), POOLS).expect("write");
    let main = dir.join("main.pmx");
    std::fs::write(&main, BROKEN).expect("write");
    let out = dir.join("nvim-out.json");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/nvim_session.lua");
    let hover = find(BROKEN, "cores =", 2);
    let complete = find(BROKEN, "var.cores", 4);
    let nmae_line = find(BROKEN, "nmae", 0)["line"].as_u64().expect("line");
    let mut child = Command::new("nvim")
        .args(["--headless", "--clean", "-n", "-i", "NONE", "-c"])
        .arg(format!("luafile {}", script.display()))
        .env("PMX_BIN", env!("CARGO_BIN_EXE_pmx"))
        .env("PMX_LOG", "off")
        .env("PMX_FILE", &main)
        .env("PMX_OUT", &out)
        .env("PMX_HOVER_LINE", hover["line"].to_string())
        .env("PMX_HOVER_COL", hover["character"].to_string())
        .env("PMX_COMPLETE_LINE", complete["line"].to_string())
        .env("PMX_COMPLETE_COL", complete["character"].to_string())
        .env("PMX_FIX_LINE", nmae_line.to_string())
        .env("PMX_FIX_TEXT", "  name = \"web\"\n  pool = pool.web.id")
        .stdin(std::process::Stdio::null())
        .spawn()
        .expect("nvim starts");
    let status = wait(&mut child);
    assert!(status.success(), "nvim: {status:?}");
    let seen: Value =
        serde_json::from_str(&std::fs::read_to_string(&out).expect("the session wrote its findings")).expect("JSON");
    assert_eq!(seen["diagnostics_arrived"], true, "{seen}");
    let diags = seen["diagnostics"].as_array().expect("diagnostics");
    let nmae = diags.iter().find(|d| d["message"].as_str().is_some_and(|m| m.contains("nmae"))).expect("nmae");
    assert_eq!((nmae["lnum"].as_u64(), nmae["col"].as_u64()), (Some(nmae_line), Some(2)), "{seen}");
    assert!(seen["hover"].as_str().unwrap_or("").contains("reboots the guest"), "{seen}");
    assert_eq!(seen["completion"], json!(["cores"]), "{seen}");
    assert_eq!(seen["cleared"], true, "the fix clears the diagnostics: {seen}");
    assert_eq!(seen["exit_code"], 0, "the server exits cleanly when Neovim stops it: {seen}");
}
