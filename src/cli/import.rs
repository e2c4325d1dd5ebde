//! `pmx import`: read the cluster, write `.pmx` files for what it holds, record it in state,
//! all in one locked run. The decisions are in `crate::import`.

use std::collections::HashSet;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, ValueEnum};
use miette::{miette, IntoDiagnostic};

use super::state::StateOptions;
use super::{CmdResult, Global, VarArgs};
use crate::import::discover::Discovered;
use crate::import::{Filter, GroupBy, Known};
use crate::operation::Endpoint;
use crate::proxmox::ProviderSettings;
use crate::state::{RunKind, RunOutcome};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Group {
    /// One file, imported.pmx.
    None,
    /// A file per node.
    Node,
    /// A file per pool.
    Pool,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// Only these guests (VMIDs).
    #[arg(value_name = "VMID")]
    pub vmids: Vec<u32>,
    /// Write the generated .pmx files into this folder (default: the project folder).
    #[arg(long = "out", alias = "out-dir", value_name = "DIR")]
    pub out_dir: Option<PathBuf>,
    /// Only guests on this node (repeatable).
    #[arg(long, value_name = "NODE")]
    pub node: Vec<String>,
    /// Only guests in this pool (repeatable).
    #[arg(long, value_name = "POOL")]
    pub pool: Vec<String>,
    /// Only guests with this tag (repeatable).
    #[arg(long, value_name = "TAG")]
    pub tag: Vec<String>,
    /// Only guests whose name matches this glob (`web-*`).
    #[arg(long, value_name = "GLOB")]
    pub name: Option<String>,
    /// How to split the generated configuration into files.
    #[arg(long, value_enum, default_value_t = Group::None)]
    pub group_by: Group,
    /// Write into a folder that already holds .pmx files (existing files are never overwritten).
    #[arg(long)]
    pub force: bool,
    #[command(flatten)]
    pub vars: VarArgs,
    #[command(flatten)]
    pub state: StateOptions,
}

