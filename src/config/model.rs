//! The typed module: what the `.pmx` files declare, decoded but not yet evaluated. Every
//! expression keeps its file and span.

use std::ops::Range;
use std::sync::Arc;

use hcl_edit::expr::Expression;
use hcl_edit::Span;
use indexmap::IndexMap;

use super::types::TypeConstraint;
use crate::addr::{ConfigAddress, ResourceAddress};
use crate::diag::{Location, SourceFile};

/// An expression with the file it came from.
#[derive(Debug, Clone)]
pub struct Expr {
    pub expr: Expression,
    pub file: Arc<SourceFile>,
}

impl Expr {
    pub fn new(expr: Expression, file: &Arc<SourceFile>) -> Self {
        Expr { expr, file: file.clone() }
    }

    pub fn span(&self) -> Range<usize> {
        self.expr.span().unwrap_or(0..0)
    }

    pub fn location(&self) -> Location {
        Location::new(&self.file, self.span())
    }

    /// The source text of the expression, for messages.
    pub fn text(&self) -> &str {
        self.file.text.get(self.span()).unwrap_or("").trim()
    }
}

/// Everything the configuration declares.
#[derive(Debug, Default)]
pub struct Module {
    pub settings: Settings,
    pub providers: IndexMap<String, ProviderBlock>,
    pub variables: IndexMap<String, VariableBlock>,
    pub locals: IndexMap<String, LocalDef>,
    pub outputs: IndexMap<String, OutputBlock>,
    /// Managed resources and data sources, in declaration order.
    pub resources: IndexMap<ConfigAddress, ResourceBlock>,
    pub imports: Vec<ImportBlock>,
    pub moved: Vec<MovedBlock>,
    pub removed: Vec<RemovedBlock>,
}

/// `removed { from = vm.old  lifecycle { destroy = false } }`: stop managing a resource; with
/// `destroy = false` it stays on the cluster and only leaves state.
#[derive(Debug, Clone)]
pub struct RemovedBlock {
    pub from: ResourceAddress,
    pub destroy: bool,
    pub location: Location,
    pub from_at: Location,
}

/// The `pmx { ... }` block.
#[derive(Debug, Default, Clone)]
pub struct Settings {
    pub required_version: Option<String>,
    pub state: Option<StateSettings>,
    pub location: Option<Location>,
}

/// `pmx { state { url = "...", workspace = "..." } }`: where state lives.
#[derive(Debug, Default, Clone)]
pub struct StateSettings {
    /// `sqlite://path` or `postgres://...`; may hold a password, so never print it raw.
    pub url: Option<String>,
    pub workspace: Option<String>,
    pub location: Option<Location>,
}

/// `provider "proxmox" { ... }`.
#[derive(Debug, Clone)]
pub struct ProviderBlock {
    pub name: String,
    pub alias: Option<String>,
    pub attributes: IndexMap<String, AttrDef>,
    pub location: Location,
}

impl ProviderBlock {
    /// `proxmox` or `proxmox.ALIAS`, the way resources name it.
    pub fn key(&self) -> String {
        match &self.alias {
            Some(a) => format!("{}.{a}", self.name),
            None => self.name.clone(),
        }
    }
}

/// The attributes a provider block accepts; the sensitive ones are never printed.
pub const PROVIDER_ATTRIBUTES: &[&str] =
    &["endpoint", "token_id", "token_secret", "username", "password", "fingerprint", "ca_file", "insecure", "alias"];
pub const PROVIDER_SENSITIVE: &[&str] = &["token_secret", "password"];

#[derive(Debug, Clone)]
pub struct VariableBlock {
    pub name: String,
    pub ty: TypeConstraint,
    pub default: Option<Expr>,
    pub description: Option<String>,
    pub sensitive: bool,
    pub nullable: bool,
    pub validations: Vec<Validation>,
    pub location: Location,
}

#[derive(Debug, Clone)]
pub struct Validation {
    pub condition: Expr,
    pub error_message: Expr,
}

#[derive(Debug, Clone)]
pub struct LocalDef {
    pub name: String,
    pub expr: Expr,
    pub location: Location,
}

#[derive(Debug, Clone)]
pub struct OutputBlock {
    pub name: String,
    pub value: Expr,
    pub sensitive: bool,
    pub description: Option<String>,
    pub depends_on: Vec<DependsOn>,
    pub location: Location,
}

/// One entry of `depends_on`.
#[derive(Debug, Clone)]
pub struct DependsOn {
    pub target: ConfigAddress,
    pub location: Location,
}

/// `lifecycle { ... }`.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Lifecycle {
    pub prevent_destroy: bool,
    pub create_before_destroy: bool,
    /// Attribute paths whose changes are ignored (`["tags", "disk.scsi0.size"]`), or `all`.
    pub ignore_changes: Vec<String>,
    /// Where each `ignore_changes` entry is written (same order).
    #[serde(skip)]
    pub ignore_changes_at: Vec<Location>,
    pub ignore_all_changes: bool,
    /// Pre-flight checks silenced for this resource (`["capacity"]`, or `["all"]`).
    pub preflight_ignore: Vec<String>,
    /// At most this many of the block's instances stopped or rebooted at once during an apply.
    pub max_disruptions: Option<u32>,
}

/// A `resource` or `data` block.
#[derive(Debug, Clone)]
pub struct ResourceBlock {
    pub addr: ConfigAddress,
    pub count: Option<Expr>,
    pub for_each: Option<Expr>,
    pub depends_on: Vec<DependsOn>,
    /// `proxmox` or `proxmox.ALIAS`, when set explicitly.
    pub provider: Option<(String, Location)>,
    pub lifecycle: Lifecycle,
    pub body: BodyDef,
    /// The block header (`resource "vm" "web"`).
    pub location: Location,
}

/// The schema-checked content of a resource body or nested block.
#[derive(Debug, Clone, Default)]
pub struct BodyDef {
    pub attributes: IndexMap<String, AttrDef>,
    pub blocks: Vec<BlockDef>,
}

#[derive(Debug, Clone)]
pub struct AttrDef {
    pub name: String,
    pub expr: Expr,
    /// The attribute name's span.
    pub key_span: Range<usize>,
}

/// A nested block such as `cpu { ... }` or `disk "scsi0" { ... }`.
#[derive(Debug, Clone)]
pub struct BlockDef {
    pub name: String,
    pub label: Option<(String, Range<usize>)>,
    pub body: BodyDef,
    pub location: Location,
}

/// `import { to = vm.web, id = "pve1/qemu/100" }`.
#[derive(Debug, Clone)]
pub struct ImportBlock {
    pub to: ResourceAddress,
    pub id: Expr,
    pub location: Location,
    /// Where `to`'s address is written (problems with the target point there).
    pub to_at: Location,
}

/// `moved { from = vm.old, to = vm.new }`.
#[derive(Debug, Clone)]
pub struct MovedBlock {
    pub from: ResourceAddress,
    pub to: ResourceAddress,
    pub location: Location,
    /// Where the `from` and `to` addresses are written.
    pub from_at: Location,
    pub to_at: Location,
}
