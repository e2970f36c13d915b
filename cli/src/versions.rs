//! Choosing the policy version a command runs with, and applying `--set` what-ifs to it.
//!
//! `eval` (and `batch`) decide each case with the version in force on its as-of date, unless
//! `--version NAME` forces one; `diff` names a version per side as `DIR@VERSION`. Every IR goes
//! through [`prepare`] before an engine is built from it, so a what-if applies alike everywhere.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use ereje_compiler::{render_human, Compilation, PolicyVersions, VersionSet, VersionSpec};
use ereje_runtime::ir::Policy;
use ereje_runtime::whatif::{self, Override};
use ereje_runtime::{Engine, Limits};

use crate::{fail, print_stderr, summary, EXIT_POLICY_ERRORS};

/// Reads `--set PARAM=VALUE[@DATE]` for clap.
pub fn parse_set(text: &str) -> Result<Override, String> {
    Override::parse(text).map_err(|error| error.message)
}

/// A policy directory and the version named after `@`, if any: `policies/kz@2025.2-draft`.
pub fn parse_side(text: &str) -> (PathBuf, Option<String>) {
    match text.rsplit_once('@') {
        Some((dir, version)) if !version.is_empty() && !version.contains('/') => {
            (PathBuf::from(dir), Some(version.to_string()))
        }
        _ => (PathBuf::from(text), None),
    }
}

fn load_error(error: ereje_compiler::LoadError) -> u8 {
    fail(miette::Report::new(error))
}

/// The IR of a compiled version, with the what-ifs applied; prints the diagnostics when it does
/// not compile.
fn prepare(
    directory: &Path,
    version: &VersionSpec,
    compilation: Compilation,
    sets: &[Override],
) -> Result<Policy, u8> {
    let policy = match &compilation.policy {
        Some(policy) if compilation.error_count() == 0 => policy,
        _ => {
            print_stderr(&render_human(&compilation.reports));
            let label = PathBuf::from(format!("{}@{}", directory.display(), version.name));
            print_stderr(&summary(&label, &compilation));
            return Err(EXIT_POLICY_ERRORS);
        }
    };
    let mut policy = (**policy).clone();
    whatif::apply(&mut policy, sets).map_err(|error| {
        fail(miette::miette!(
            code = "set::invalid",
            help = "write --set PARAM=VALUE or --set PARAM=VALUE@YYYY-MM-DD with a parameter of the policy",
            "{error}"
        ))
    })?;
    Ok(policy)
}

fn engine(policy: Policy, limits: Limits) -> Result<Engine, u8> {
    crate::engine_of(policy)
        .map(|engine| engine.with_limits(limits))
        .map_err(|error| {
            fail(miette::miette!(
                code = "load::ir",
                "the policy compiled but cannot be loaded: {error}"
            ))
        })
}

/// One side of a command: the engines that decide cases and the IR that stands for the side in
/// a static comparison (the forced version, else the latest in force).
pub struct PolicySide {
    /// `kz 2025.1 (in force from 2025-01-01)`, or `kz 2025.1, 2025.2 (by date)`.
    pub label: String,
    pub engines: VersionSet,
    pub policy: Arc<Policy>,
}

/// Loads a policy directory: the version named, or every in-force version picked by date.
pub fn load_side(
    directory: &Path,
    version: Option<&str>,
    sets: &[Override],
) -> Result<PolicySide, u8> {
    load_side_with_limits(directory, version, sets, Limits::default())
}

/// Like [`load_side`], with engines that read cases under `limits`.
pub fn load_side_with_limits(
    directory: &Path,
    version: Option<&str>,
    sets: &[Override],
    limits: Limits,
) -> Result<PolicySide, u8> {
    let versions = PolicyVersions::load(directory).map_err(load_error)?;
    if let Some(name) = version {
        let spec = versions.find(name).map_err(load_error)?.clone();
        let compilation = versions.compile(&spec).map_err(load_error)?;
        let policy = prepare(directory, &spec, compilation, sets)?;
        let shared = Arc::new(policy.clone());
        return Ok(PolicySide {
            label: format!(
                "{} {} ({})",
                versions.manifest.name,
                policy.version,
                spec.status_text()
            ),
            engines: VersionSet::single(engine(policy, limits)?),
            policy: shared,
        });
    }
    let mut latest: Option<(Option<ereje_runtime::value::Date>, Arc<Policy>)> = None;
    let mut names = Vec::new();
    let engines = versions
        .engines_in_force(
            |spec, compilation| {
                let policy = prepare(directory, spec, compilation, sets).map_err(SideError)?;
                names.push(format!("{} ({})", policy.version, spec.status_text()));
                let from = spec.in_force_from();
                if latest.as_ref().is_none_or(|(date, _)| from >= *date) {
                    latest = Some((from, Arc::new(policy.clone())));
                }
                Ok(policy)
            },
            |policy| engine(policy, limits).map_err(SideError),
        )
        .map_err(|error: SideError| error.0)?;
    let policy = match latest {
        Some((_, policy)) => policy,
        None => {
            return Err(fail(miette::miette!(
                code = "load::manifest",
                "`{}` has no version in force",
                directory.display()
            )))
        }
    };
    let label = if names.len() == 1 {
        format!("{} {}", versions.manifest.name, names.join(""))
    } else {
        format!(
            "{} {} (the version in force on each case's date)",
            versions.manifest.name,
            names.join(", ")
        )
    };
    Ok(PolicySide {
        label,
        engines,
        policy,
    })
}

/// An exit code, as the error type the version set's loaders share.
struct SideError(u8);

impl From<u8> for SideError {
    fn from(code: u8) -> SideError {
        SideError(code)
    }
}

impl From<ereje_compiler::LoadError> for SideError {
    fn from(error: ereje_compiler::LoadError) -> SideError {
        SideError(load_error(error))
    }
}
