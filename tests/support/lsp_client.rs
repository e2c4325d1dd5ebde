//! A language-server client for tests and benchmarks: starts the real `pmx lsp` and speaks
//! JSON-RPC to it over its standard input and output, the way an editor does (Content-Length
//! framing, `initialize`, `initialized`, notifications, requests, `shutdown`, `exit`).
#![allow(dead_code)] // each user takes what it needs

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

/// How long to wait for any one answer (debug builds on a busy two-core machine are slow).
pub const PATIENCE: Duration = Duration::from_secs(60);

pub struct Client {
    pub child: Child,
    pub stdin: Option<ChildStdin>,
    incoming: Receiver<Value>,
    next_id: i64,
    /// The latest diagnostics published for each URI.
    pub diagnostics: HashMap<String, Vec<Value>>,
    /// How many times diagnostics were published for each URI.
    pub publications: HashMap<String, usize>,
}

pub fn uri(path: &Path) -> String {
    format!("file://{}", path.display())
}

impl Client {
    /// Starts `pmx lsp` and completes the handshake with `capabilities`.
    pub fn start(root: &Path, capabilities: Value) -> (Client, Value) {
        Client::start_binary(Path::new(env!("CARGO_BIN_EXE_pmx")), root, capabilities)
    }

    /// Starts `binary lsp` (the binary under test) and completes the handshake.
    pub fn start_binary(binary: &Path, root: &Path, capabilities: Value) -> (Client, Value) {
        let mut child = Command::new(binary)
            .args(["lsp", "--stdio"])
            .env("PMX_LOG", "off")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("pmx lsp starts");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, incoming) = mpsc::channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            loop {
                let mut length = None;
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 {
                        return;
                    }
                    let line = line.trim_end();
                    if line.is_empty() {
                        break;
                    }
                    if let Some(n) = line.strip_prefix("Content-Length: ") {
                        length = n.parse::<usize>().ok();
                    }
                }
                let mut body = vec![0; length.expect("every message has a Content-Length")];
                if reader.read_exact(&mut body).is_err() {
                    return;
                }
                let message: Value = serde_json::from_slice(&body).expect("the server sends JSON");
                if tx.send(message).is_err() {
                    return;
                }
            }
        });
        let stdin = child.stdin.take();
        let mut client =
            Client { child, stdin, incoming, next_id: 0, diagnostics: HashMap::new(), publications: HashMap::new() };
        let init = client
            .request("initialize", json!({"processId": null, "rootUri": uri(root), "capabilities": capabilities}));
        client.notify("initialized", json!({}));
        (client, init)
    }

    pub fn send(&mut self, message: Value) {
        let body = message.to_string();
        let stdin = self.stdin.as_mut().expect("stdin open");
        write!(stdin, "Content-Length: {}\r\n\r\n{body}", body.len()).expect("write");
        stdin.flush().expect("flush");
    }

    pub fn notify(&mut self, method: &str, params: Value) {
        self.send(json!({"jsonrpc": "2.0", "method": method, "params": params}));
    }

    /// Handles one message from the server; returns it unless it was a notification.
    pub fn receive(&mut self, timeout: Duration) -> Option<Value> {
        let message = match self.incoming.recv_timeout(timeout) {
            Ok(m) => m,
            Err(RecvTimeoutError::Timeout) => return None,
            Err(RecvTimeoutError::Disconnected) => panic!("the server closed its output"),
        };
        if message["method"] == "textDocument/publishDiagnostics" {
            let uri = message["params"]["uri"].as_str().expect("uri").to_string();
            let list = message["params"]["diagnostics"].as_array().cloned().unwrap_or_default();
            *self.publications.entry(uri.clone()).or_default() += 1;
            self.diagnostics.insert(uri, list);
            return None;
        }
        Some(message)
    }

    /// The whole response to a request.
    pub fn request_raw(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        self.send(json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}));
        let deadline = Instant::now() + PATIENCE;
        while Instant::now() < deadline {
            if let Some(m) = self.receive(Duration::from_millis(200)) {
                if m["id"] == id {
                    return m;
                }
            }
        }
        panic!("no answer to {method} within {PATIENCE:?}");
    }

    pub fn request(&mut self, method: &str, params: Value) -> Value {
        let response = self.request_raw(method, params);
        assert!(response.get("error").is_none(), "{method} failed: {response}");
        response["result"].clone()
    }

    /// Waits until diagnostics published for `uri` satisfy `wanted`; returns them.
    pub fn diagnostics_until(&mut self, uri: &str, wanted: impl Fn(&[Value]) -> bool) -> Vec<Value> {
        let deadline = Instant::now() + PATIENCE;
        loop {
            if let Some(list) = self.diagnostics.get(uri) {
                if wanted(list) {
                    return list.clone();
                }
            }
            assert!(
                Instant::now() < deadline,
                "diagnostics for {uri} never came right; last: {:?}",
                self.diagnostics.get(uri)
            );
            self.receive(Duration::from_millis(200));
        }
    }

    pub fn open(&mut self, path: &Path, text: &str) {
        let params = json!({"textDocument": {"uri": uri(path), "languageId": "pmx", "version": 1, "text": text}});
        self.notify("textDocument/didOpen", params);
    }

    /// `shutdown`, then `exit`; the server's exit status.
    pub fn shutdown(mut self) -> ExitStatus {
        let result = self.request_raw("shutdown", Value::Null);
        assert_eq!(result["result"], Value::Null, "{result}");
        self.notify("exit", Value::Null);
        self.stdin.take();
        wait(&mut self.child)
    }
}

pub fn wait(child: &mut Child) -> ExitStatus {
    let deadline = Instant::now() + PATIENCE;
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the server did not exit");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}
