//! Views of a plan: for people (Terraform's habits, plus the impact of each change on the
//! guest), for machines (close to `terraform show -json`, format 1.2) and for pull requests
//! (markdown, under GitHub's comment limit).

use std::fmt::Write as _;

use owo_colors::OwoColorize;
use serde_json::{json, Map, Value as Json};

use crate::plan::values::marked;
use crate::plan::{Action, AttrChange, Impact, Plan, PlanMode, ResourceChange, Via};

/// Colours, or none.
#[derive(Clone, Copy)]
pub struct Style {
    pub color: bool,
}

impl Style {
    fn sign(&self, s: &str) -> String {
        if !self.color {
            return s.to_string();
        }
        match s {
            "+" => s.green().to_string(),
            "~" => s.yellow().to_string(),
            "-" => s.red().to_string(),
            "-/+" | "+/-" => s.magenta().to_string(),
            "<=" | "<-" | "->" => s.cyan().to_string(),
            _ => s.to_string(),
        }
    }
    fn bold(&self, s: &str) -> String {
        if self.color {
            s.bold().to_string()
        } else {
            s.to_string()
        }
    }
    fn dim(&self, s: &str) -> String {
        if self.color {
            s.dimmed().to_string()
        } else {
            s.to_string()
        }
    }
    fn impact(&self, i: Impact) -> String {
        let text = format!("[{}]", i.label());
        if !self.color {
            return text;
        }
        match i {
            Impact::Live | Impact::None => text.green().to_string(),
            Impact::Reboot => text.yellow().to_string(),
            Impact::Stop => text.bright_red().to_string(),
            Impact::Replace | Impact::Destroy => text.red().bold().to_string(),
        }
    }
}

/// A value as HCL writes it; sensitive and unknown values say so.
fn show(v: Option<&Json>, sensitive: bool, unknown: bool) -> String {
    if sensitive {
        return "(sensitive value)".into();
    }
    if unknown {
        return "(known after apply)".into();
    }
    match v {
        None | Some(Json::Null) => "null".into(),
        Some(Json::Array(items)) => {
            format!("[{}]", items.iter().map(|i| show(Some(i), false, false)).collect::<Vec<_>>().join(", "))
        }
        Some(Json::Object(m)) => format!(
            "{{ {} }}",
            m.iter().map(|(k, v)| format!("{k} = {}", show(Some(v), false, false))).collect::<Vec<_>>().join(", ")
        ),
        Some(other) => other.to_string(),
    }
}

fn verb(r: &ResourceChange) -> String {
    match r.action {
        Action::Create => "will be created".into(),
        Action::Update => "will be updated in place".into(),
        Action::Replace if r.create_before_destroy => {
            "must be replaced (a new one is created before the old one is destroyed)".into()
        }
        Action::Replace => "must be replaced".into(),
        Action::Delete => "will be destroyed".into(),
        Action::Read => "will be read during apply".into(),
        Action::Import if r.changes.is_empty() => "will be imported".into(),
        Action::Import => "will be imported and updated in place".into(),
        Action::Move if r.changes.is_empty() => {
            format!("has moved to {}", r.address)
        }
        Action::Move => format!("has moved to {} and will be updated in place", r.address),
        Action::Forget => "will be removed from state (the resource stays on the cluster)".into(),
        Action::NoOp => "is up to date".into(),
    }
}

fn header(r: &ResourceChange) -> (String, String) {
    let (type_name, name, _) = split_address(&r.address, &r.mode);
    let kw = if r.mode == "data" { "data" } else { "resource" };
    (kw.to_string(), format!("\"{type_name}\" \"{name}\""))
}

