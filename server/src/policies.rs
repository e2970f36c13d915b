//! The policy set the service serves: every version of a policy directory, compiled once, and
//! what `/v1/policies`, `/v1/parameters` and `/v1/health` tell about it.
//!
//! A [`PolicySet`] is immutable; a reload compiles a new one and swaps it in whole only when
//! every version compiled without errors, so a broken edit never takes the service down.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use ereje_compiler::{render_human, PolicyVersions, VersionSet, VersionSpec};
use ereje_runtime::ir::{Param, Policy};
use ereje_runtime::value::{Date, Value};
use ereje_runtime::Engine;
use serde_json::json;

/// Why a policy directory cannot be served.
#[derive(Debug, thiserror::Error)]
pub enum PolicyLoadError {
    /// The manifest or a module file cannot be read.
    #[error("{0}")]
    Load(#[from] ereje_compiler::LoadError),
    /// A version does not compile; `diagnostics` holds the compiler's report.
    #[error("the version `{version}` of `{directory}` has errors:\n{diagnostics}")]
    Compile {
        directory: String,
        version: String,
        diagnostics: String,
    },
    /// A version compiled but its IR cannot be loaded into an engine.
    #[error("the version `{version}` compiled but cannot be loaded: {error}")]
    Engine {
        version: String,
        error: ereje_runtime::LoadError,
    },
    /// The manifest declares no version in force.
    #[error("`{0}` has no version in force")]
    NothingInForce(String),
}

/// One version of the policy set with its engine.
#[derive(Debug, Clone)]
pub struct ServedVersion {
    /// The manifest's description of the version.
    pub spec: VersionSpec,
    /// The version compiled and loaded.
    pub engine: Engine,
    /// The version alone, for requests that name it with `?version=`.
    pub forced: VersionSet,
}

/// Every version of one policy directory, compiled.
#[derive(Debug, Clone)]
pub struct PolicySet {
    /// The directory the set was compiled from.
    pub directory: PathBuf,
    /// The manifest's `[policy]` name.
    pub name: String,
    /// Every version, in manifest order.
    pub versions: Vec<ServedVersion>,
    /// The in-force versions, each deciding the cases of its dates (as `ereje eval` does).
    pub in_force: VersionSet,
}

impl PolicySet {
    /// Compiles every version of a policy directory; the first version with an error stops it.
    /// Each engine takes the first of `native_code` made for its policy's shape.
    pub fn load(
        directory: &Path,
        native_code: &[&'static ereje_runtime::native::NativePolicy],
    ) -> Result<PolicySet, PolicyLoadError> {
        let manifest = PolicyVersions::load(directory)?;
        let mut versions = Vec::with_capacity(manifest.versions.len());
        let mut by_date = Vec::new();
        for spec in &manifest.versions {
            let compilation = manifest.compile(spec)?;
            let policy = match &compilation.policy {
                Some(policy) if compilation.error_count() == 0 => policy,
                _ => {
                    return Err(PolicyLoadError::Compile {
                        directory: directory.display().to_string(),
                        version: spec.name.clone(),
                        diagnostics: render_human(&compilation.reports),
                    })
                }
            };
            let engine = Engine::new((**policy).clone())
                .map_err(|error| PolicyLoadError::Engine {
                    version: spec.name.clone(),
                    error,
                })?
                .with_native_code(native_code);
            if let Some(from) = spec.in_force_from() {
                by_date.push((from, engine.clone()));
            }
            versions.push(ServedVersion {
                spec: spec.clone(),
                forced: VersionSet::single(engine.clone()),
                engine,
            });
        }
        if by_date.is_empty() {
            return Err(PolicyLoadError::NothingInForce(
                directory.display().to_string(),
            ));
        }
        Ok(PolicySet {
            directory: directory.to_path_buf(),
            name: manifest.manifest.name.clone(),
            versions,
            in_force: VersionSet::by_date(by_date),
        })
    }

    /// The engines that decide a request: the version it names, else every in-force version.
    pub fn engines_for(&self, version: Option<&str>) -> Option<&VersionSet> {
        match version {
            None => Some(&self.in_force),
            Some(name) => self
                .versions
                .iter()
                .find(|served| served.spec.name == name)
                .map(|served| &served.forced),
        }
    }

    /// The names of the versions, for an error that names an unknown one.
    pub fn version_names(&self) -> Vec<&str> {
        self.versions
            .iter()
            .map(|served| served.spec.name.as_str())
            .collect()
    }

    /// Every served version's digest, in manifest order.
    pub fn digests(&self) -> Vec<&str> {
        self.versions
            .iter()
            .map(|served| served.engine.digest())
            .collect()
    }

    /// The body of `GET /v1/policies`.
    pub fn listing(&self) -> serde_json::Value {
        let versions: Vec<serde_json::Value> = self
            .versions
            .iter()
            .map(|served| {
                let (status, from) = match served.spec.in_force_from() {
                    Some(from) => ("in-force", Some(from.to_string())),
                    None => ("proposed", None),
                };
                json!({
                    "version": served.spec.name,
                    "status": status,
                    "in_force_from": from,
                    "source": served.spec.source,
                    "digest": served.engine.digest(),
                })
            })
            .collect();
        json!({ "name": self.name, "versions": versions })
    }
}

/// The body of `GET /v1/parameters`: every parameter's value in force on `date` in `policy`,
/// the date that value took effect and its legal source. A parameter with no value on the date
/// has `null` there and says why.
pub fn parameters_on(policy: &Policy, date: Date) -> serde_json::Value {
    let parameters: BTreeMap<&str, serde_json::Value> = policy
        .params
        .iter()
        .map(|param| (param.name.as_str(), parameter_on(param, date)))
        .collect();
    json!({
        "policy": { "name": policy.name, "version": policy.version },
        "date": date.to_string(),
        "parameters": parameters,
    })
}

fn parameter_on(param: &Param, date: Date) -> serde_json::Value {
    let expired = param.valid_until.is_some_and(|until| date > until);
    let current = param
        .values
        .iter()
        .rev()
        .find(|value| value.from <= date)
        .filter(|_| !expired);
    match current {
        Some(value) => json!({
            "value": value_json(&value.value),
            "from": value.from.to_string(),
            "source": value.source.as_ref().or(param.source.as_ref()),
        }),
        None => json!({
            "value": null,
            "from": null,
            "source": param.source,
            "missing": if expired { "the parameter's values end before this date" } else { "the parameter has no value before this date" },
        }),
    }
}

/// A parameter's value as the decision contract writes values: exact decimals as strings.
fn value_json(value: &Value) -> serde_json::Value {
    match value {
        Value::Absent => serde_json::Value::Null,
        Value::Bool(flag) => json!(flag),
        Value::Integer(number) => json!(number),
        Value::Decimal(number) => json!(number.normalize().to_string()),
        Value::Date(date) => json!(date.to_string()),
        Value::Text(text) => json!(text.as_ref()),
        Value::List(items) => serde_json::Value::Array(items.iter().map(value_json).collect()),
        other => serde_json::to_value(other).unwrap_or(serde_json::Value::Null),
    }
}

/// A shared, swappable policy set.
pub type SharedPolicies = Arc<std::sync::RwLock<Arc<PolicySet>>>;
