//! Versions of a policy set side by side in one directory.
//!
//! A manifest may list `[[version]]` tables after its `[policy]` table:
//!
//! ```toml
//! [policy]
//! name = "kz"
//! version = "2025.1"
//! publisher = "…"
//! modules = ["case.ereje", "asp.ereje", "pilot.ereje"]
//!
//! [[version]]
//! name = "2025.1"
//! status = "in-force"
//! from = 2025-01-01
//! source = "the order that put it in force"
//!
//! [[version]]
//! name = "2025.2-draft"
//! status = "proposed"
//! source = "the consultative draft"
//! replace_modules = { "pilot.ereje" = "pilot_draft.ereje" }
//! ```
//!
//! A version's modules are its own `modules` list when it gives one, else the `[policy]` table's
//! list, with `replace_modules` swapping files and `add_modules` appending files. Building a
//! version from the common list keeps a module added to `[policy]` in every version. Without
//! any `[[version]]` table, the `[policy]` table alone makes the single version, in force from
//! the date its modules say.
//!
//! The version a case is decided by is the in-force version with the latest `from` on or before
//! the case's as-of date ([`VersionSet`], in `ereje_runtime::versions`); a proposed version is used only when asked for by
//! name. Each version compiles to its own IR, whose `version` is the version's name, so that a
//! decision names the version that made it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use ereje_runtime::ir::Policy;
use ereje_runtime::value::Date;
/// The choice of the version in force lives in the runtime, so that an embedder of compiled
/// IR chooses by date without the compiler; these names stay here for existing code.
pub use ereje_runtime::versions::{VersionSet, VersionStatus};
use ereje_runtime::Engine;

use crate::db::Manifest;
use crate::{Compilation, LoadError, Workspace};

/// One version of a policy set, as the manifest describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionSpec {
    pub name: String,
    pub status: VersionStatus,
    /// The act that adopted or proposes the version.
    pub source: Option<String>,
    /// The module files, relative to the policy directory, in compilation order.
    pub modules: Vec<String>,
}

impl VersionSpec {
    pub fn in_force_from(&self) -> Option<Date> {
        self.status.in_force_from()
    }

    /// `in force from 2025-01-01` or `proposed`, for people.
    pub fn status_text(&self) -> String {
        match self.status {
            VersionStatus::InForce { from } if from == Date::MIN => {
                "in force from the date its modules say".to_string()
            }
            VersionStatus::InForce { from } => format!("in force from {from}"),
            VersionStatus::Proposed => "proposed".to_string(),
        }
    }
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct VersionTable {
    name: String,
    status: String,
    from: Option<toml::value::Datetime>,
    source: Option<String>,
    modules: Option<Vec<String>>,
    #[serde(default)]
    replace_modules: BTreeMap<String, String>,
    #[serde(default)]
    add_modules: Vec<String>,
}

#[derive(serde::Deserialize)]
struct ManifestWithVersions {
    policy: Manifest,
    #[serde(default)]
    version: Vec<VersionTable>,
}

/// The manifest of a policy directory with every version it declares.
#[derive(Debug, Clone)]
pub struct PolicyVersions {
    pub directory: PathBuf,
    /// The `[policy]` table.
    pub manifest: Manifest,
    /// In manifest order. Never empty.
    pub versions: Vec<VersionSpec>,
    /// Whether the manifest declares `[[version]]` tables (false: the single version is the
    /// `[policy]` table itself).
    pub declared: bool,
}

fn manifest_error(path: &Path, message: String) -> LoadError {
    LoadError::Manifest {
        path: path.display().to_string(),
        message,
    }
}

fn version_from_table(
    table: VersionTable,
    manifest: &Manifest,
    manifest_path: &Path,
) -> Result<VersionSpec, LoadError> {
    let status = match (table.status.as_str(), table.from) {
        ("in-force", Some(from)) => {
            let text = from.to_string();
            let date = Date::parse_from_str(&text, "%Y-%m-%d").map_err(|_| {
                manifest_error(
                    manifest_path,
                    format!(
                        "version `{}`: `from = {text}` is not a date (write from = YYYY-MM-DD)",
                        table.name
                    ),
                )
            })?;
            VersionStatus::InForce { from: date }
        }
        ("in-force", None) => {
            return Err(manifest_error(
                manifest_path,
                format!(
                    "version `{}` is in force but says not from when: add `from = YYYY-MM-DD`",
                    table.name
                ),
            ))
        }
        ("proposed", None) => VersionStatus::Proposed,
        ("proposed", Some(_)) => {
            return Err(manifest_error(
                manifest_path,
                format!(
                    "version `{}` is proposed and cannot be in force from a date: remove `from`",
                    table.name
                ),
            ))
        }
        (other, _) => {
            return Err(manifest_error(
                manifest_path,
                format!(
                    "version `{}` has status `{other}`: a status is \"in-force\" or \"proposed\"",
                    table.name
                ),
            ))
        }
    };
    let mut modules = table.modules.unwrap_or_else(|| manifest.modules.clone());
    for (old, new) in &table.replace_modules {
        let Some(slot) = modules.iter_mut().find(|module| *module == old) else {
            return Err(manifest_error(
                manifest_path,
                format!(
                    "version `{}` replaces `{old}`, which is not among its modules",
                    table.name
                ),
            ));
        };
        slot.clone_from(new);
    }
    modules.extend(table.add_modules);
    Ok(VersionSpec {
        name: table.name,
        status,
        source: table.source,
        modules,
    })
}

impl PolicyVersions {
    /// Reads `ereje.toml` of a policy directory.
    pub fn load(directory: &Path) -> Result<PolicyVersions, LoadError> {
        let manifest_path = directory.join("ereje.toml");
        let text = std::fs::read_to_string(&manifest_path).map_err(|error| LoadError::Io {
            path: manifest_path.display().to_string(),
            message: error.to_string(),
        })?;
        PolicyVersions::from_manifest_text(directory, &manifest_path, &text)
    }