/// The human plan.
pub fn human(plan: &Plan, style: Style) -> String {
    let mut out = String::new();
    let shown: Vec<&ResourceChange> = plan
        .resource_changes
        .iter()
        .filter(|r| r.is_change() || (r.action == Action::Read && has_unknown(r)))
        .collect();
    if !plan.resource_drift.is_empty() {
        let _ = writeln!(out, "{}\n", style.bold("Objects have changed outside of pmx"));
        for d in &plan.resource_drift {
            let _ = writeln!(out, "  # {} has changed outside of pmx", style.bold(&d.address));
            for n in &d.notes {
                let _ = writeln!(out, "    # ({n})");
            }
            for c in &d.changes {
                let _ = writeln!(
                    out,
                    "    {} {} = {} -> {}",
                    style.sign("~"),
                    c.dotted(),
                    show(c.before.as_ref(), c.sensitive, false),
                    show(c.after.as_ref(), c.sensitive, false)
                );
            }
            out.push('\n');
        }
    }
    if shown.is_empty() && plan.output_changes.is_empty() {
        if plan.mode == PlanMode::RefreshOnly && !plan.resource_drift.is_empty() {
            out.push_str("Applying this plan records these changes in state; it changes nothing on the cluster.\n");
            return out;
        }
        out.push_str(&style.bold("No changes."));
        out.push_str(" Your infrastructure matches the configuration.\n");
        return out;
    }
    if !shown.is_empty() {
        out.push_str("pmx will perform the following actions:\n\n");
    }
    for r in &shown {
        resource_block(&mut out, r, style);
        out.push('\n');
    }
    let c = plan.counts();
    let mut line = format!("Plan: {} to add, {} to change, {} to destroy", c.add, c.change, c.destroy);
    let mut extra = vec![];
    if c.import > 0 {
        extra.push(format!("{} to import", c.import));
    }
    if c.moved > 0 {
        extra.push(format!("{} moved", c.moved));
    }
    if c.forget > 0 {
        extra.push(format!("{} to forget", c.forget));
    }
    if !extra.is_empty() {
        line = format!("{line}, {}", extra.join(", "));
    }
    line.push('.');
    let _ = writeln!(out, "{}", style.bold(&line));
    let _ = writeln!(out, "{}", impact_line(plan));
    if !plan.output_changes.is_empty() {
        out.push_str("\nChanges to Outputs:\n");
        for o in &plan.output_changes {
            let _ = writeln!(
                out,
                "  {} {} = {}",
                style.sign("+"),
                o.name,
                show(o.after.as_ref(), o.sensitive, o.after_unknown)
            );
        }
    }
    out
}

fn has_unknown(r: &ResourceChange) -> bool {
    crate::plan::values::any_marked(&r.after_unknown, &[])
}

/// "Impact: 1 live, 1 reboot, 0 stop, 0 replace; 1 destroys data."
pub fn impact_line(plan: &Plan) -> String {
    let c = plan.counts();
    format!(
        "Guest impact: {} live, {} reboot, {} stop, {} replace, {} destroy data.",
        c.live, c.reboot, c.stop, c.replace, c.destroys_data
    )
}

fn resource_block(out: &mut String, r: &ResourceChange, style: Style) {
    let symbol = r.action.symbol(r.create_before_destroy);
    let impact = match r.action {
        Action::Update | Action::Replace | Action::Delete | Action::Import | Action::Move
            if r.impact != Impact::None =>
        {
            format!(" {}", style.impact(r.impact))
        }
        _ => String::new(),
    };
    let title = match (&r.previous_address, r.action) {
        (Some(prev), Action::Move) => format!("# {} {}", style.bold(prev), verb(r)),
        _ => format!("# {} {}", style.bold(&r.address), verb(r)),
    };
    let _ = writeln!(out, "  {title}{impact}");
    for n in &r.notes {
        let _ = writeln!(out, "  # ({n})");
    }
    if let Some(reason) = &r.action_reason {
        if r.action == Action::Replace && !r.replace_paths.is_empty() {
            let paths: Vec<String> = r.replace_paths.iter().map(|p| p.join(".")).collect();
            let _ = writeln!(out, "  # ({} forces replacement)", paths.join(", "));
        } else if reason == "replace_by_request" {
            let _ = writeln!(out, "  # (replacement requested with --replace)");
        }
    }
    if r.destroys_data && r.action != Action::Delete {
        let _ = writeln!(out, "  # (destroys data)");
    }
    let (kw, labels) = header(r);
    let sign_shown = if matches!(r.action, Action::Move | Action::Import | Action::Forget) && r.changes.is_empty() {
        " ".to_string()
    } else if matches!(r.action, Action::Import | Action::Move) {
        style.sign("~")
    } else {
        style.sign(symbol)
    };
    let _ = writeln!(out, "  {sign_shown} {kw} {labels} {{");
    match r.action {
        Action::Create | Action::Read => {
            let after = r.after.as_ref().and_then(Json::as_object).cloned().unwrap_or_default();
            body_lines(out, &after, &r.after_unknown, &r.after_sensitive, &[], "+", 6, style);
        }
        Action::Delete => {
            let before = r.before.as_ref().and_then(Json::as_object).cloned().unwrap_or_default();
            for k in ["node", "vmid", "name", "hostname", "id"] {
                if let Some(v) = before.get(k) {
                    let _ = writeln!(out, "      {} {k} = {}", style.sign("-"), show(Some(v), false, false));
                }
            }
            if let Some(disks) = before.get("disk").and_then(Json::as_object) {
                for (slot, d) in disks {
                    let size = d.get("size").and_then(Json::as_str).unwrap_or("?");
                    let _ = writeln!(
                        out,
                        "      {} disk \"{slot}\" {{ size = \"{size}\" }}  # data is lost",
                        style.sign("-")
                    );
                }
            }
        }
        Action::Replace if r.changes.is_empty() => {
            let after = r.after.as_ref().and_then(Json::as_object).cloned().unwrap_or_default();
            body_lines(out, &after, &r.after_unknown, &r.after_sensitive, &[], "+", 6, style);
        }
        _ => change_lines(out, r, style),
    }
    let _ = writeln!(out, "    }}");
}

