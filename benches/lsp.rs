//! Benchmark: `pmx lsp` on the 10,000-block project (10,000 `vm` blocks in 100 files, as in the
//! `config` benchmark's `blocks` case), through the real binary over stdio:
//! - how long after an edit the diagnostics of the edited file are published (the 200 ms
//!   debounce included, and without it);
//! - how long completion, hover and go to definition take at that size.
//!
//! Run: `cargo bench --bench lsp`.

#[path = "../tests/support/lsp_client.rs"]
mod lsp_client;

use std::fmt::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use lsp_client::{uri, Client};
use serde_json::{json, Value};

const FILES: usize = 100;
const PER_FILE: usize = 100;
const EDITS: usize = 6;
/// `pmx lsp`'s debounce (src/lsp/diagnostics.rs).
const DEBOUNCE_MS: f64 = 200.0;

fn write_project(dir: &Path) {
    let common = "variable \"node_count\" {\n  type    = number\n  default = 3\n}\nlocals {\n  tags = [\"pmx\", \"bench\"]\n}\nresource \"pool\" \"bench\" {\n  id      = \"bench\"\n  comment = \"benchmark\"\n}\n";
    std::fs::write(dir.join("common.pmx"), common).expect("write");
    for f in 0..FILES {
        std::fs::write(dir.join(format!("f{f:03}.pmx")), file_text(f, "pool.bench.id")).expect("write");
    }
}

fn file_text(f: usize, pool: &str) -> String {
    let mut s = String::new();
    for i in 0..PER_FILE {
        let _ = write!(
            s,
            "\nresource \"vm\" \"web_{f}_{i}\" {{\n  node    = \"pve${{{i} % var.node_count + 1}}\"\n  name    = \"web-{f}-{i}\"\n  pool    = {pool}\n  tags    = concat(local.tags, [\"f{f}\"])\n  started = true\n  cpu {{ cores = 2 }}\n  memory {{ size = 2048 }}\n  disk \"scsi0\" {{\n    storage = \"local-lvm\"\n    size    = \"32G\"\n  }}\n  network \"net0\" {{\n    bridge = \"vmbr0\"\n    model  = \"virtio\"\n  }}\n}}\n"
        );
    }
    s
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let dir = tempfile::tempdir().expect("temp dir");
    let dir = dir.path().canonicalize().expect("canonical");
    write_project(&dir);
    let edited = dir.join("f050.pmx");
    let (mut client, _) = Client::start_binary(Path::new(env!("CARGO_BIN_EXE_pmx")), &dir, json!({}));

    let good = file_text(50, "pool.bench.id");
    let bad = file_text(50, "pool.nope.id");
    let start = Instant::now();
    client.open(&edited, &good);
    client.diagnostics_until(&uri(&edited), |d| d.is_empty());
    let first = ms(start.elapsed());

    // Alternate between a version with 100 undeclared references and the valid one; each
    // edit is one didChange with the whole text, timed until its diagnostics arrive.
    let mut after_edit = Vec::new();
    for n in 0..EDITS {
        let (text, broken) = if n % 2 == 0 { (&bad, true) } else { (&good, false) };
        let version = n as i64 + 2;
        let start = Instant::now();
        client.notify(
            "textDocument/didChange",
            json!({"textDocument": {"uri": uri(&edited), "version": version}, "contentChanges": [{"text": text}]}),
        );
        client.diagnostics_until(&uri(&edited), |d| if broken { d.len() == PER_FILE } else { d.is_empty() });
        after_edit.push(ms(start.elapsed()));
    }

    let position = |needle: &str, plus: u32| -> Value {
        let at = good.find(needle).expect("needle");
        let line = good[..at].matches('\n').count() as u32;
        let col = good[..at].rsplit('\n').next().map_or(0, |l| l.len()) as u32;
        json!({"textDocument": {"uri": uri(&edited)}, "position": {"line": line, "character": col + plus}})
    };
    let mut timed = |method: &str, params: Value| -> f64 {
        let runs: Vec<f64> = (0..5)
            .map(|_| {
                let start = Instant::now();
                let result = client.request(method, params.clone());
                assert!(!result.is_null(), "{method} found nothing");
                ms(start.elapsed())
            })
            .collect();
        median(runs)
    };
    let completion = timed("textDocument/completion", position("var.node_count", 4));
    let hover = timed("textDocument/hover", position("cores", 1));
    let definition = timed("textDocument/definition", position("pool.bench", 6));
    let status = client.shutdown();
    assert!(status.success());

    let edit = median(after_edit.clone());
    println!(
        "lsp/10000-blocks  {FILES} files: first diagnostics {first:.0} ms; after an edit {edit:.0} ms median \
         ({:.0} ms past the {DEBOUNCE_MS:.0} ms debounce; runs {:?}); completion {completion:.1} ms, \
         hover {hover:.1} ms, definition {definition:.1} ms (medians of 5)",
        edit - DEBOUNCE_MS,
        after_edit.iter().map(|v| v.round() as i64).collect::<Vec<_>>(),
    );
}
