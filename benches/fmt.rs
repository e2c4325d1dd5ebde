//! `pmx fmt`'s formatter on large input: a 10,000-block file (about 150,000 lines) written
//! messily, then the same file already formatted (the common `fmt --check` case). Prints wall
//! time, throughput and peak memory (VmHWM).

use std::time::Instant;

fn messy_config(blocks: usize) -> String {
    let mut s = String::from("# generated for the fmt benchmark\n\n");
    for i in 0..blocks {
        s.push_str(&format!(
            "resource \"vm\" \"web{i}\" {{\ncount={}\n  name =  \"web-${{count.index}}-{i}\"  # the name\n\ttags = [\"a\",\"b\" ,\"c\"]\n  cpu {{\n      cores=2\n   sockets = 1\n  }}\n  disk \"scsi0\" {{ storage=\"local-lvm\", size=\"32G\" }}\n  network \"net0\" {{ bridge = \"vmbr0\" }}\n  lifecycle {{\n    ignore_changes = [\n    tags,\n    ]\n  }}\n\n\n}}\n",
            i % 3
        ));
    }
    s
}

fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

fn run(label: &str, text: &str) -> String {
    let start = Instant::now();
    let out = match pmx::config::format::format(text) {
        Ok(out) => out,
        Err(e) => {
            eprintln!("{label}: format failed: {e}");
            std::process::exit(1);
        }
    };
    let secs = start.elapsed().as_secs_f64();
    let mb = text.len() as f64 / 1_048_576.0;
    println!("{label:<28} {:>8} lines  {:>8.1} ms  {:>6.1} MB/s", text.lines().count(), secs * 1000.0, mb / secs);
    out
}

fn main() {
    let messy = messy_config(10_000);
    let formatted = run("fmt 10,000 messy blocks", &messy);
    let again = run("fmt 10,000 formatted blocks", &formatted);
    assert_eq!(again, formatted, "formatting must be idempotent");
    match peak_rss_mb() {
        Some(mb) => println!("peak memory (VmHWM): {mb:.1} MB"),
        None => println!("peak memory: unavailable (no /proc/self/status)"),
    }
}