    fn from_manifest_text(
        directory: &Path,
        manifest_path: &Path,
        text: &str,
    ) -> Result<PolicyVersions, LoadError> {
        let file: ManifestWithVersions = toml::from_str(text)
            .map_err(|error| manifest_error(manifest_path, error.message().to_string()))?;
        let declared = !file.version.is_empty();
        let mut versions = Vec::with_capacity(file.version.len().max(1));
        for table in file.version {
            if versions
                .iter()
                .any(|version: &VersionSpec| version.name == table.name)
            {
                return Err(manifest_error(
                    manifest_path,
                    format!("two versions are named `{}`", table.name),
                ));
            }
            versions.push(version_from_table(table, &file.policy, manifest_path)?);
        }
        if versions.is_empty() {
            // The `[policy]` table alone: one version, in force from the date its modules say
            // (the compiled IR checks it), so no date is claimed here.
            versions.push(VersionSpec {
                name: file.policy.version.clone(),
                status: VersionStatus::InForce { from: Date::MIN },
                source: None,
                modules: file.policy.modules.clone(),
            });
        } else {
            let mut dates: Vec<Date> = versions
                .iter()
                .filter_map(VersionSpec::in_force_from)
                .collect();
            if dates.is_empty() {
                return Err(manifest_error(
                    manifest_path,
                    "no version is in force: give one version status = \"in-force\" and a date"
                        .to_string(),
                ));
            }
            dates.sort();
            if let Some(pair) = dates.windows(2).find(|pair| pair[0] == pair[1]) {
                return Err(manifest_error(
                    manifest_path,
                    format!("two versions are in force from the same date, {}", pair[0]),
                ));
            }
        }
        Ok(PolicyVersions {
            directory: directory.to_path_buf(),
            manifest: file.policy,
            versions,
            declared,
        })
    }

    /// The in-force version with the latest date: the one [`Workspace::load`] compiles.
    pub fn latest_in_force(&self) -> Option<&VersionSpec> {
        self.versions
            .iter()
            .filter(|version| version.in_force_from().is_some())
            .max_by_key(|version| version.in_force_from())
    }

    /// The in-force version on a date: the latest `from` on or before it.
    pub fn in_force_on(&self, date: Date) -> Option<&VersionSpec> {
        self.versions
            .iter()
            .filter(|version| version.in_force_from().is_some_and(|from| from <= date))
            .max_by_key(|version| version.in_force_from())
    }

