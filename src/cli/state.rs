//! `pmx state …`: inspect and edit the state store.

use std::io::Read;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Subcommand};
use miette::IntoDiagnostic;

use super::{CmdResult, Global};
use crate::addr::ResourceAddress;
use crate::render::print_json;
use crate::state::{
    format_millis, ChangeType, EventFilter, EventKind, ResourceKind, RetentionPolicy, RunKind, RunOutcome, StateExport,
    StateLocation, Store,
};

/// Where state lives and how to share it; every command that reads or writes state takes these.
#[derive(Debug, Clone, Args)]
pub struct StateOptions {
    /// State database: a SQLite file path, sqlite://PATH or postgres://USER@HOST:PORT/DB
    /// [default: .pmx/state.db in the project folder].
    #[arg(long = "state", value_name = "URL", env = "PMX_STATE_URL", hide_env_values = true, global = true)]
    pub state: Option<String>,
    /// Workspace within the state database [default: the `pmx { state { workspace } }` setting,
    /// else "default"].
    #[arg(long, value_name = "NAME", env = "PMX_WORKSPACE", global = true)]
    pub workspace: Option<String>,
    /// How long to wait for another pmx holding the workspace lock (e.g. 30s, 2m).
    #[arg(long, value_name = "DURATION", default_value = "0s", value_parser = parse_duration, global = true)]
    pub lock_timeout: Duration,
}

impl StateOptions {
    /// Where state lives and in which workspace: `--state`/`PMX_STATE_URL` and
    /// `--workspace`/`PMX_WORKSPACE` win, then the project's `pmx { state { url, workspace } }`
    /// block (`configured`), then `.pmx/state.db` and the default workspace.
    pub fn resolve(
        &self,
        g: &Global,
        configured: Option<&crate::config::model::StateSettings>,
    ) -> crate::state::Result<(StateLocation, String)> {
        let location = match self.state.as_deref().or(configured.and_then(|c| c.url.as_deref())) {
            Some(url) => StateLocation::parse(url, &g.dir)?,
            None => StateLocation::default_for(&g.dir),
        };
        let workspace = self
            .workspace
            .clone()
            .or_else(|| configured.and_then(|c| c.workspace.clone()))
            .unwrap_or_else(|| crate::state::DEFAULT_WORKSPACE.to_string());
        Ok((location, workspace))
    }

    /// Like [`StateOptions::resolve`], reading the project's `pmx` block only when a flag does
    /// not already decide both.
    fn resolve_for_project(&self, g: &Global) -> miette::Result<(StateLocation, String)> {
        if self.state.is_some() && self.workspace.is_some() {
            return Ok(self.resolve(g, None)?);
        }
        let settings = crate::config::settings(&g.dir).map_err(|diags| {
            eprint!("{}", diags.render(g.color_stderr));
            miette::miette!(
                "the project's pmx block has errors, so where state lives is unclear; fix them or pass --state"
            )
        })?;
        Ok(self.resolve(g, settings.state.as_ref())?)
    }

    pub fn open(&self, g: &Global) -> miette::Result<Store> {
        let (location, workspace) = self.resolve_for_project(g)?;
        Ok(Store::open(&location, &workspace)?)
    }

    /// Opens the store to read it; where no state exists yet, nothing is created.
    pub fn open_read_only(&self, g: &Global) -> miette::Result<Store> {
        let (location, workspace) = self.resolve_for_project(g)?;
        Ok(Store::open_read_only(&location, &workspace)?)
    }

    /// Opens the store and takes the workspace lock for `command`.
    pub fn open_locked(&self, g: &Global, command: &str) -> miette::Result<Store> {
        let mut store = self.open(g)?;
        store.lock(command, self.lock_timeout)?;
        Ok(store)
    }
}

#[derive(Debug, Args)]
pub struct StateArgs {
    #[command(flatten)]
    pub options: StateOptions,
    #[command(subcommand)]
    pub command: StateCommand,
}