/// Every value of a new resource, blocks nested, `+` before each line.
#[allow(clippy::too_many_arguments)]
fn body_lines(
    out: &mut String,
    m: &Map<String, Json>,
    unknown: &Json,
    sensitive: &Json,
    path: &[&str],
    sign: &str,
    indent: usize,
    style: Style,
) {
    let pad = " ".repeat(indent);
    let scalars: Vec<(&String, &Json)> = m.iter().filter(|(_, v)| !v.is_object()).collect();
    let width = scalars.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    for (k, v) in &scalars {
        let p: Vec<&str> = path.iter().copied().chain([k.as_str()]).collect();
        let (u, s) = (marked(unknown, &p), marked(sensitive, &p));
        if v.is_null() && !u {
            continue;
        }
        let _ = writeln!(out, "{pad}{} {k:width$} = {}", style.sign(sign), show(Some(v), s, u));
    }
    for (k, v) in m.iter().filter(|(_, v)| v.is_object()) {
        let Some(inner) = v.as_object() else { continue };
        let p: Vec<&str> = path.iter().copied().chain([k.as_str()]).collect();
        let slotted = inner.values().all(Json::is_object) && !inner.is_empty();
        if slotted && path.is_empty() {
            for (slot, body) in inner {
                let Some(body) = body.as_object() else { continue };
                let sp: Vec<&str> = p.iter().copied().chain([slot.as_str()]).collect();
                let _ = writeln!(out, "{pad}{} {k} \"{slot}\" {{", style.sign(sign));
                body_lines(out, body, unknown, sensitive, &sp, sign, indent + 4, style);
                let _ = writeln!(out, "{pad}  }}");
            }
        } else {
            let _ = writeln!(out, "{pad}{} {k} {{", style.sign(sign));
            body_lines(out, inner, unknown, sensitive, &p, sign, indent + 4, style);
            let _ = writeln!(out, "{pad}  }}");
        }
    }
}

fn change_sign(c: &AttrChange) -> &'static str {
    match (&c.before, &c.after, c.unknown) {
        (None, Some(_), _) => "+",
        (Some(_), None, false) => "-",
        _ => "~",
    }
}

fn impact_comment(c: &AttrChange, style: Style) -> String {
    let mut parts = vec![];
    if c.via == Via::Replace {
        parts.push("forces replacement".to_string());
    }
    if c.impact != Impact::None {
        parts.push(style.impact(c.impact));
    }
    if let Some(n) = &c.note {
        parts.push(n.clone());
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!("  {}", style.dim(&format!("# {}", parts.join(" ")))).replace("# [", "# [")
    }
}

