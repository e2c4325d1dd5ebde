//! Running an operation end to end: load the project, build its graph, make a client per
//! provider block and open the state store. Plan, apply, import and refresh share this layer
//! (Terraform's `backend/local`); the CLI only parses flags and picks a view.

pub mod apply;
pub mod console;
pub mod plan;

use std::path::{Path, PathBuf};

use indexmap::IndexMap;
use miette::{miette, IntoDiagnostic};

use crate::config::{self, LoadedConfig, VarInputs};
use crate::diag::Diagnostics;
use crate::graph::{self, BuildOptions, ResourceGraph};
use crate::proxmox::{ClientConfig, ProviderSettings, PveClient};
use crate::state::{StateLocation, Store};

/// A loaded, validated project and its first graph (data sources and computed attributes
/// still unknown).
pub struct Project {
    pub dir: PathBuf,
    pub loaded: LoadedConfig,
    pub graph: ResourceGraph,
    pub warnings: Diagnostics,
}

/// What went wrong before an operation could start: the configuration (every problem, as
/// `validate` shows them) or anything else.
pub enum LoadError {
    Config(Diagnostics),
    Other(miette::Report),
}

impl From<miette::Report> for LoadError {
    fn from(e: miette::Report) -> Self {
        LoadError::Other(e)
    }
}

impl Project {
    /// Loads and validates every `.pmx` file of `dir` and builds the graph.
    pub fn load(dir: &Path, inputs: &VarInputs) -> Result<Project, LoadError> {
        let (loaded, diags) = config::load(dir, inputs);
        let Some(loaded) = loaded.filter(|_| !diags.has_errors()) else {
            return Err(LoadError::Config(diags));
        };
        match graph::build(&loaded) {
            Ok(graph) => {
                let mut warnings = diags;
                warnings.extend(graph.warnings.clone());
                Ok(Project { dir: dir.to_path_buf(), loaded, graph, warnings })
            }
            Err(more) => {
                let mut all = diags;
                all.extend(more);
                Err(LoadError::Config(all))
            }
        }
    }

    /// The graph again, with attribute values now known (data sources read, guests refreshed).
    pub fn rebuild(&self, options: &BuildOptions) -> Result<ResourceGraph, Diagnostics> {
        graph::build_with(&self.loaded, options)
    }

    /// The state location and workspace the project's `pmx { state }` block names.
    pub fn state_settings(&self) -> Option<&crate::config::model::StateSettings> {
        self.loaded.module.settings.state.as_ref()
    }

    /// A client per provider configuration (`proxmox`, `proxmox.dc2`), each from its block and
    /// then `PMX_*` environment variables.
    pub fn clients(&self) -> miette::Result<IndexMap<String, Endpoint>> {
        let mut out = IndexMap::new();
        let mut keys: Vec<String> = self.graph.providers.keys().cloned().collect();
        for i in self.graph.instances.values() {
            if !keys.contains(&i.provider) {
                keys.push(i.provider.clone());
            }
        }
        if keys.is_empty() {
            keys.push("proxmox".into());
        }
        for key in keys {
            let settings = match self.graph.providers.get(&key) {
                Some(p) => {
                    ProviderSettings::from_block(&p.attributes).map_err(|e| miette!("provider \"{key}\": {e}"))?
                }
                None => ProviderSettings::default(),
            };
            let settings = settings.with_env().map_err(|e| miette!("provider \"{key}\": {e}"))?;
            out.insert(key.clone(), Endpoint::new(&key, settings)?);
        }
        Ok(out)
    }

    /// A hash of the configuration (every file's text) and of the variable values, keyed so
    /// that a sensitive variable cannot be guessed from it. Apply refuses a plan whose hash
    /// no longer matches: the files or variables changed since the plan.
    pub fn config_hash(&self, key: &[u8]) -> String {
        let mut text = String::new();
        let mut files: Vec<_> = self.loaded.files.iter().collect();
        files.sort_by(|a, b| a.name.cmp(&b.name));
        for f in files {
            text.push_str(&f.name);
            text.push('\0');
            text.push_str(&f.text);
            text.push('\0');
        }
        for (name, value) in &self.loaded.variables {
            text.push_str(name);
            text.push('=');
            text.push_str(&value.to_json().to_string());
            text.push('\0');
        }
        crate::plan::values::keyed_hash(key, &serde_json::Value::String(text))
    }
}

/// One cluster: its client and the endpoint it reaches, for messages.
pub struct Endpoint {
    pub key: String,
    pub url: String,
    pub client: PveClient,
}

impl Endpoint {
    pub fn new(key: &str, settings: ProviderSettings) -> miette::Result<Endpoint> {
        let config = ClientConfig::from_settings(settings).map_err(|e| miette!("provider \"{key}\": {e}"))?;
        let url = config.endpoint.clone();
        let client = PveClient::new(config).into_diagnostic()?;
        Ok(Endpoint { key: key.to_string(), url, client })
    }
}

/// Opens the workspace's store (creating it on first use).
pub fn open_store(location: &StateLocation, workspace: &str) -> miette::Result<Store> {
    Ok(Store::open(location, workspace)?)
}

/// A multi-threaded runtime for the networked part of an operation.
pub fn runtime() -> miette::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread().enable_all().build().into_diagnostic()
}
