//! `pmx plan --generate-config-out FILE`: for `import` blocks whose target has no resource
//! block yet, write the blocks (as `pmx import` writes them) to FILE, as Terraform's
//! `plan -generate-config-out` does; the plan then loads FILE and shows the imports.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::Path;

use miette::miette;

use crate::addr::{InstanceKey, ResourceAddress};
use crate::config::{self, VarInputs};
use crate::operation::Project;
use crate::plan::ClusterView;
use crate::proxmox::models::{ClusterResource, ResourceKind as PveKind};

/// A guest an import id (`pve1/qemu/100`, `qemu/100`, `100`) names, checked against the type
/// of the resource it is imported into; `Err` says what is wrong, for the user.
pub fn find_guest<'v>(type_name: &str, id: &str, view: &'v ClusterView) -> Result<&'v ClusterResource, String> {
    let (kind, pve) = match type_name {
        "vm" => (PveKind::Qemu, "qemu"),
        "container" => (PveKind::Lxc, "lxc"),
        other => return Err(format!("a {other} is not a guest; import ids name guests (pve1/qemu/100)")),
    };
    let parts: Vec<&str> = id.split('/').collect();
    let (node, given_kind, vmid) = match parts.as_slice() {
        [v] => (None, None, *v),
        [k, v] => (None, Some(*k), *v),
        [n, k, v] => (Some(*n), Some(*k), *v),
        _ => return Err(format!("\"{id}\" is not an id: they look like pve1/{pve}/100")),
    };
    let vmid: u32 = vmid.parse().map_err(|_| format!("\"{id}\": \"{vmid}\" is not a vmid"))?;
    if let Some(k) = given_kind.filter(|k| *k != pve) {
        return Err(format!("\"{id}\" names a {k} guest, but a {type_name} is a {pve} guest"));
    }
    let r = view.guest(vmid).ok_or_else(|| format!("no guest with vmid {vmid} on the cluster"))?;
    if r.kind != kind {
        let is = if r.kind == PveKind::Lxc { "container" } else { "vm" };
        return Err(format!("guest {vmid} is a {is}, not a {type_name}"));
    }
    if r.template == Some(true) {
        return Err(format!("guest {vmid} is a template: look it up with a data \"template\" block"));
    }
    if let Some(n) = node.filter(|n| r.node.as_deref() != Some(*n)) {
        return Err(format!("guest {vmid} is on node {}, not {n}", r.node.as_deref().unwrap_or("?")));
    }
    Ok(r)
}

/// An import block's id, when it is a plain string (ids built from expressions are left to
/// the plan, which evaluates them).
fn literal_id(expr: &config::model::Expr) -> Option<String> {
    match &expr.expr {
        hcl_edit::expr::Expression::String(s) => Some(s.value().to_string()),
        _ => None,
    }
}

/// Writes FILE (which must not exist) with a resource block for every import block whose target
/// is not declared, and returns their addresses; writes nothing when there are none. A broken
/// configuration is left to the plan to report.
pub fn generate_config(dir: &Path, inputs: &VarInputs, file: &Path) -> miette::Result<Vec<ResourceAddress>> {
    if file.exists() {
        return Err(miette!(
            help = "pick a new file name, or delete it if it holds nothing you need",
            "{} exists; --generate-config-out never overwrites a file",
            file.display()
        ));
    }
    let same_dir = |p: &Path| std::fs::canonicalize(p).ok() == std::fs::canonicalize(dir).ok();
    if file.extension().is_none_or(|e| e != "pmx") || file.parent().is_none_or(|p| !same_dir(p)) {
        return Err(miette!(
            help = "name a new .pmx file in the project folder, e.g. --generate-config-out generated.pmx",
            "--generate-config-out {}: the plan reads the generated blocks, so the file must be a .pmx file in the project folder",
            file.display()
        ));
    }
    let (loaded, diags) = config::load(dir, inputs);
    let Some(mut loaded) = loaded.filter(|_| !diags.has_errors()) else { return Ok(vec![]) };
    let (missing, declared): (Vec<_>, Vec<_>) =
        loaded.module.imports.drain(..).partition(|i| !loaded.module.resources.contains_key(&i.to.config));
    loaded.module.imports = declared;
    if missing.is_empty() {
        return Ok(vec![]);
    }
    let mut wanted = Vec::new();
    for i in &missing {
        if i.to.key != InstanceKey::None {
            return Err(miette!(
                "import into {}: a block is generated for a whole resource (vm.web), not one instance of it",
                i.to
            ));
        }
        let id = literal_id(&i.id)
            .ok_or_else(|| miette!("import into {}: write its id as a plain string to generate its block", i.to))?;
        wanted.push((i.to.clone(), id));
    }
    // The rest of the configuration names the cluster (its provider block).
    let Ok(graph) = crate::graph::build(&loaded) else { return Ok(vec![]) };
    let project = Project { dir: dir.to_path_buf(), loaded, graph, warnings: Default::default() };
    let endpoints = project.clients()?;
    let (key, endpoint) = endpoints.first().ok_or_else(|| miette!("no provider"))?;
    let vmids: Vec<u32> = wanted.iter().filter_map(|(_, id)| id.rsplit('/').next()?.parse().ok()).collect();
    let runtime = crate::operation::runtime()?;
    let view = runtime
        .block_on(crate::plan::read::read_view(&endpoint.client, &vmids, 10))
        .map_err(|e| miette!("cannot read the cluster at {}: {e}", endpoint.url))?;
    let mut text = String::from(
        "# Generated by `pmx plan --generate-config-out` for the import blocks below: review it, then keep it.\n",
    );
    let mut problems = Vec::new();
    for (to, id) in &wanted {
        let found = find_guest(&to.config.type_name, id, &view).and_then(|r| {
            let config = view.configs.get(&r.vmid.unwrap_or_default()).ok_or("its config could not be read")?;
            crate::import::guest(r, config, &to.config.name, &HashMap::new(), key)
                .ok_or_else(|| "cannot adopt it".into())
        });
        match found {
            Ok(g) => text.push_str(&g.text),
            Err(why) => problems.push(format!("import into {to} (id \"{id}\"): {why}")),
        }
    }
    if !problems.is_empty() {
        let mut all = String::new();
        for p in &problems {
            let _ = writeln!(all, "  {p}");
        }
        return Err(miette!("cannot generate the configuration:\n{all}"));
    }
    let formatted = config::format::format(&text).unwrap_or(text);
    std::fs::write(file, formatted).map_err(|e| miette!("cannot write {}: {e}", file.display()))?;
    Ok(wanted.into_iter().map(|(to, _)| to).collect())
}