/// The attribute-level diff of an update, grouped by nested block.
fn change_lines(out: &mut String, r: &ResourceChange, style: Style) {
    let registry = crate::schema::registry();
    let rt = registry.resource(&r.type_name);
    let is_block = |name: &str| rt.and_then(|rt| rt.block(name)).is_some();
    let slotted = |name: &str| {
        rt.and_then(|rt| rt.block(name)).is_some_and(|b| matches!(b.nesting, crate::schema::Nesting::Slotted { .. }))
    };
    // Identifying attributes first, unchanged, as Terraform shows `id` and `name`.
    if let Some(before) = r.before.as_ref().and_then(Json::as_object) {
        for k in ["name", "hostname", "vmid", "id"] {
            if let Some(v) = before.get(k) {
                if !r.changes.iter().any(|c| c.path[0] == k) {
                    let _ = writeln!(out, "        {k} = {}", show(Some(v), false, false));
                }
            }
        }
    }
    let mut i = 0;
    while i < r.changes.len() {
        let c = &r.changes[i];
        let head = c.path[0].clone();
        if !is_block(&head) || c.path.len() == 1 {
            let _ = writeln!(
                out,
                "      {} {} = {}{}",
                style.sign(change_sign(c)),
                head,
                arrow(c),
                impact_comment(c, style)
            );
            i += 1;
            continue;
        }
        // A group: changes under the same block (and slot).
        let depth = if slotted(&head) { 2 } else { 1 };
        let key: Vec<String> = c.path[..depth].to_vec();
        let group: Vec<&AttrChange> =
            r.changes[i..].iter().take_while(|x| x.path.len() >= depth && x.path[..depth] == key[..]).collect();
        i += group.len();
        let label = if depth == 2 { format!("{head} \"{}\"", key[1]) } else { head.clone() };
        // A whole slot added or removed.
        if group.len() == 1 && group[0].path.len() == depth {
            let g = group[0];
            let sign = change_sign(g);
            let _ = writeln!(out, "      {} {label} {{{}", style.sign(sign), impact_comment(g, style));
            let body = if sign == "-" { g.before.as_ref() } else { g.after.as_ref() };
            if let Some(b) = body.and_then(Json::as_object) {
                let p: Vec<&str> = g.path.iter().map(String::as_str).collect();
                let (u, s) = (r.after_unknown.clone(), r.after_sensitive.clone());
                body_lines(out, b, &u, &s, &p, sign, 10, style);
            }
            let _ = writeln!(out, "        }}");
            continue;
        }
        let _ = writeln!(out, "      {} {label} {{", style.sign("~"));
        for g in group {
            let attr = g.path[depth..].join(".");
            let _ = writeln!(
                out,
                "          {} {attr} = {}{}",
                style.sign(change_sign(g)),
                arrow(g),
                impact_comment(g, style)
            );
        }
        let _ = writeln!(out, "        }}");
    }
}

fn arrow(c: &AttrChange) -> String {
    match (&c.before, &c.after) {
        (None, _) if !c.unknown => show(c.after.as_ref(), c.sensitive, false),
        (_, None) if !c.unknown => format!("{} -> null", show(c.before.as_ref(), c.sensitive, false)),
        _ => format!(
            "{} -> {}",
            show(c.before.as_ref(), c.sensitive, false),
            show(c.after.as_ref(), c.sensitive, c.unknown)
        ),
    }
}