#[derive(Debug, Subcommand)]
pub enum StateCommand {
    /// List the resources in state (optionally only those whose address starts with a prefix).
    List {
        /// Only resources of this kind (vm, container, pool, node, storage).
        #[arg(long, value_parser = parse_kind)]
        kind: Option<ResourceKind>,
        /// Address prefixes, e.g. `vm.web`.
        prefixes: Vec<String>,
    },
    /// Show one resource: identity, digest and attributes.
    Show {
        address: String,
        /// Show the version written at this serial instead of the current one.
        #[arg(long)]
        serial: Option<i64>,
    },
    /// Forget resources: they stay on Proxmox, pmx stops managing them.
    Rm {
        #[arg(required = true)]
        addresses: Vec<String>,
        /// Say what would be removed, change nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Adopt an existing guest: record it in state as managed under ADDRESS, which the
    /// configuration declares (`pmx state import vm.web pve1/qemu/100`; a pool by its id).
    Import {
        /// The resource address, e.g. `vm.web` or `vm.web[0]`.
        address: String,
        /// `NODE/qemu/VMID`, `NODE/lxc/VMID`, `qemu/VMID`, `VMID`, or a pool's id.
        id: String,
    },
    /// Rename a resource in state (after renaming its block).
    Mv {
        from: String,
        to: String,
        #[arg(long)]
        dry_run: bool,
    },
    /// Snapshots and events as a timeline, for one resource or the workspace.
    History {
        address: Option<String>,
        /// At most this many entries (the newest).
        #[arg(long, default_value_t = 100)]
        limit: i64,
    },
    /// The audit trail.
    Events {
        /// Only events since a time: a duration ago (90m, 2h, 7d) or a date/time (RFC 3339).
        #[arg(long)]
        since: Option<String>,
        /// Only events of this kind (e.g. ResourceUpdated).
        #[arg(long, value_parser = parse_event_kind)]
        kind: Option<EventKind>,
        /// Only events of this run.
        #[arg(long)]
        run: Option<i64>,
        /// At most this many (the newest).
        #[arg(long)]
        limit: Option<i64>,
    },
    /// The runs (plans, applies, imports, refreshes) with their outcome and metrics: counts,
    /// durations, API calls and retries.
    Runs {
        /// At most this many (the newest).
        #[arg(long, default_value_t = 20)]
        limit: i64,
    },
    /// Delete old snapshots (never a resource's current one; events are kept).
    Prune {
        /// Keep this many newest snapshots per resource.
        #[arg(long)]
        keep: Option<u32>,
        /// Delete snapshots older than this (e.g. 30d).
        #[arg(long, value_parser = parse_duration)]
        max_age: Option<Duration>,
        #[arg(long)]
        dry_run: bool,
    },
    /// Clear a workspace lock left by a process that is gone.
    Unlock { id: String },
    /// Apply pending schema migrations (opening state does this too) and show the schema.
    Migrate,
    /// Write the workspace as JSON to stdout.
    Pull,
    /// Load a workspace from a JSON export (a file, or - for stdin).
    Push {
        file: String,
        /// Replace state even if the export is older or of another lineage.
        #[arg(long)]
        force: bool,
    },
    /// Take the workspace lock and hold it (for tests of locking).
    #[command(hide = true)]
    Lock {
        #[arg(long, default_value_t = 10.0)]
        hold_for: f64,
    },
}

pub fn run(args: StateArgs, g: &Global) -> CmdResult {
    let opts = &args.options;
    match args.command {
        StateCommand::List { kind, prefixes } => list(opts, g, kind, &prefixes),
        StateCommand::Show { address, serial } => show(opts, g, &address, serial),
        StateCommand::Rm { addresses, dry_run } => rm(opts, g, &addresses, dry_run),
        StateCommand::Import { address, id } => super::import::state_import(opts, g, &address, &id),
        StateCommand::Mv { from, to, dry_run } => mv(opts, g, &from, &to, dry_run),
        StateCommand::History { address, limit } => history(opts, g, address.as_deref(), limit),
        StateCommand::Events { since, kind, run, limit } => events(opts, g, since.as_deref(), kind, run, limit),
        StateCommand::Runs { limit } => runs(opts, g, limit),
        StateCommand::Prune { keep, max_age, dry_run } => prune(opts, g, keep, max_age, dry_run),
        StateCommand::Unlock { id } => unlock(opts, g, &id),
        StateCommand::Migrate => migrate(opts, g),
        StateCommand::Pull => pull(opts, g),
        StateCommand::Push { file, force } => push(opts, g, &file, force),
        StateCommand::Lock { hold_for } => hold_lock(opts, g, hold_for),
    }
}

fn runs(opts: &StateOptions, g: &Global, limit: i64) -> CmdResult {
    let mut store = opts.open_read_only(g)?;
    let runs = store.runs(limit)?;
    if g.json {
        print_json(&serde_json::to_value(&runs).into_diagnostic()?);
        return Ok(ExitCode::SUCCESS);
    }
    for r in &runs {
        let took =
            r.finished_at.map(|f| format!("{:.1}s", (f - r.started_at) as f64 / 1000.0)).unwrap_or_else(|| "-".into());
        let metrics = r.counts.as_ref().map(|c| {
            // An apply's metrics sit under "counts" beside its per-change results.
            let c = c.get("counts").unwrap_or(c);
            c.as_object()
                .map(|m| {
                    m.iter()
                        .filter(|(_, v)| !v.is_null())
                        .map(|(k, v)| format!("{k}={v}"))
                        .collect::<Vec<_>>()
                        .join(" ")
                })
                .unwrap_or_default()
        });
        println!(
            "{:>5}  {}  {:<8} {:<9} {:>7}  {}  {}",
            r.id,
            format_millis(r.started_at),
            r.kind.as_str(),
            r.outcome.as_str(),
            took,
            r.command,
            metrics.unwrap_or_default()
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn parse_address(text: &str) -> miette::Result<ResourceAddress> {
    text.parse::<ResourceAddress>()
        .map_err(|e| miette::miette!(help = "addresses look like vm.web, vm.web[0] or vm.db[\"a\"]", "{e}"))
}

fn list(opts: &StateOptions, g: &Global, kind: Option<ResourceKind>, prefixes: &[String]) -> CmdResult {
    let mut store = opts.open_read_only(g)?;
    let all = store.list(kind)?;
    let shown: Vec<_> = all
        .into_iter()
        .filter(|r| {
            let a = r.address.to_string();
            prefixes.is_empty()
                || prefixes.iter().any(|p| {
                    a.strip_prefix(p.as_str()).is_some_and(|rest| rest.is_empty() || rest.starts_with(['[', '.']))
                })
        })
        .collect();
    if g.json {
        let meta = store.meta()?;
        print_json(&serde_json::json!({
            "workspace": meta.workspace,
            "lineage": meta.lineage,
            "serial": meta.serial,
            "resources": shown,
        }));
    } else {
        use std::io::Write;
        let mut out = std::io::BufWriter::new(std::io::stdout().lock());
        for r in &shown {
            let _ = writeln!(out, "{}", r.address);
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn show(opts: &StateOptions, g: &Global, address: &str, serial: Option<i64>) -> CmdResult {
    let address = parse_address(address)?;
    let mut store = opts.open_read_only(g)?;
    let value = match serial {
        Some(serial) => {
            let snap = store.snapshot_at(&address, serial)?.ok_or_else(|| {
                miette::miette!(
                    help = "pmx state history ADDRESS lists the serials",
                    "no version of {address} at serial {serial}"
                )
            })?;
            serde_json::to_value(snap).into_diagnostic()?
        }
        None => serde_json::to_value(store.require(&address)?).into_diagnostic()?,
    };
    if g.json {
        print_json(&value);
        return Ok(ExitCode::SUCCESS);
    }
    println!("# {address}");
    if let serde_json::Value::Object(map) = &value {
        for (key, v) in map {
            if key == "attributes" || key == "address" {
                continue;
            }
            let text = match v {
                serde_json::Value::String(s) => s.clone(),
                serde_json::Value::Number(n) if key.ends_with("_at") => format_millis(n.as_i64().unwrap_or_default()),
                other => other.to_string(),
            };
            println!("{key:<12} {text}");
        }
        if let Some(attrs) = map.get("attributes") {
            println!("attributes:");
            let pretty = serde_json::to_string_pretty(attrs).unwrap_or_default();
            for line in pretty.lines() {
                println!("  {line}");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn command_line(parts: &[&str]) -> String {
    let mut s = String::from("pmx state");
    for p in parts {
        s.push(' ');
        s.push_str(p);
    }
    s
}

/// Runs `f` as an edit run under the workspace lock; the run records how it ended.
fn edit_run<T>(
    store: &mut Store,
    command: &str,
    f: impl FnOnce(&mut Store, i64) -> miette::Result<T>,
) -> miette::Result<T> {
    let run = store.begin_run(RunKind::Edit, command)?;
    match f(store, run) {
        Ok(v) => {
            store.finish_run(run, RunOutcome::Succeeded, None)?;
            Ok(v)
        }
        Err(e) => {
            let _ = store.finish_run(run, RunOutcome::Failed, Some(serde_json::json!({"error": e.to_string()})));
            Err(e)
        }
    }
}

fn rm(opts: &StateOptions, g: &Global, addresses: &[String], dry_run: bool) -> CmdResult {
    let parsed = addresses.iter().map(|a| parse_address(a)).collect::<miette::Result<Vec<_>>>()?;
    let command = command_line(&std::iter::once("rm").chain(addresses.iter().map(String::as_str)).collect::<Vec<_>>());
    let mut store = opts.open(g)?;
    // Unknown addresses fail before the lock is taken; the commit checks again under it.
    for address in &parsed {
        store.require(address)?;
    }
    if !dry_run {
        store.lock(&command, opts.lock_timeout)?;
    }
    let mut changes = Vec::new();
    for address in &parsed {
        let current = store.require(address)?;
        changes.push(crate::state::Change::new(
            ChangeType::Forgotten,
            current.kind,
            address.clone(),
            serde_json::Value::Null,
        ));
    }
    let serial = if dry_run {
        None
    } else {
        Some(edit_run(&mut store, &command, |s, run| Ok(s.commit_changes(Some(run), changes)?))?.serial)
    };
    store.unlock()?;
    let removed: Vec<String> = parsed.iter().map(|a| a.to_string()).collect();
    if g.json {
        print_json(&serde_json::json!({"removed": removed, "dry_run": dry_run, "serial": serial}));
    } else {
        let verb = if dry_run { "Would remove" } else { "Removed" };
        for a in &removed {
            println!("{verb} {a}");
        }
        if !dry_run {
            println!("Successfully removed {} resource instance(s).", removed.len());
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn mv(opts: &StateOptions, g: &Global, from: &str, to: &str, dry_run: bool) -> CmdResult {
    let (from_addr, to_addr) = (parse_address(from)?, parse_address(to)?);
    let command = command_line(&["mv", from, to]);
    let mut store = opts.open(g)?;
    store.require(&from_addr)?;
    if store.get(&to_addr)?.is_some() {
        return Err(crate::state::StateError::AlreadyExists {
            address: to_addr.to_string(),
            workspace: store.workspace().to_string(),
        }
        .into());
    }
    if !dry_run {
        store.lock(&command, opts.lock_timeout)?;
    }
    let serial = if dry_run {
        None
    } else {
        Some(edit_run(&mut store, &command, |s, run| Ok(s.move_resource(Some(run), &from_addr, &to_addr)?))?)
    };
    store.unlock()?;
    if g.json {
        print_json(&serde_json::json!({"from": from_addr, "to": to_addr, "dry_run": dry_run, "serial": serial}));
    } else if dry_run {
        println!("Would move {from_addr} to {to_addr}");
    } else {
        println!("Move {from_addr} to {to_addr}\nSuccessfully moved 1 object.");
    }
    Ok(ExitCode::SUCCESS)
}

fn who(user: &str, host: &str) -> String {
    if user.is_empty() && host.is_empty() {
        "-".into()
    } else {
        format!("{user}@{host}")
    }
}

fn history(opts: &StateOptions, g: &Global, address: Option<&str>, limit: i64) -> CmdResult {
    let address = address.map(parse_address).transpose()?;
    let mut store = opts.open_read_only(g)?;
    if let Some(a) = &address {
        if store.get(a)?.is_none() && store.snapshots(a)?.is_empty() {
            return Err(store
                .require(a)
                .err()
                .map(miette::Report::new)
                .unwrap_or_else(|| miette::miette!("{a} has no history")));
        }
    }
    let timeline = store.history(address.as_ref(), Some(limit))?;
    if g.json {
        print_json(&serde_json::json!({"workspace": store.workspace(), "entries": timeline}));
        return Ok(ExitCode::SUCCESS);
    }
    for e in &timeline {
        let serial = e.serial.map(|s| format!("#{s}")).unwrap_or_default();
        let addr = e.address.as_ref().map(|a| a.to_string()).unwrap_or_default();
        let run = e.run_id.map(|r| format!("run {r}")).unwrap_or_default();
        let payload = e.payload.as_ref().map(|p| p.to_string()).unwrap_or_default();
        let line = format!(
            "{}  {:>5}  {:<8}  {:<24}  {:<20}  {:<20}  {run:<7}  {payload}",
            format_millis(e.at),
            serial,
            e.entry,
            e.what,
            addr,
            who(&e.user, &e.host)
        );
        println!("{}", line.trim_end());
    }
    if timeline.is_empty() {
        println!("No history.");
    }
    Ok(ExitCode::SUCCESS)
}

fn parse_since(text: &str) -> miette::Result<i64> {
    if let Ok(d) = parse_duration(text) {
        return Ok(crate::state::now_millis() - i64::try_from(d.as_millis()).unwrap_or(i64::MAX / 2));
    }
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(text) {
        return Ok(t.timestamp_millis());
    }
    if let Ok(d) = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        if let Some(t) = d.and_hms_opt(0, 0, 0) {
            return Ok(t.and_utc().timestamp_millis());
        }
    }
    Err(miette::miette!(
        help = "a duration ago (90m, 2h, 7d) or a time (2026-11-26 or 2026-11-26T10:00:00Z)",
        "--since {text:?}: not a duration or a date"
    ))
}

fn events(
    opts: &StateOptions,
    g: &Global,
    since: Option<&str>,
    kind: Option<EventKind>,
    run: Option<i64>,
    limit: Option<i64>,
) -> CmdResult {
    let since = since.map(parse_since).transpose()?;
    let mut store = opts.open_read_only(g)?;
    let events = store.events(&EventFilter { since, kind, address: None, run_id: run, limit })?;
    if g.json {
        print_json(&serde_json::json!({"workspace": store.workspace(), "events": events}));
        return Ok(ExitCode::SUCCESS);
    }
    // Columns as wide as their longest entry (Display of the kinds does not pad).
    let rows: Vec<[String; 6]> = events
        .iter()
        .map(|e| {
            [
                format_millis(e.created_at),
                e.kind.to_string(),
                e.address.as_ref().map(|a| a.to_string()).unwrap_or_default(),
                who(&e.user, &e.host),
                e.run_id.map(|r| format!("run {r}")).unwrap_or_default(),
                e.payload.as_ref().map(|p| p.to_string()).unwrap_or_default(),
            ]
        })
        .collect();
    let width = |i: usize| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0);
    let (kind_w, addr_w, who_w, run_w) = (width(1), width(2), width(3), width(4));
    for [at, kind, addr, by, run, payload] in &rows {
        let line = format!("{at}  {kind:<kind_w$}  {addr:<addr_w$}  {by:<who_w$}  {run:<run_w$}  {payload}");
        println!("{}", line.trim_end());
    }
    if events.is_empty() {
        println!("No events.");
    }
    Ok(ExitCode::SUCCESS)
}

fn prune(opts: &StateOptions, g: &Global, keep: Option<u32>, max_age: Option<Duration>, dry_run: bool) -> CmdResult {
    let policy = RetentionPolicy { keep_last: keep, max_age };
    let mut store = if dry_run { opts.open(g)? } else { opts.open_locked(g, "pmx state prune")? };
    let report = store.prune(policy, dry_run)?;
    store.unlock()?;
    if g.json {
        print_json(&serde_json::to_value(&report).into_diagnostic()?);
    } else {
        let verb = if dry_run { "Would prune" } else { "Pruned" };
        println!("{verb} {} of {} snapshots ({} kept).", report.deleted, report.examined, report.kept);
    }
    Ok(ExitCode::SUCCESS)
}

fn unlock(opts: &StateOptions, g: &Global, id: &str) -> CmdResult {
    let mut store = opts.open(g)?;
    let was = store.force_unlock(id)?;
    if g.json {
        print_json(&serde_json::json!({"unlocked": was}));
    } else {
        println!("Lock {} cleared (it was held by {}).", was.id, was.describe());
    }
    Ok(ExitCode::SUCCESS)
}

fn migrate(opts: &StateOptions, g: &Global) -> CmdResult {
    let (location, workspace) = opts.resolve_for_project(g)?;
    let mut store = Store::open(&location, &workspace)?;
    let (version, applied) = store.schema_info()?;
    if g.json {
        print_json(&serde_json::json!({
            "location": location.to_string(),
            "schema_version": version,
            "migrations": applied,
        }));
    } else {
        println!("State at {location} is at schema {version} ({} migration(s) applied).", applied.len());
    }
    Ok(ExitCode::SUCCESS)
}

fn pull(opts: &StateOptions, g: &Global) -> CmdResult {
    let mut store = opts.open_read_only(g)?;
    let export = store.pull()?;
    let text = serde_json::to_string_pretty(&export).into_diagnostic()?;
    println!("{text}");
    Ok(ExitCode::SUCCESS)
}

fn push(opts: &StateOptions, g: &Global, file: &str, force: bool) -> CmdResult {
    let text = if file == "-" {
        let mut s = String::new();
        std::io::stdin().read_to_string(&mut s).map_err(|e| miette::miette!("cannot read stdin: {e}"))?;
        s
    } else {
        let path = g.dir.join(file);
        std::fs::read_to_string(&path).map_err(|e| miette::miette!("cannot read {}: {e}", path.display()))?
    };
    let source = if file == "-" { "stdin" } else { file };
    let export = StateExport::from_json(&text, source)?;
    let command = command_line(&["push", file]);
    let mut store = opts.open_locked(g, &command)?;
    let report = store.push(&export, force)?;
    store.unlock()?;
    if g.json {
        print_json(&serde_json::to_value(&report).into_diagnostic()?);
    } else {
        println!(
            "Pushed {} resources and {} snapshots into workspace {:?} at {} (serial {}){}.",
            report.resources,
            report.snapshots,
            store.workspace(),
            store.location(),
            report.serial,
            if report.history_copied { ", with its history" } else { "" }
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn hold_lock(opts: &StateOptions, g: &Global, hold_for: f64) -> CmdResult {
    use std::io::Write;
    let secs = if hold_for.is_finite() && hold_for >= 0.0 { hold_for } else { 0.0 };
    let mut store = opts.open_locked(g, &format!("pmx state lock --hold-for {secs}"))?;
    let id = store.held_lock().map(|l| l.id.clone()).unwrap_or_default();
    println!("locked {id}");
    let _ = std::io::stdout().flush();
    std::thread::sleep(Duration::from_secs_f64(secs));
    store.unlock()?;
    Ok(ExitCode::SUCCESS)
}

fn parse_kind(s: &str) -> Result<ResourceKind, String> {
    s.parse()
}

fn parse_event_kind(s: &str) -> Result<EventKind, String> {
    s.parse()
}

/// `0`, `500ms`, `30s`, `5m`, `2h`, `7d`, or a plain number of seconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    let split = t.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let value: f64 = num.parse().map_err(|_| format!("{text:?} is not a duration (e.g. 30s, 5m, 2h, 7d)"))?;
    let secs = match unit {
        "" | "s" => value,
        "ms" => value / 1000.0,
        "m" => value * 60.0,
        "h" => value * 3600.0,
        "d" => value * 86400.0,
        _ => return Err(format!("{text:?}: unknown unit {unit:?} (use ms, s, m, h or d)")),
    };
    Duration::try_from_secs_f64(secs).map_err(|_| format!("{text:?} is out of range"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("0").unwrap(), Duration::ZERO);
        assert_eq!(parse_duration("30s").unwrap(), Duration::from_secs(30));
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("2h").unwrap(), Duration::from_secs(7200));
        assert_eq!(parse_duration("1.5m").unwrap(), Duration::from_secs(90));
        assert!(parse_duration("10 parsecs").is_err());
        assert!(parse_duration("").is_err());
    }

    #[test]
    fn since_accepts_durations_and_dates() {
        let now = crate::state::now_millis();
        let an_hour_ago = parse_since("1h").unwrap();
        assert!((now - an_hour_ago - 3_600_000).abs() < 5_000);
        assert_eq!(parse_since("2026-01-02").unwrap(), 1_767_312_000_000);
        assert!(parse_since("yesterday-ish").is_err());
    }
}
