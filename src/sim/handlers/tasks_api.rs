//! Task endpoints: status, log, stop, and the task lists.

use serde_json::{json, Value};

use super::super::wire::{ApiError, ApiResult};
use super::Ctx;

fn upid(ctx: &Ctx) -> &str {
    ctx.path.get("upid").map(String::as_str).unwrap_or("")
}

fn task(ctx: &Ctx) -> Result<super::super::tasks::Task, ApiError> {
    let id = upid(ctx);
    if !id.starts_with("UPID:") || id.split(':').count() < 9 {
        return Err(ApiError::param("upid", "unable to parse worker upid"));
    }
    let node = ctx.path.get("node").map(String::as_str).unwrap_or("");
    match ctx.sim.tasks.get(id) {
        Some(t) if t.node == node => Ok(t),
        _ => Err(ApiError::server(format!("no such task '{id}'"))),
    }
}

/// pve-manager's Tasks.pm: one's own tasks (a user's include its tokens'), else the privilege on
/// the task's node.
fn owns(ctx: &Ctx, t: &super::super::tasks::Task) -> bool {
    let me = ctx.authid();
    let task_id = match &t.tokenid {
        Some(tok) => format!("{}!{tok}", t.user),
        None => t.user.clone(),
    };
    me == task_id || (!me.contains('!') && me == t.user)
}

fn check_task_access(ctx: &Ctx, t: &super::super::tasks::Task, privs: &[&str]) -> Result<(), ApiError> {
    if owns(ctx, t) {
        return Ok(());
    }
    ctx.check(&ctx.sim.read(), &format!("/nodes/{}", t.node), privs, false)
}

pub fn task_status(ctx: &Ctx) -> ApiResult {
    let t = task(ctx)?;
    check_task_access(ctx, &t, &["Sys.Audit"])?;
    Ok(t.status_json())
}

pub fn task_log(ctx: &Ctx) -> Result<(Value, usize), ApiError> {
    let t = task(ctx)?;
    check_task_access(ctx, &t, &["Sys.Audit"])?;
    let start: usize = ctx.param("start").and_then(|v| v.parse().ok()).unwrap_or(0);
    let limit: usize = ctx.param("limit").and_then(|v| v.parse().ok()).unwrap_or(50);
    let mut lines: Vec<&str> = t.log.iter().map(String::as_str).collect();
    // PVE::Tools::dump_logfile: an empty log reads as one "no content" line.
    if lines.is_empty() {
        lines.push("no content");
    }
    let total = lines.len();
    let rows = lines.iter().enumerate().skip(start).take(limit).map(|(i, l)| json!({"n": i + 1, "t": l})).collect();
    Ok((Value::Array(rows), total))
}

pub fn task_stop(ctx: &Ctx) -> ApiResult {
    let t = task(ctx)?;
    check_task_access(ctx, &t, &["Sys.Modify"])?;
    if t.exitstatus.is_none() {
        ctx.sim.tasks.finish(&t.upid, Err("interrupted by signal".into()));
    }
    Ok(Value::Null)
}

pub fn cluster_tasks(ctx: &Ctx) -> ApiResult {
    if ctx.sees_everything() {
        return Ok(Value::Array(ctx.sim.tasks.list()));
    }
    let c = ctx.sim.read();
    Ok(Value::Array(
        ctx.sim
            .tasks
            .list_filtered(|t| owns(ctx, t) || ctx.has(&c, &format!("/nodes/{}", t.node), &["Sys.Audit"], false)),
    ))
}

pub fn node_tasks(ctx: &Ctx) -> Result<(Value, usize), ApiError> {
    let node = ctx.node()?.to_string();
    let vmid = ctx.param("vmid").map(str::to_string);
    let errors_only = ctx.flag("errors").unwrap_or(false);
    let typefilter = ctx.param("typefilter").map(str::to_string);
    let running_only = ctx.param("source") == Some("active");
    let audit = ctx.has(&ctx.sim.read(), &format!("/nodes/{node}"), &["Sys.Audit"], false);
    let rows = ctx.sim.tasks.list_filtered(|t| {
        t.node == node
            && (audit || owns(ctx, t))
            && vmid.as_deref().is_none_or(|v| t.id == v)
            && typefilter.as_deref().is_none_or(|f| t.kind == f)
            && (!errors_only || (t.exitstatus.is_some() && !t.ok()))
            && (!running_only || t.exitstatus.is_none())
    });
    let start: usize = ctx.param("start").and_then(|v| v.parse().ok()).unwrap_or(0);
    let limit: usize = ctx.param("limit").and_then(|v| v.parse().ok()).unwrap_or(50);
    let total = rows.len();
    Ok((Value::Array(rows.into_iter().skip(start).take(limit).collect()), total))
}