/// `pmx show --json`: close to Terraform's `show -json` (format 1.2), plus pmx's impacts.
pub fn json(plan: &Plan) -> Json {
    let resource_changes: Vec<Json> = plan
        .resource_changes
        .iter()
        .map(|r| {
            let (type_name, name, index) = split_address(&r.address, &r.mode);
            json!({
                "address": r.address,
                "previous_address": r.previous_address,
                "mode": r.mode,
                "type": type_name,
                "name": name,
                "index": index,
                "provider_name": r.provider,
                "change": {
                    "actions": r.action.terraform_actions(r.create_before_destroy),
                    "before": redact(r.before.as_ref(), &r.before_sensitive),
                    "after": redact(r.after.as_ref(), &r.after_sensitive),
                    "after_unknown": r.after_unknown,
                    "before_sensitive": r.before_sensitive,
                    "after_sensitive": r.after_sensitive,
                    "replace_paths": r.replace_paths,
                    "importing": r.import_id.as_ref().map(|id| json!({"id": id})),
                },
                "action_reason": r.action_reason,
                "pmx": {
                    "action": r.action,
                    "impact": r.impact,
                    "destroys_data": r.destroys_data,
                    "changes": r.changes.iter().map(|c| json!({
                        "path": c.path,
                        "before": if c.sensitive { Json::Null } else { c.before.clone().unwrap_or(Json::Null) },
                        "after": if c.sensitive { Json::Null } else { c.after.clone().unwrap_or(Json::Null) },
                        "after_unknown": c.unknown,
                        "sensitive": c.sensitive,
                        "via": c.via,
                        "impact": c.impact,
                        "destroys_data": c.destroys_data,
                        "note": c.note,
                    })).collect::<Vec<_>>(),
                    "live": r.live,
                    "notes": r.notes,
                    "depends_on": r.depends_on,
                },
            })
        })
        .collect();
    let output_changes: Map<String, Json> = plan
        .output_changes
        .iter()
        .map(|o| {
            (
                o.name.clone(),
                json!({
                    "actions": o.action.terraform_actions(false),
                    "before": o.before,
                    "after": if o.sensitive { Json::Null } else { o.after.clone().unwrap_or(Json::Null) },
                    "after_unknown": o.after_unknown,
                    "before_sensitive": false,
                    "after_sensitive": o.sensitive,
                }),
            )
        })
        .collect();
    let c = plan.counts();
    json!({
        "format_version": "1.2",
        "pmx_version": plan.pmx_version,
        "plan_mode": plan.mode,
        "workspace": plan.workspace,
        "lineage": plan.lineage,
        "serial": plan.serial,
        "created_at": plan.created_at,
        "applyable": plan.has_changes() && !plan.is_blocked(),
        "complete": plan.targets.is_empty(),
        "errored": plan.is_blocked(),
        "resource_changes": resource_changes,
        "resource_drift": plan.resource_drift.iter().map(|d| json!({
            "address": d.address,
            "change": {"actions": d.action.terraform_actions(false)},
            "pmx": {"changes": d.changes, "notes": d.notes},
        })).collect::<Vec<_>>(),
        "output_changes": output_changes,
        "pmx": {
            "counts": c,
            "worst_impact": plan.worst_impact(),
            "problems": plan.problems,
            "preflight": plan.preflight,
            "targets": plan.targets,
        },
    })
}

fn at_suffix(f: &crate::plan::Finding) -> String {
    f.at.as_ref().map(|a| format!(" (`{a}`)")).unwrap_or_default()
}

/// Sensitive values are shown as `null` with their mark set, as Terraform does.
fn redact(v: Option<&Json>, sensitive: &Json) -> Json {
    fn walk(v: &Json, s: &Json) -> Json {
        match (v, s) {
            (_, Json::Bool(true)) => Json::Null,
            (Json::Object(m), Json::Object(sm)) => Json::Object(
                m.iter()
                    .map(|(k, v)| (k.clone(), sm.get(k).map(|s| walk(v, s)).unwrap_or_else(|| v.clone())))
                    .collect(),
            ),
            (Json::Array(a), Json::Array(sa)) => Json::Array(
                a.iter().enumerate().map(|(i, v)| sa.get(i).map(|s| walk(v, s)).unwrap_or_else(|| v.clone())).collect(),
            ),
            _ => v.clone(),
        }
    }
    v.map(|v| walk(v, sensitive)).unwrap_or(Json::Null)
}

fn split_address(addr: &str, mode: &str) -> (String, String, Json) {
    let rest = if mode == "data" { addr.strip_prefix("data.").unwrap_or(addr) } else { addr };
    let (type_name, name) = rest.split_once('.').unwrap_or((rest, ""));
    let (name, index) = match name.split_once('[') {
        Some((n, idx)) => {
            let idx = idx.trim_end_matches(']');
            let index =
                idx.parse::<i64>().map(Json::from).unwrap_or_else(|_| Json::String(idx.trim_matches('"').to_string()));
            (n.to_string(), index)
        }
        None => (name.to_string(), Json::Null),
    };
    (type_name.to_string(), name, index)
}

/// GitHub colours a `diff` block by the first column: the sign of each line moves there
/// (`~` becomes `!`, as tfcmt does), the indentation stays after it.
fn diff_columns(body: &str) -> String {
    body.lines()
        .map(|line| {
            let trimmed = line.trim_start();
            let indent = line.len() - trimmed.len();
            let sign = ["-/+ ", "+/- ", "+ ", "- ", "~ "].iter().find(|s| trimmed.starts_with(**s));
            match sign {
                Some(s) => {
                    let mark = match s.trim() {
                        "~" => "!",
                        "-/+" | "+/-" => "!",
                        other => other,
                    };
                    format!("{mark}{}{}", " ".repeat(indent.saturating_sub(1)), &trimmed[s.len() - 1..])
                }
                None => line.to_string(),
            }
        })
        .map(|l| l + "\n")
        .collect()
}

