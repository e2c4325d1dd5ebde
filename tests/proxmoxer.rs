//! Conformance: proxmoxer (the real third-party Python client, installed by .ci/test into a
//! virtualenv named by PMX_TEST_PYTHON) drives the simulator over HTTPS through a lifecycle with
//! token and with password auth: tests/proxmoxer/lifecycle.py.

use pmx::sim::SimOptions;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

#[test]
fn proxmoxer_drives_the_simulator() {
    let Some(python) = std::env::var_os("PMX_TEST_PYTHON").filter(|p| !p.is_empty()) else {
        assert_ne!(std::env::var("CI").as_deref(), Ok("true"), "PMX_TEST_PYTHON must be set under CI");
        println!("skipped: PMX_TEST_PYTHON not set");
        return;
    };
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/proxmoxer/lifecycle.py");
    // A multi-threaded runtime keeps serving while this thread waits for the script.
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let sim = rt
        .block_on(pmx::sim::start(SimOptions {
            addr: "127.0.0.1:0".parse().expect("address"),
            tls: true,
            task_duration: Duration::from_millis(30),
            ..Default::default()
        }))
        .expect("simulator starts");
    let out = Command::new(&python)
        .arg(&script)
        .env("PMX_ENDPOINT", &sim.base_url)
        .env("PMX_TOKEN_ID", &sim.token_id)
        .env("PMX_TOKEN_SECRET", &sim.token_secret)
        .env("PMX_PASSWORD", &sim.password)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", Path::new(&python).display()));
    rt.block_on(sim.shutdown());
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "proxmoxer lifecycle failed\n--- stdout\n{stdout}\n--- stderr\n{stderr}");
    assert!(stdout.contains("proxmoxer lifecycle: ok"), "{stdout}");
}