pub fn run(args: ImportArgs, g: &Global) -> CmdResult {
    let out_dir = args.out_dir.as_ref().map(|d| g.dir.join(d)).unwrap_or_else(|| g.dir.clone());
    std::fs::create_dir_all(&out_dir).map_err(|e| miette!("cannot create {}: {e}", out_dir.display()))?;
    let existing = crate::config::config_files(&out_dir).unwrap_or_default();
    if !existing.is_empty() && !args.force {
        return Err(miette!(
            help = "pass --force to add the generated files beside them (no file is ever overwritten), or --out DIR",
            "{} already holds .pmx files",
            out_dir.display()
        ));
    }
    // The cluster: the project's provider block when there is one, else the environment.
    let has_config = crate::config::config_files(&g.dir).map(|f| !f.is_empty()).unwrap_or(false);
    let mut names: HashSet<String> = HashSet::new();
    let (endpoint, state_settings) = if has_config {
        let project = super::plan::load_project(g, &args.vars)?;
        names.extend(project.graph.instances.keys().map(|a| a.config.name.clone()));
        let clients = project.clients()?;
        let (k, e) = clients.into_iter().next().ok_or_else(|| miette!("no provider"))?;
        (Endpoint { key: k, url: e.url, client: e.client }, project.state_settings().cloned())
    } else {
        let settings = ProviderSettings::default().with_env().into_diagnostic()?;
        (Endpoint::new("proxmox", settings)?, None)
    };
    let (location, workspace) = args.state.resolve(g, state_settings.as_ref())?;
    let mut store = crate::operation::open_store(&location, &workspace)?;
    store.lock("pmx import", args.state.lock_timeout)?;
    let run = store.begin_run(RunKind::Import, "pmx import")?;
    let stored = store.find_all(None)?;
    let managed: HashSet<u32> =
        stored.iter().filter(|s| crate::plan::Bookkeeping::is_managed(s)).filter_map(|s| s.identity.vmid).collect();
    names.extend(
        stored.iter().filter(|s| crate::plan::Bookkeeping::is_managed(s)).map(|s| s.address.config.name.clone()),
    );
    let runtime = crate::operation::runtime()?;
    let progress = super::refresh::spinner(g, "Reading the cluster");
    let t = std::time::Instant::now();
    let filter = Filter { nodes: args.node, pools: args.pool, vmids: args.vmids, tags: args.tag, name: args.name };
    // Only the configs of guests this import may adopt are read.
    let wanted = |r: &crate::proxmox::models::ClusterResource| {
        filter.matches(r) && r.vmid.is_some_and(|v| !managed.contains(&v))
    };
    let discovered = runtime.block_on(crate::import::discover::discover(&endpoint.client, 10, wanted));
    if let Some(p) = progress {
        p.finish_and_clear();
    }
    let Discovered { view, unreachable } = match discovered {
        Ok(d) => d,
        Err(e) => {
            let _ = store.finish_run(run, RunOutcome::Failed, Some(serde_json::json!({"error": e.to_string()})));
            return Err(miette!("cannot read the cluster at {}: {e}", endpoint.url));
        }
    };
    tracing::info!(requests = view.requests, elapsed_ms = t.elapsed().as_millis() as u64, "import: cluster read");
    for v in &filter.vmids {
        if !view.resources.iter().any(|r| r.vmid == Some(*v)) {
            let _ = store.finish_run(run, RunOutcome::Failed, None);
            return Err(miette!("no guest with vmid {v} on {}", endpoint.url));
        }
    }
    let group = match args.group_by {
        Group::None => GroupBy::None,
        Group::Node => GroupBy::Node,
        Group::Pool => GroupBy::Pool,
    };
    let pools: std::collections::HashMap<String, String> = stored
        .iter()
        .filter(|s| s.kind == crate::state::ResourceKind::Pool && crate::plan::Bookkeeping::is_managed(s))
        .filter_map(|s| Some((s.attributes.get("id")?.as_str()?.to_string(), s.address.config.name.clone())))
        .collect();
    let known = Known { vmids: managed, pools, names };
    let t = std::time::Instant::now();
    let imported = crate::import::decide(&view, &filter, &known, &unreachable, &endpoint.key, group);
    tracing::info!(resources = imported.changes.len(), elapsed_ms = t.elapsed().as_millis() as u64, "import: decided");
    let t = std::time::Instant::now();
    // Files first (refusing to overwrite), then state: a failed write leaves state untouched.
    let mut written = Vec::new();
    for (name, text) in &imported.files {
        let path = out_dir.join(name);
        if path.exists() {
            let _ = store.finish_run(run, RunOutcome::Failed, None);
            return Err(miette!("{} exists; pmx import never overwrites a file", path.display()));
        }
        let formatted = crate::config::format::format(text).unwrap_or_else(|_| text.clone());
        std::fs::write(&path, formatted).map_err(|e| miette!("cannot write {}: {e}", path.display()))?;
        written.push(path);
    }
    tracing::info!(files = written.len(), elapsed_ms = t.elapsed().as_millis() as u64, "import: files written");
    let t = std::time::Instant::now();
    let count = imported.changes.len();
    // A guest `pmx refresh` recorded as discovered becomes managed: its discovered record goes
    // in the same transaction as the import (state holds one address per guest per cluster).
    let mut batch = Vec::new();
    for c in &imported.changes {
        let Some(vmid) = c.identity.vmid else { continue };
        for s in stored.iter().filter(|s| s.identity.vmid == Some(vmid) && s.origin == crate::state::Origin::Discovered)
        {
            let same_cluster = s.cluster.as_deref().unwrap_or("proxmox") == endpoint.key;
            if same_cluster {
                batch.push(
                    crate::state::Change::new(
                        crate::state::ChangeType::Forgotten,
                        s.kind,
                        s.address.clone(),
                        serde_json::Value::Null,
                    )
                    .payload(serde_json::json!({"source": "import", "now": c.address.to_string()})),
                );
            }
        }
    }
    batch.extend(imported.changes);
    store.commit_changes(Some(run), batch)?;
    tracing::info!(elapsed_ms = t.elapsed().as_millis() as u64, "import: state written");
    store.finish_run(
        run,
        RunOutcome::Succeeded,
        Some(serde_json::json!({
            "imported": count,
            "skipped": imported.skipped.len(),
            "unreachable_nodes": unreachable,
        })),
    )?;
    if g.json {
        crate::render::print_json(&serde_json::json!({
            "imported": count,
            "files": written.iter().map(|p| p.display().to_string()).collect::<Vec<_>>(),
            "skipped": imported.skipped.iter().map(|(w, why)| serde_json::json!({"guest": w, "reason": why})).collect::<Vec<_>>(),
            "notes": imported.notes.iter().map(|(w, n)| serde_json::json!({"guest": w, "note": n})).collect::<Vec<_>>(),
            "unmanaged": imported.unmanaged.iter().map(|(a, keys)| serde_json::json!({"address": a, "options": keys})).collect::<Vec<_>>(),
            "unreachable_nodes": unreachable,
            "complete": unreachable.is_empty(),
        }));
    } else if !g.quiet {
        for (what, why) in &imported.skipped {
            println!("  skipped {what}: {why}");
        }
        for (what, note) in &imported.notes {
            println!("  note: {what}: {note}");
        }
        for (address, keys) in &imported.unmanaged {
            println!("  {address}: not managed by pmx (kept as they are): {}", keys.join(", "));
        }
        for p in &written {
            println!("  wrote {}", p.display());
        }
        println!("\nImport complete: {count} resources recorded in state. Run `pmx plan`: it should show no changes.");
    }
    // An unreachable node makes the import partial, not failed: what was read is adopted and
    // consistent. Exit 0, say so on stderr (and in the JSON), and name the nodes.
    if !unreachable.is_empty() && !g.quiet {
        let nodes: Vec<&str> = unreachable.iter().map(String::as_str).collect();
        eprintln!(
            "Warning: node{} {} did not answer; {} guests were not imported. Adopt them later with `pmx import --node {} --out DIR`.",
            if nodes.len() == 1 { "" } else { "s" },
            nodes.join(", "),
            if nodes.len() == 1 { "its" } else { "their" },
            nodes.join(" --node "),
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// `pmx state import ADDRESS ID`: one guest into one declared address, for scripts.
pub fn state_import(opts: &StateOptions, g: &Global, address: &str, id: &str) -> CmdResult {
    let project = super::plan::load_project(g, &VarArgs { inputs: vec![] })?;
    let (location, workspace) = opts.resolve(g, project.state_settings())?;
    let mut store = crate::operation::open_store(&location, &workspace)?;
    let adopted = crate::import::adopt::state_import(&project, &mut store, address, id, opts.lock_timeout)?;
    if g.json {
        crate::render::print_json(&serde_json::json!({
            "address": adopted.address.to_string(),
            "id": adopted.id,
            "unmanaged": adopted.unmanaged,
            "note": adopted.note,
        }));
    } else if !g.quiet {
        println!("Imported {} as {}.", adopted.id, adopted.address);
        if let Some(n) = &adopted.note {
            println!("  note: {n}");
        }
        if !adopted.unmanaged.is_empty() {
            println!("  not managed by pmx (kept as they are): {}", adopted.unmanaged.join(", "));
        }
        println!("Run `pmx plan` to see how the configuration differs from the guest.");
    }
    Ok(ExitCode::SUCCESS)
}
