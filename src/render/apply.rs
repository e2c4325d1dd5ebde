//! Views of a running apply: a live view on a terminal (one line per running change with its
//! elapsed time), plain lines otherwise, JSON lines for machines; and the summary at the end.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::time::Duration;

use owo_colors::OwoColorize;

use crate::apply::{ApplyReport, Outcome, Reporter};
use crate::plan::Action;

fn doing(action: Action) -> (&'static str, &'static str) {
    match action {
        Action::Create => ("Creating", "Creation complete"),
        Action::Update => ("Modifying", "Modifications complete"),
        Action::Replace => ("Replacing", "Replacement complete"),
        Action::Delete => ("Destroying", "Destruction complete"),
        Action::Import => ("Importing", "Import complete"),
        Action::Move => ("Moving", "Move complete"),
        Action::Forget => ("Forgetting", "Removed from state"),
        Action::Read | Action::NoOp => ("Reading", "Read complete"),
    }
}

fn secs(d: Duration) -> String {
    format!("{:.1}s", d.as_secs_f64())
}

/// Plain lines, as Terraform prints them: `vm.web: Creating...`, `vm.web: Creation complete after 2.1s`.
pub struct LineReporter {
    pub color: bool,
}

impl Reporter for LineReporter {
    fn started(&self, address: &str, action: Action) {
        println!("{}: {}...", self.bold(address), doing(action).0);
    }
    fn finished(&self, address: &str, action: Action, outcome: &Outcome, elapsed: Duration) {
        match outcome {
            Outcome::Applied => println!("{}: {} after {}", self.bold(address), doing(action).1, secs(elapsed)),
            Outcome::Failed(e) => println!("{}: {} {e}", self.bold(address), self.red("failed:")),
            Outcome::Skipped(why) => println!("{}: skipped ({why})", self.bold(address)),
        }
    }
}

impl LineReporter {
    fn bold(&self, s: &str) -> String {
        if self.color {
            s.bold().to_string()
        } else {
            s.to_string()
        }
    }
    fn red(&self, s: &str) -> String {
        if self.color {
            s.red().to_string()
        } else {
            s.to_string()
        }
    }
}

/// A spinner line per running change, on a terminal; finished changes print above them.
pub struct LiveReporter {
    multi: indicatif::MultiProgress,
    bars: Mutex<HashMap<String, indicatif::ProgressBar>>,
    lines: LineReporter,
}

impl LiveReporter {
    pub fn new(color: bool) -> Self {
        LiveReporter {
            multi: indicatif::MultiProgress::new(),
            bars: Mutex::new(HashMap::new()),
            lines: LineReporter { color },
        }
    }
}

impl Reporter for LiveReporter {
    fn started(&self, address: &str, action: Action) {
        let bar = self.multi.add(indicatif::ProgressBar::new_spinner());
        bar.set_style(
            indicatif::ProgressStyle::with_template("{spinner} {msg} [{elapsed}]")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
        );
        bar.set_message(format!("{address}: {}...", doing(action).0));
        bar.enable_steady_tick(Duration::from_millis(120));
        if let Ok(mut b) = self.bars.lock() {
            b.insert(address.to_string(), bar);
        }
    }
    fn finished(&self, address: &str, action: Action, outcome: &Outcome, elapsed: Duration) {
        if let Some(bar) = self.bars.lock().ok().and_then(|mut b| b.remove(address)) {
            bar.finish_and_clear();
            self.multi.remove(&bar);
        }
        self.multi.suspend(|| self.lines.finished(address, action, outcome, elapsed));
    }
}

/// One JSON object per line: `{"type":"apply_start","address":..}`.
pub struct JsonReporter;

impl Reporter for JsonReporter {
    fn started(&self, address: &str, action: Action) {
        println!("{}", serde_json::json!({"type": "apply_start", "address": address, "action": action}));
    }
    fn finished(&self, address: &str, action: Action, outcome: &Outcome, elapsed: Duration) {
        println!(
            "{}",
            serde_json::json!({"type": "apply_complete", "address": address, "action": action, "result": outcome, "elapsed_ms": elapsed.as_millis()})
        );
    }
}

/// "Apply complete! Resources: 2 added, 0 changed, 0 destroyed." plus what failed and why.
pub fn summary(report: &ApplyReport, color: bool) -> String {
    let mut out = String::new();
    let c = report.counts();
    let n = |k: &str| c[k].as_u64().unwrap_or(0);
    let failed: Vec<_> = report.results.iter().filter(|r| matches!(r.outcome, Outcome::Failed(_))).collect();
    let skipped: Vec<_> = report.results.iter().filter(|r| matches!(r.outcome, Outcome::Skipped(_))).collect();
    let head = if failed.is_empty() && !report.interrupted { "Apply complete!" } else { "Apply incomplete." };
    let line = format!(
        "{head} Resources: {} added, {} changed, {} destroyed{}{}.",
        n("added") + n("replaced"),
        n("changed"),
        n("destroyed") + n("replaced"),
        if failed.is_empty() { String::new() } else { format!(", {} failed", failed.len()) },
        if skipped.is_empty() { String::new() } else { format!(", {} skipped", skipped.len()) },
    );
    let _ = writeln!(out, "\n{}", if color { line.bold().to_string() } else { line });
    for f in &failed {
        if let Outcome::Failed(e) = &f.outcome {
            let _ = writeln!(out, "\nError: {}: {e}", f.address);
        }
    }
    if !skipped.is_empty() {
        let _ =
            writeln!(out, "\nSkipped: {}", skipped.iter().map(|s| s.address.as_str()).collect::<Vec<_>>().join(", "));
    }
    if report.interrupted {
        let _ =
            writeln!(out, "\nThe apply was interrupted; state records exactly what was done. Plan again to finish.");
    } else if !failed.is_empty() {
        let _ = writeln!(out, "\nState records exactly what was done; the next plan shows what is left.");
    }
    out
}