/// GitHub's limit for a comment.
pub const MARKDOWN_LIMIT: usize = 65_536;

/// The pull-request comment: counts first, destroys and replacements before anything else,
/// every resource's diff folded, cut deterministically to stay under `limit` characters.
pub fn markdown(plan: &Plan, limit: usize) -> String {
    let c = plan.counts();
    let mut head = String::new();
    let title = if plan.has_changes() {
        format!("{} to add, {} to change, {} to destroy", c.add, c.change, c.destroy)
    } else {
        "no changes".to_string()
    };
    let _ = writeln!(head, "### pmx plan: {title}\n");
    let _ = writeln!(head, "| add | change | destroy | replace | reboot | stop | import |");
    let _ = writeln!(head, "|---:|---:|---:|---:|---:|---:|---:|");
    let _ = writeln!(
        head,
        "| {} | {} | {} | {} | {} | {} | {} |\n",
        c.add, c.change, c.destroy, c.replace, c.reboot, c.stop, c.import
    );
    let _ = writeln!(head, "Workspace `{}`, state serial {}.\n", plan.workspace, plan.serial);
    if plan.is_blocked() {
        let _ = writeln!(head, "**This plan cannot be applied:**\n");
        for p in &plan.problems {
            let _ = writeln!(head, "- `{}`: {}", p.address, p.message);
        }
        for f in plan.preflight.iter().filter(|f| f.blocks()) {
            let _ = writeln!(head, "- :x: `{}` ({}): {}. {}{}", f.address, f.check, f.message, f.live, at_suffix(f));
        }
        head.push('\n');
    }
    let notes: Vec<&crate::plan::Finding> = plan.preflight.iter().filter(|f| !f.blocks()).collect();
    if !notes.is_empty() {
        let _ = writeln!(head, "**Pre-flight warnings:**\n");
        for f in notes {
            let ignored = if f.ignored { " (ignored by `preflight_ignore`)" } else { "" };
            let _ = writeln!(
                head,
                "- :warning: `{}` ({}){ignored}: {}. {}{}",
                f.address,
                f.check,
                f.message,
                f.live,
                at_suffix(f)
            );
        }
        head.push('\n');
    }
    let mut dangerous: Vec<&ResourceChange> = plan
        .resource_changes
        .iter()
        .filter(|r| matches!(r.action, Action::Delete | Action::Replace) || r.destroys_data)
        .collect();
    dangerous.sort_by(|a, b| a.address.cmp(&b.address));
    if !dangerous.is_empty() {
        let _ = writeln!(head, "**Destroyed or replaced:**\n");
        for r in &dangerous {
            let _ = writeln!(head, "- :warning: `{}` {}", r.address, verb(r));
        }
        head.push('\n');
    }
    let mut order: Vec<&ResourceChange> = plan.resource_changes.iter().filter(|r| r.is_change()).collect();
    order.sort_by_key(|r| {
        let rank = match r.action {
            Action::Delete | Action::Replace => 0,
            _ if r.impact >= Impact::Stop => 1,
            _ if r.impact == Impact::Reboot => 2,
            _ => 3,
        };
        (rank, r.address.clone())
    });
    let sections: Vec<String> = order
        .iter()
        .map(|r| {
            let mut body = String::new();
            resource_block(&mut body, r, Style { color: false });
            let impact = if r.impact > Impact::None { format!(" ({})", r.impact.label()) } else { String::new() };
            format!(
                "<details><summary><code>{}</code> {}{}</summary>\n\n```diff\n{}```\n\n</details>\n",
                r.address,
                verb(r),
                impact,
                diff_columns(&body).replace("```", "``\u{200b}`")
            )
        })
        .collect();
    let mut out = head;
    let footer_room = 200;
    let mut left_out = 0;
    for (i, s) in sections.iter().enumerate() {
        if out.len() + s.len() + footer_room > limit {
            left_out = sections.len() - i;
            break;
        }
        out.push_str(s);
    }
    if left_out > 0 {
        let _ = writeln!(
            out,
            "\n_{left_out} more change{} not shown to stay under GitHub's comment limit; run `pmx show plan.out` for the whole plan._",
            if left_out == 1 { "" } else { "s" }
        );
    }
    let _ = writeln!(out, "\n{}", impact_line(plan));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{LiveIdentity, PlanCounts, PlanMode};

    fn change(address: &str, action: Action, impact: Impact) -> ResourceChange {
        ResourceChange {
            address: address.into(),
            previous_address: None,
            mode: "managed".into(),
            type_name: "vm".into(),
            provider: "proxmox".into(),
            action,
            create_before_destroy: false,
            action_reason: None,
            import_id: None,
            before: Some(json!({"name": address, "vmid": 100})),
            after: Some(json!({"name": address, "node": "pve1", "description": "x".repeat(300)})),
            after_unknown: json!({}),
            before_sensitive: json!({}),
            after_sensitive: json!({}),
            replace_paths: vec![],
            changes: vec![],
            impact,
            destroys_data: action == Action::Delete,
            live: LiveIdentity::default(),
            depends_on: vec![],
            notes: vec![],
            managed_paths: vec![],
            preflight_ignore: vec![],
            max_disruptions: None,
        }
    }

    fn plan(changes: Vec<ResourceChange>) -> Plan {
        Plan {
            pmx_version: "0".into(),
            mode: PlanMode::Normal,
            workspace: "default".into(),
            lineage: "l".into(),
            serial: 3,
            config_hash: "h".into(),
            created_at: "t".into(),
            resource_changes: changes,
            resource_drift: vec![],
            output_changes: vec![],
            problems: vec![],
            preflight: vec![],
            preflight_skipped: false,
            targets: vec![],
            endpoints: Default::default(),
        }
    }

    #[test]
    fn markdown_puts_counts_and_destroys_first_and_stays_under_the_limit() {
        let mut changes: Vec<ResourceChange> =
            (0..2000).map(|i| change(&format!("vm.web[{i}]"), Action::Create, Impact::None)).collect();
        changes.push(change("vm.old", Action::Delete, Impact::Destroy));
        let p = plan(changes);
        let md = markdown(&p, MARKDOWN_LIMIT);
        assert!(md.len() < MARKDOWN_LIMIT, "{} characters", md.len());
        assert!(md.starts_with("### pmx plan: 2000 to add, 0 to change, 1 to destroy"));
        let destroyed = md.find(":warning: `vm.old`").expect("destroys are listed");
        assert!(destroyed < md.find("<details>").unwrap(), "before any detail");
        let first_detail = md.find("<details><summary><code>").unwrap();
        assert!(
            md[first_detail..].starts_with("<details><summary><code>vm.old</code>"),
            "the destroy's diff comes first"
        );
        assert!(md.contains("more changes not shown"), "says what was left out");
        // Deterministic: the same plan gives the same comment.
        assert_eq!(md, markdown(&p, MARKDOWN_LIMIT));
        let small = markdown(&plan(vec![change("vm.a", Action::Create, Impact::None)]), MARKDOWN_LIMIT);
        assert!(!small.contains("not shown"));
        assert_eq!(p.counts(), PlanCounts { add: 2000, destroy: 1, destroys_data: 1, ..PlanCounts::default() });
    }

    #[test]
    fn human_view_shows_impacts_and_the_summary_line() {
        let mut c = change("vm.web", Action::Update, Impact::Reboot);
        c.changes = vec![AttrChange {
            path: vec!["cpu".into(), "cores".into()],
            before: Some(json!(1)),
            after: Some(json!(2)),
            unknown: false,
            sensitive: false,
            via: Via::Config,
            impact: Impact::Reboot,
            destroys_data: false,
            note: Some("pending until the guest reboots".into()),
        }];
        let out = human(&plan(vec![c]), Style { color: false });
        assert!(out.contains("# vm.web will be updated in place [reboot]"), "{out}");
        assert!(out.contains("~ cores = 1 -> 2"), "{out}");
        assert!(out.contains("Plan: 0 to add, 1 to change, 0 to destroy."), "{out}");
        assert!(out.contains("Guest impact: 0 live, 1 reboot"), "{out}");
        assert!(!out.contains('\u{1b}'), "no colour codes");
    }
}
