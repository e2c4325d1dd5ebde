//! A simulator, a project folder and the real binary.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use pmx::proxmox::{ClientConfig, ProviderSettings, PveClient, Secret};
use pmx::sim::{RunningSim, SimOptions};
use serde_json::Value;

pub struct Harness {
    pub runtime: tokio::runtime::Runtime,
    pub sim: RunningSim,
    pub dir: tempfile::TempDir,
    pub extra_env: Vec<(String, String)>,
}

pub fn sim_options() -> SimOptions {
    SimOptions {
        addr: "127.0.0.1:0".parse().unwrap(),
        tls: true,
        task_duration: Duration::from_millis(5),
        ..Default::default()
    }
}

impl Harness {
    pub fn new() -> Harness {
        Harness::with(sim_options())
    }

    pub fn with(options: SimOptions) -> Harness {
        let runtime = tokio::runtime::Runtime::new().expect("runtime");
        let sim = runtime.block_on(pmx::sim::start(options)).expect("simulator starts");
        Harness { runtime, sim, dir: tempfile::tempdir().unwrap(), extra_env: vec![] }
    }

    /// A project folder holding a copy of `examples/NAME`.
    pub fn example(name: &str) -> Harness {
        let h = Harness::new();
        copy_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("examples").join(name), h.dir.path());
        h
    }

    pub fn write(&self, file: &str, text: &str) {
        std::fs::write(self.dir.path().join(file), text).unwrap();
    }

    pub fn path(&self, file: &str) -> PathBuf {
        self.dir.path().join(file)
    }

    /// Runs pmx in the project; the token secret never appears in its output.
    pub fn pmx(&self, args: &[&str]) -> Output {
        self.pmx_in(self.dir.path(), args)
    }

    /// Runs pmx in another project folder against the same simulator.
    pub fn pmx_in(&self, dir: &Path, args: &[&str]) -> Output {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_pmx"));
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("PMX_") {
                cmd.env_remove(&key);
            }
        }
        cmd.arg("-C")
            .arg(dir)
            .args(args)
            .env("PMX_ENDPOINT", &self.sim.base_url)
            .env("PMX_TOKEN_ID", &self.sim.token_id)
            .env("PMX_TOKEN_SECRET", &self.sim.token_secret)
            .env("PMX_FINGERPRINT", &self.sim.fingerprint)
            .env("NO_COLOR", "1")
            .stdin(std::process::Stdio::null());
        for (k, v) in &self.extra_env {
            cmd.env(k, v);
        }
        let out = cmd.output().expect("run pmx");
        for stream in [&out.stdout, &out.stderr] {
            assert!(
                !String::from_utf8_lossy(stream).contains(&self.sim.token_secret),
                "the token secret leaked into output"
            );
        }
        out
    }

    /// Runs pmx and insists on `code`.
    pub fn expect(&self, args: &[&str], code: i32) -> Output {
        let out = self.pmx(args);
        assert_eq!(
            out.status.code(),
            Some(code),
            "pmx {} exited {:?}\n--- stdout\n{}\n--- stderr\n{}",
            args.join(" "),
            out.status.code(),
            stdout(&out),
            stderr(&out)
        );
        out
    }

    pub fn plan_json(&self, extra: &[&str]) -> Value {
        let mut args = vec!["plan", "--json"];
        args.extend_from_slice(extra);
        let out = self.pmx(&args);
        serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("plan --json: {e}\n{}\n{}", stdout(&out), stderr(&out)))
    }

    /// `plan --out plan.out` then `apply plan.out`, both successful.
    pub fn plan_and_apply(&self) -> Output {
        self.expect(&["plan", "--out", "plan.out"], 0);
        self.expect(&["apply", "plan.out"], 0)
    }

    pub fn client(&self) -> PveClient {
        let settings = ProviderSettings {
            endpoint: Some(self.sim.base_url.clone()),
            token_id: Some(self.sim.token_id.clone()),
            token_secret: Some(Secret::new(self.sim.token_secret.clone())),
            fingerprint: Some(self.sim.fingerprint.clone()),
            ..Default::default()
        };
        PveClient::new(ClientConfig::from_settings(settings).unwrap()).unwrap()
    }

    /// vmid and node of the guest named `name` on the cluster.
    pub fn guest(&self, name: &str) -> Option<(u32, String)> {
        let client = self.client();
        let all = self.runtime.block_on(client.cluster_resources(Some("vm"))).unwrap();
        all.iter().find(|r| r.name.as_deref() == Some(name)).map(|r| (r.vmid.unwrap(), r.node.clone().unwrap()))
    }

    pub fn guests_named(&self, name: &str) -> usize {
        let client = self.client();
        let all = self.runtime.block_on(client.cluster_resources(Some("vm"))).unwrap();
        all.iter().filter(|r| r.name.as_deref() == Some(name)).count()
    }
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            copy_dir(&p, &to.join(e.file_name()));
        } else if p.extension().is_some_and(|x| x != "sh") {
            std::fs::copy(&p, to.join(e.file_name())).unwrap();
        }
    }
}

/// Actions by address from `plan --json`.
pub fn actions(plan: &Value) -> Vec<(String, String)> {
    plan["resource_changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["address"].as_str().unwrap().to_string(), r["pmx"]["action"].as_str().unwrap().to_string()))
        .filter(|(_, a)| a != "no-op" && a != "read")
        .collect()
}

pub fn change<'a>(plan: &'a Value, address: &str) -> &'a Value {
    plan["resource_changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["address"] == address)
        .unwrap_or_else(|| panic!("{address} not in the plan"))
}

/// Makes output comparable: temp paths and timings out.
pub fn filtered(text: &str, dir: &Path) -> String {
    let t = text.replace(&dir.display().to_string(), "[DIR]");
    let re = regex::Regex::new(r"after \d+\.\d+s").unwrap();
    re.replace_all(&t, "after [T]").into_owned()
}

/// Error text with miette's wrapping and gutters undone, for matching phrases.
pub fn flat(text: &str) -> String {
    let t: String = text.chars().map(|c| if "│×╭╰─┬┴·".contains(c) { ' ' } else { c }).collect();
    t.split_whitespace().collect::<Vec<_>>().join(" ")
}