    /// A version by name; the error names the versions there are and the closest one.
    pub fn find(&self, name: &str) -> Result<&VersionSpec, LoadError> {
        if let Some(version) = self.versions.iter().find(|version| version.name == name) {
            return Ok(version);
        }
        let known: Vec<String> = self
            .versions
            .iter()
            .map(|version| format!("`{}` ({})", version.name, version.status_text()))
            .collect();
        let closest = self
            .versions
            .iter()
            .map(|version| (strsim::levenshtein(&version.name, name), &version.name))
            .min()
            .filter(|(distance, _)| *distance <= 3)
            .map(|(_, closest)| format!("; did you mean `{closest}`?"))
            .unwrap_or_default();
        Err(LoadError::Manifest {
            path: self.directory.join("ereje.toml").display().to_string(),
            message: format!(
                "the policy has no version `{name}`{closest} Its versions: {}",
                known.join(", ")
            ),
        })
    }

    /// The manifest a version compiles with: the `[policy]` table with the version's name and
    /// modules.
    pub fn manifest_of(&self, version: &VersionSpec) -> Manifest {
        Manifest {
            name: self.manifest.name.clone(),
            version: version.name.clone(),
            publisher: self.manifest.publisher.clone(),
            modules: version.modules.clone(),
        }
    }

    /// Reads a version's module files into a workspace.
    pub fn workspace(&self, version: &VersionSpec) -> Result<Workspace, LoadError> {
        Workspace::load_modules(&self.directory, self.manifest_of(version))
    }

    /// Compiles one version.
    pub fn compile(&self, version: &VersionSpec) -> Result<Compilation, LoadError> {
        Ok(self.workspace(version)?.compile())
    }

    /// Compiles every in-force version, in manifest order.
    pub fn compile_in_force(&self) -> Result<Vec<(VersionSpec, Compilation)>, LoadError> {
        self.versions
            .iter()
            .filter(|version| version.in_force_from().is_some())
            .map(|version| Ok((version.clone(), self.compile(version)?)))
            .collect()
    }

