//! Benchmark: load + evaluate + graph 10,000 resource instances, two ways:
//! - `count`: one `vm` block with `count = 10000`;
//! - `blocks`: 10,000 distinct `vm` blocks across 100 files.
//!
//! Each case runs in its own process (this binary re-runs itself) so that the peak memory
//! (VmHWM from /proc/self/status) belongs to that case alone. Targets: < 1 s, < 300 MB.
//! Run: `cargo bench --bench config`.

use std::fmt::Write;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

/// Counts live heap bytes, to tell what holds memory (RSS alone cannot).
struct Counting;

static LIVE: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

// SAFETY: forwards to the system allocator, only counting sizes.
unsafe impl std::alloc::GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: std::alloc::Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size(), std::sync::atomic::Ordering::Relaxed);
        unsafe { std::alloc::System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: std::alloc::Layout) {
        LIVE.fetch_sub(layout.size(), std::sync::atomic::Ordering::Relaxed);
        unsafe { std::alloc::System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn live_mb() -> f64 {
    LIVE.load(std::sync::atomic::Ordering::Relaxed) as f64 / 1048576.0
}

const INSTANCES: usize = 10_000;
const FILES: usize = 100;

fn common() -> String {
    r#"
variable "node_count" {
  type    = number
  default = 3
}
locals {
  tags = ["pmx", "bench"]
}
resource "pool" "bench" {
  id      = "bench"
  comment = "benchmark"
}
"#
    .to_string()
}

fn write_count_case(dir: &Path) {
    let mut s = common();
    let _ = write!(
        s,
        r#"
resource "vm" "web" {{
  count   = {INSTANCES}
  node    = "pve${{count.index % var.node_count + 1}}"
  name    = "web-${{count.index}}"
  pool    = pool.bench.id
  tags    = local.tags
  started = true
  cpu {{ cores = 2 }}
  memory {{ size = 2048 }}
  disk "scsi0" {{
    storage = "local-lvm"
    size    = "32G"
  }}
  network "net0" {{
    bridge = "vmbr0"
    model  = "virtio"
    tag    = 20
  }}
}}
output "vmids" {{
  value = vm.web[*].vmid
}}
"#
    );
    std::fs::write(dir.join("main.pmx"), s).expect("write main.pmx");
}

fn write_blocks_case(dir: &Path) {
    std::fs::write(dir.join("common.pmx"), common()).expect("write common.pmx");
    for f in 0..FILES {
        let mut s = String::new();
        for i in 0..INSTANCES / FILES {
            let _ = write!(
                s,
                r#"
resource "vm" "web_{f}_{i}" {{
  node    = "pve${{{i} % var.node_count + 1}}"
  name    = "web-{f}-{i}"
  pool    = pool.bench.id
  tags    = concat(local.tags, ["f{f}"])
  started = true
  cpu {{ cores = 2 }}
  memory {{ size = 2048 }}
  disk "scsi0" {{
    storage = "local-lvm"
    size    = "32G"
  }}
  network "net0" {{
    bridge = "vmbr0"
    model  = "virtio"
  }}
}}
"#
            );
        }
        std::fs::write(dir.join(format!("f{f:03}.pmx")), s).expect("write file");
    }
}

fn peak_rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map(|kb| kb / 1024.0)
        .unwrap_or(f64::NAN)
}

/// User + system CPU time of this process so far (wall time on a busy 2-core machine says
/// more about the neighbours than about pmx).
fn cpu_seconds() -> f64 {
    // SAFETY: getrusage only writes into the struct we pass.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) } != 0 {
        return f64::NAN;
    }
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    secs(usage.ru_utime) + secs(usage.ru_stime)
}

/// Runs one case in this process and prints its figures.
fn run_case(case: &str) {
    if std::env::var_os("PMX_LOG").is_some() {
        let _ =
            tracing_subscriber::fmt().with_env_filter(tracing_subscriber::EnvFilter::from_env("PMX_LOG")).try_init();
    }
    let dir = tempfile::tempdir().expect("temp dir");
    match case {
        "count" => write_count_case(dir.path()),
        _ => write_blocks_case(dir.path()),
    }
    let cpu_start = cpu_seconds();
    let start = Instant::now();
    let (config, diags) = pmx::config::load(dir.path(), &pmx::config::VarInputs::default());
    let loaded = start.elapsed();
    let peak_after_load = peak_rss_mb();
    let live_after_load = live_mb();
    let config = match config {
        Some(c) if !diags.has_errors() => c,
        _ => {
            eprint!("{}", diags.render(false));
            std::process::exit(1);
        }
    };
    let graph = match pmx::graph::build(&config) {
        Ok(g) => g,
        Err(d) => {
            eprint!("{}", d.render(false));
            std::process::exit(1);
        }
    };
    let total = start.elapsed();
    let instances = graph.instances.len();
    assert!(instances > INSTANCES, "expected more than {INSTANCES} instances, got {instances}");
    println!(
        "config/{case:<6}  {instances} instances, {} graph nodes, {} edges: load {:.0} ms (peak {:.1} MB), \
         total {:.0} ms wall, {:.0} ms CPU, peak RSS {:.1} MB; live heap: {:.1} MB config, {:.1} MB config+graph",
        graph.graph.node_count(),
        graph.graph.edge_count(),
        loaded.as_secs_f64() * 1000.0,
        peak_after_load,
        total.as_secs_f64() * 1000.0,
        (cpu_seconds() - cpu_start) * 1000.0,
        peak_rss_mb(),
        live_after_load,
        live_mb(),
    );
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(pos) = args.iter().position(|a| a == "--case") {
        run_case(args.get(pos + 1).map(String::as_str).unwrap_or("count"));
        return;
    }
    let exe = std::env::current_exe().expect("own path");
    for case in ["count", "blocks"] {
        let status = Command::new(&exe).args(["--case", case]).status().expect("run case");
        if !status.success() {
            eprintln!("config/{case}: failed");
            std::process::exit(1);
        }
    }
    println!("targets: total < 1000 ms and peak RSS < 300 MB per case");
}