    /// Compiles every in-force version and builds their [`VersionSet`], after `prepare` has
    /// had its say on each IR (a what-if changes parameters there). The first failure stops it.
    pub fn engines_in_force<E>(
        &self,
        mut prepare: impl FnMut(&VersionSpec, Compilation) -> Result<Policy, E>,
        mut load: impl FnMut(Policy) -> Result<Engine, E>,
    ) -> Result<VersionSet, E>
    where
        E: From<LoadError>,
    {
        let mut engines = Vec::new();
        for (version, compilation) in self.compile_in_force()? {
            let from = version.in_force_from().unwrap_or(Date::MIN);
            let policy = prepare(&version, compilation)?;
            engines.push((from, load(policy)?));
        }
        Ok(VersionSet::by_date(engines))
    }
}

impl Workspace {
    /// Reads the given module files of a policy directory with a manifest built elsewhere (a
    /// version's).
    pub fn load_modules(directory: &Path, manifest: Manifest) -> Result<Workspace, LoadError> {
        let mut sources = Vec::with_capacity(manifest.modules.len());
        for module in &manifest.modules {
            let path = directory.join(module);
            let text = std::fs::read_to_string(&path).map_err(|error| LoadError::Io {
                path: path.display().to_string(),
                message: error.to_string(),
            })?;
            sources.push((module.clone(), text));
        }
        let mut workspace = Workspace::from_sources(manifest, sources);
        workspace.directory = Some(directory.to_path_buf());
        Ok(workspace)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Result<PolicyVersions, String> {
        PolicyVersions::from_manifest_text(Path::new("p"), Path::new("p/ereje.toml"), text).map_err(
            |error| match error {
                LoadError::Manifest { message, .. } => message,
                other => other.to_string(),
            },
        )
    }

    const POLICY: &str = "[policy]\nname = \"x\"\nversion = \"1\"\npublisher = \"p\"\nmodules = [\"a.ereje\", \"b.ereje\"]\n";

    /// Each manifest gives either the versions' (name, modules, status) or an error containing
    /// the expected text.
    fn check(versions: &str, expected: Result<&[(&str, &str, &str)], &str>) {
        let text = format!("{POLICY}{versions}");
        match (read(&text), expected) {
            (Ok(read), Ok(expected)) => {
                let actual: Vec<(String, String, String)> = read
                    .versions
                    .iter()
                    .map(|v| (v.name.clone(), v.modules.join(","), v.status_text()))
                    .collect();
                let expected: Vec<(String, String, String)> = expected
                    .iter()
                    .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
                    .collect();
                assert_eq!(actual, expected, "{versions}");
            }
            (Err(message), Err(expected)) => {
                assert!(message.contains(expected), "{message} lacks {expected}")
            }
            (actual, expected) => panic!("{versions}: got {actual:?}, expected {expected:?}"),
        }
    }

    #[test]
    fn manifests_give_their_versions_or_a_clear_error() {
        check(
            "",
            Ok(&[(
                "1",
                "a.ereje,b.ereje",
                "in force from the date its modules say",
            )]),
        );
        check(
            "[[version]]\nname = \"1\"\nstatus = \"in-force\"\nfrom = 2025-01-01\n\
             [[version]]\nname = \"2\"\nstatus = \"proposed\"\nreplace_modules = { \"b.ereje\" = \"c.ereje\" }\n",
            Ok(&[
                ("1", "a.ereje,b.ereje", "in force from 2025-01-01"),
                ("2", "a.ereje,c.ereje", "proposed"),
            ]),
        );
        check(
            "[[version]]\nname = \"1\"\nstatus = \"in-force\"\nfrom = 2025-01-01\nadd_modules = [\"d.ereje\"]\n",
            Ok(&[("1", "a.ereje,b.ereje,d.ereje", "in force from 2025-01-01")]),
        );
        check(
            "[[version]]\nname = \"1\"\nstatus = \"in-force\"\n",
            Err("says not from when"),
        );
        check(
            "[[version]]\nname = \"1\"\nstatus = \"proposed\"\n",
            Err("no version is in force"),
        );
        check(
            "[[version]]\nname = \"1\"\nstatus = \"adopted\"\nfrom = 2025-01-01\n",
            Err("status `adopted`"),
        );
        check(
            "[[version]]\nname = \"1\"\nstatus = \"in-force\"\nfrom = 2025-01-01\nreplace_modules = { \"z.ereje\" = \"c.ereje\" }\n",
            Err("replaces `z.ereje`"),
        );
        check(
            "[[version]]\nname = \"1\"\nstatus = \"in-force\"\nfrom = 2025-01-01\n\
             [[version]]\nname = \"1\"\nstatus = \"proposed\"\n",
            Err("two versions are named `1`"),
        );
        check(
            "[[version]]\nname = \"1\"\nstatus = \"in-force\"\nfrom = 2025-01-01\n\
             [[version]]\nname = \"2\"\nstatus = \"in-force\"\nfrom = 2025-01-01\n",
            Err("same date"),
        );
    }

    #[test]
    fn the_version_in_force_is_the_latest_on_or_before_the_date() {
        let versions = read(&format!(
            "{POLICY}[[version]]\nname = \"old\"\nstatus = \"in-force\"\nfrom = 2024-01-01\n\
             [[version]]\nname = \"draft\"\nstatus = \"proposed\"\n\
             [[version]]\nname = \"new\"\nstatus = \"in-force\"\nfrom = 2025-07-01\n",
        ))
        .unwrap();
        let on = |text: &str| {
            let date = Date::parse_from_str(text, "%Y-%m-%d").unwrap();
            versions.in_force_on(date).map(|v| v.name.clone())
        };
        assert_eq!(on("2023-12-31"), None);
        assert_eq!(on("2024-01-01").as_deref(), Some("old"));
        assert_eq!(on("2025-06-30").as_deref(), Some("old"));
        assert_eq!(on("2025-07-01").as_deref(), Some("new"));
        assert_eq!(
            versions.latest_in_force().map(|v| v.name.as_str()),
            Some("new")
        );
        let error = versions.find("drat").unwrap_err().to_string();
        assert!(error.contains("did you mean `draft`"), "{error}");
    }
}
