//! `ereje._native`: the Ereje engine inside Python.
//!
//! The package's Python layer (`python/ereje/__init__.py`) gives analysts `ereje.Policy` and
//! `ereje.impact`; this module is what it stands on: a loaded policy ([`Engine`]) that compiles
//! a policy directory with the compiler, decides cases with the runtime, explains them with the
//! report crate, and reads rows and loads versions with the CLI's own modules, so that a
//! decision made here is byte for byte the one `ereje eval` and `ereje batch` make.
//!
//! Every call that decides cases releases the GIL while the engine works, and many cases are
//! decided on several threads (the batch's ordered work: chunks taken in turn, results put back
//! in input order).

mod convert;
mod frame;
mod pipeline;
mod rows;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use ereje_cli::batch::{decide_line, BatchOptions};
use ereje_cli::csv_input::CsvNames;
use ereje_cli::versions::{load_side, PolicySide};
use ereje_compiler::{render_json, PolicyVersions, VersionSet, VersionStatus};
use ereje_report::explanation as explain;
use ereje_runtime::value::Date;
use ereje_runtime::whatif::{self, Override};
use ereje_runtime::{CaseFailure, CaseOutcome, Decision, EvalOptions, Scratch};
use pyo3::create_exception;
use pyo3::exceptions::{PyException, PyValueError};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::pybacked::PyBackedStr;
use pyo3::types::{PyDict, PyList};

use crate::convert::{CollectorPause, Converter};

create_exception!(
    _native,
    PolicyError,
    PyException,
    "The policy cannot be loaded: its `diagnostics` attribute lists every problem (severity, \
     code, message, file, line, column, labels, help)."
);
create_exception!(
    _native,
    CaseError,
    PyException,
    "A case cannot be decided: `case_id`, `code`, `path` (a JSON pointer) and `message`."
);

/// Cases handed to a worker thread at a time.
const CHUNK_CASES: usize = 64;

/// A policy directory loaded for deciding cases: the versions in force by date, or the one
/// named, with what-if parameter values applied.
#[pyclass(frozen, module = "ereje._native")]
pub struct Engine {
    directory: PathBuf,
    version: Option<String>,
    sets: Vec<Override>,
    set_texts: Vec<String>,
    side: PolicySide,
    engines: Arc<VersionSet>,
    versions: PolicyVersions,
    /// Engines of versions asked for by name in single calls, loaded once.
    named: Mutex<BTreeMap<String, Arc<VersionSet>>>,
    /// Replicas of `engines` for helper threads, kept between calls: a replica takes about
    /// half a millisecond to make (a copy of the policy, prepared again), which a call that
    /// decides a few thousand cases would otherwise pay for every helper.
    replicas: Mutex<Vec<VersionSet>>,
}

/// A Python exception carrying the diagnostics (JSON text of the compiler's list).
fn policy_error(py: Python<'_>, message: String, diagnostics_json: &str) -> PyErr {
    let error = PolicyError::new_err(message);
    let diagnostics = py
        .import("json")
        .and_then(|json| json.call_method1("loads", (diagnostics_json,)));
    if let Ok(diagnostics) = diagnostics {
        let _ = error.value(py).setattr("diagnostics", diagnostics);
    }
    error
}

/// A diagnostic list of one entry, for a problem that is not the compiler's (a missing
/// manifest, a what-if naming no parameter).
fn single_diagnostic(code: &str, message: &str, file: Option<&Path>) -> String {
    serde_json::json!([{
        "severity": "error",
        "code": code,
        "message": message,
        "file": file.map(|file| file.display().to_string()),
        "line": null,
        "column": null,
        "labels": [],
        "help": null,
    }])
    .to_string()
}

/// Compiles what `load_side` will load and checks the what-ifs, so that a broken policy is a
/// [`PolicyError`] with every diagnostic instead of text on stderr.
fn check(
    py: Python<'_>,
    directory: &Path,
    version: Option<&str>,
    sets: &[Override],
) -> PyResult<PolicyVersions> {
    let load_failure = |error: ereje_compiler::LoadError| {
        let code = miette::Diagnostic::code(&error)
            .map_or_else(|| "load".to_string(), |code| code.to_string());
        let message = error.to_string();
        policy_error(
            py,
            message.clone(),
            &single_diagnostic(&code, &message, Some(directory)),
        )
    };
    let versions = PolicyVersions::load(directory).map_err(load_failure)?;
    let compilations = match version {
        Some(name) => {
            let spec = versions.find(name).map_err(load_failure)?.clone();
            let compilation = versions.compile(&spec).map_err(load_failure)?;
            vec![(spec, compilation)]
        }
        None => versions.compile_in_force().map_err(load_failure)?,
    };
    for (spec, compilation) in compilations {
        let policy = match &compilation.policy {
            Some(policy) if compilation.error_count() == 0 => policy,
            _ => {
                let message = format!(
                    "{}@{}: {} error(s), {} warning(s)",
                    directory.display(),
                    spec.name,
                    compilation.error_count(),
                    compilation.warning_count()
                );
                return Err(policy_error(
                    py,
                    message,
                    &render_json(&compilation.reports),
                ));
            }
        };
        let mut changed = (**policy).clone();
        if let Err(error) = whatif::apply(&mut changed, sets) {
            return Err(policy_error(
                py,
                error.message.clone(),
                &single_diagnostic("set::invalid", &error.message, None),
            ));
        }
    }
    if compilations_empty(&versions, version) {
        let message = format!("`{}` has no version in force", directory.display());
        return Err(policy_error(
            py,
            message.clone(),
            &single_diagnostic("load::manifest", &message, Some(directory)),
        ));
    }
    Ok(versions)
}

fn compilations_empty(versions: &PolicyVersions, version: Option<&str>) -> bool {
    version.is_none() && versions.latest_in_force().is_none()
}

/// Loads the engines of a directory (after [`check`] has found no problem).
fn open(
    py: Python<'_>,
    directory: &Path,
    version: Option<&str>,
    sets: &[Override],
) -> PyResult<(PolicyVersions, PolicySide)> {
    let versions = check(py, directory, version, sets)?;
    let side = py
        .detach(|| load_side(directory, version, sets))
        .map_err(|code| {
            PolicyError::new_err(format!(
                "`{}` cannot be loaded (exit code {code}; see stderr)",
                directory.display()
            ))
        })?;
    Ok((versions, side))
}

fn parse_date(text: &str) -> PyResult<Date> {
    Date::parse_from_str(text, "%Y-%m-%d")
        .map_err(|_| PyValueError::new_err(format!("`{text}` is not a date (YYYY-MM-DD)")))
}

fn parse_lang(text: &str) -> PyResult<explain::Lang> {
    match text {
        "ru" => Ok(explain::Lang::Ru),
        "kk" => Ok(explain::Lang::Kk),
        "en" => Ok(explain::Lang::En),
        _ => Err(PyValueError::new_err(format!(
            "`{text}` is not a language of explanations (ru, kk, en)"
        ))),
    }
}

fn parse_format(text: &str) -> PyResult<explain::Format> {
    match text {
        "text" => Ok(explain::Format::Text),
        "json" => Ok(explain::Format::Json),
        "html" => Ok(explain::Format::Html),
        _ => Err(PyValueError::new_err(format!(
            "`{text}` is not a format of explanations (text, json, html)"
        ))),
    }
}

/// Decides `items` on one thread per engine of `engines` (the first is the calling thread's):
/// each takes the next chunk of [`CHUNK_CASES`] in turn; the outcomes come back in input order.
/// `B` is a thread's scratch space for `decide`.
fn decide_all<T, B, F>(engines: &[&VersionSet], items: &[T], decide: F) -> Vec<CaseOutcome>
where
    T: Sync,
    B: Default,
    F: Fn(&VersionSet, &T, &mut Scratch, &mut B) -> CaseOutcome + Sync,
{
    let Some(first) = engines.first().copied() else {
        return Vec::new();
    };
    let chunks = items.len().div_ceil(CHUNK_CASES);
    let threads = engines.len().clamp(1, chunks.max(1));
    let next = AtomicUsize::new(0);
    let work = |engines: &VersionSet| {
        let mut scratch = Scratch::default();
        let mut buffer = B::default();
        let mut done = Vec::new();
        loop {
            let chunk = next.fetch_add(1, Ordering::Relaxed);
            let start = chunk * CHUNK_CASES;
            let Some(slice) = items.get(start..(start + CHUNK_CASES).min(items.len())) else {
                break;
            };
            if slice.is_empty() {
                break;
            }
            let outcomes: Vec<CaseOutcome> = slice
                .iter()
                .map(|item| decide(engines, item, &mut scratch, &mut buffer))
                .collect();
            done.push((chunk, outcomes));
        }
        done
    };
    let mut parts = std::thread::scope(|scope| {
        let work = &work;
        let helpers: Vec<_> = engines
            .iter()
            .take(threads)
            .skip(1)
            .map(|engines| scope.spawn(move || work(engines)))
            .collect();
        let mut parts = work(first);
        for helper in helpers {
            // A helper that failed leaves its chunks undecided; they are decided below.
            if let Ok(part) = helper.join() {
                parts.extend(part);
            }
        }
        parts
    });
    parts.sort_by_key(|(chunk, _)| *chunk);
    let mut outcomes = Vec::with_capacity(items.len());
    let mut scratch = Scratch::default();
    let mut buffer = B::default();
    let mut parts = parts.into_iter().peekable();
    for chunk in 0..chunks {
        match parts.next_if(|(number, _)| *number == chunk) {
            Some((_, part)) => outcomes.extend(part),
            None => {
                let start = chunk * CHUNK_CASES;
                let end = (start + CHUNK_CASES).min(items.len());
                for item in items.get(start..end).unwrap_or_default() {
                    outcomes.push(decide(first, item, &mut scratch, &mut buffer));
                }
            }
        }
    }
    outcomes
}

/// The engines of `threads` threads: `engines` for the calling thread, a replica for each
/// other one while there are replicas, then `engines` again.
fn thread_engines<'a>(
    engines: &'a VersionSet,
    replicas: &'a [VersionSet],
    threads: usize,
) -> Vec<&'a VersionSet> {
    std::iter::once(engines)
        .chain(replicas.iter())
        .chain(std::iter::repeat(engines))
        .take(threads.max(1))
        .collect()
}

/// The number of threads: the one asked for, else every core.
fn thread_count(threads: Option<usize>) -> usize {
    threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |count| count.get()))
        .max(1)
}

/// A decision as a dict shaped like its JSON: `case_id`, `as_of`, `policy`, `outputs` (and
/// `trace`, as JSON data, when it was asked for). The keys are interned strings and the policy's
/// and outputs' texts come from the converter, so that a batch makes them once.
fn decision_dict<'py>(
    py: Python<'py>,
    converter: &Converter<'py>,
    decision: &Decision,
) -> PyResult<Bound<'py, PyAny>> {
    let dict = PyDict::new(py);
    dict.set_item(intern!(py, "case_id"), decision.case_id.as_deref())?;
    dict.set_item(intern!(py, "as_of"), converter.date(decision.as_of)?)?;
    let policy = PyDict::new(py);
    policy.set_item(intern!(py, "name"), converter.text(decision.policy.name))?;
    policy.set_item(
        intern!(py, "version"),
        converter.text(decision.policy.version),
    )?;
    policy.set_item(
        intern!(py, "digest"),
        converter.text(decision.policy.digest),
    )?;
    dict.set_item(intern!(py, "policy"), policy)?;
    let outputs = PyDict::new(py);
    let ir = decision.policy_ir();
    for (name, ty, value) in decision.output_entries() {
        outputs.set_item(converter.text(name), converter.value(ir, value, Some(ty))?)?;
    }
    dict.set_item(intern!(py, "outputs"), outputs)?;
    if decision.trace.is_some() {
        let whole = py
            .import("json")?
            .call_method1("loads", (decision.to_json_string(),))?;
        dict.set_item(intern!(py, "trace"), whole.get_item("trace")?)?;
    }
    Ok(dict.into_any())
}

/// An error line as a dict: `{"case_id", "error": {"code", "path", "message"}}`.
fn failure_dict<'py>(py: Python<'py>, failure: &CaseFailure) -> PyResult<Bound<'py, PyAny>> {
    let error = PyDict::new(py);
    error.set_item(intern!(py, "code"), &failure.error.code)?;
    error.set_item(intern!(py, "path"), &failure.error.path)?;
    error.set_item(intern!(py, "message"), &failure.error.message)?;
    let dict = PyDict::new(py);
    dict.set_item(intern!(py, "case_id"), failure.case_id.as_deref())?;
    dict.set_item(intern!(py, "error"), error)?;
    Ok(dict.into_any())
}

fn outcome_dict<'py>(
    py: Python<'py>,
    converter: &Converter<'py>,
    outcome: &CaseOutcome,
) -> PyResult<Bound<'py, PyAny>> {
    match outcome {
        CaseOutcome::Decision(decision) => decision_dict(py, converter, decision),
        CaseOutcome::Error(failure) => failure_dict(py, failure),
    }
}

fn case_error(failure: &CaseFailure) -> PyErr {
    let error = &failure.error;
    let at = if error.path.is_empty() {
        String::new()
    } else {
        format!(" at `{}`", error.path)
    };
    let exception = CaseError::new_err(format!("{}{at}: {}", error.code, error.message));
    Python::attach(|py| {
        let value = exception.value(py);
        let _ = value.setattr("case_id", failure.case_id.as_deref());
        let _ = value.setattr("code", &error.code);
        let _ = value.setattr("path", &error.path);
        let _ = value.setattr("message", &error.message);
    });
    exception
}

impl Engine {
    /// The engines for a version named in a call, or the loaded ones.
    fn engines_for(&self, py: Python<'_>, version: Option<&str>) -> PyResult<Arc<VersionSet>> {
        let Some(name) = version else {
            return Ok(Arc::clone(&self.engines));
        };
        if self.version.as_deref() == Some(name) {
            return Ok(Arc::clone(&self.engines));
        }
        if let Some(engines) = self
            .named
            .lock()
            .ok()
            .and_then(|named| named.get(name).cloned())
        {
            return Ok(engines);
        }
        let (_, side) = open(py, &self.directory, Some(name), &self.sets)?;
        let engines = Arc::new(side.engines);
        if let Ok(mut named) = self.named.lock() {
            named.insert(name.to_string(), Arc::clone(&engines));
        }
        Ok(engines)
    }

    /// Replicas of `engines` for the helper threads of a call (`threads - 1` of them), so that
    /// the threads share no reference counts (as in `batch`); taken from the pool when
    /// `engines` are the loaded ones. Fewer when a replica cannot be made (the threads without
    /// one share `engines`).
    fn take_replicas(&self, engines: &Arc<VersionSet>, threads: usize) -> Vec<VersionSet> {
        let wanted = threads.saturating_sub(1);
        let mut replicas = Vec::with_capacity(wanted);
        if Arc::ptr_eq(engines, &self.engines) {
            if let Ok(mut pool) = self.replicas.lock() {
                let keep = pool.len().saturating_sub(wanted);
                replicas = pool.split_off(keep);
            }
        }
        while replicas.len() < wanted {
            match engines.replica() {
                Ok(replica) => replicas.push(replica),
                Err(_) => break,
            }
        }
        replicas
    }

    /// Puts back replicas taken by [`Engine::take_replicas`].
    fn give_back(&self, engines: &Arc<VersionSet>, replicas: Vec<VersionSet>) {
        if Arc::ptr_eq(engines, &self.engines) {
            if let Ok(mut pool) = self.replicas.lock() {
                pool.extend(replicas);
            }
        }
    }

    fn eval_options(as_of: Option<&str>, trace: bool) -> PyResult<EvalOptions> {
        Ok(EvalOptions {
            as_of: as_of.map(parse_date).transpose()?,
            trace,
        })
    }
}

#[pymethods]
impl Engine {
    /// Compiles and loads a policy directory; `version` forces one version, `sets` are what-ifs
    /// (`PARAM=VALUE[@DATE]`, as `--set`).
    #[new]
    #[pyo3(signature = (directory, version=None, sets=Vec::new()))]
    fn new(
        py: Python<'_>,
        directory: PathBuf,
        version: Option<String>,
        sets: Vec<String>,
    ) -> PyResult<Engine> {
        let overrides = sets
            .iter()
            .map(|text| {
                Override::parse(text).map_err(|error| {
                    policy_error(
                        py,
                        error.message.clone(),
                        &single_diagnostic("set::invalid", &error.message, None),
                    )
                })
            })
            .collect::<PyResult<Vec<_>>>()?;
        let (versions, side) = open(py, &directory, version.as_deref(), &overrides)?;
        Ok(Engine {
            directory,
            version,
            sets: overrides,
            set_texts: sets,
            engines: Arc::new(side.engines.clone()),
            side,
            versions,
            named: Mutex::new(BTreeMap::new()),
            replicas: Mutex::new(Vec::new()),
        })
    }

    /// The policy directory.
    #[getter]
    fn directory(&self) -> PathBuf {
        self.directory.clone()
    }

    /// The version forced at load time, if any.
    #[getter]
    fn version(&self) -> Option<String> {
        self.version.clone()
    }

    /// The what-ifs applied (`PARAM=VALUE[@DATE]`).
    #[getter]
    fn sets(&self) -> Vec<String> {
        self.set_texts.clone()
    }

    /// The label reports give this policy (`kz 2025.1 (in force from 2025-01-01)`).
    #[getter]
    fn label(&self) -> String {
        self.side.label.clone()
    }

    /// Every version the manifest declares: name, status (`in-force` or `proposed`), `from`
    /// (the date it is in force from, or None) and its source.
    fn versions<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let converter = Converter::new(py)?;
        let list = PyList::empty(py);
        for spec in &self.versions.versions {
            let dict = PyDict::new(py);
            dict.set_item("name", &spec.name)?;
            let (status, from) = match spec.status {
                VersionStatus::InForce { from } => ("in-force", Some(from)),
                VersionStatus::Proposed => ("proposed", None),
            };
            dict.set_item("status", status)?;
            let from = match from.filter(|from| *from != Date::MIN) {
                Some(from) => converter.date(from)?,
                None => converter.none(),
            };
            dict.set_item("from", from)?;
            dict.set_item("source", spec.source.as_deref())?;
            list.append(dict)?;
        }
        Ok(list)
    }

    /// The value of every parameter on `date` (YYYY-MM-DD), of the version in force on it (or
    /// the one loaded); a parameter with no value on that date is left out.
    #[pyo3(signature = (date, version=None))]
    fn parameters<'py>(
        &self,
        py: Python<'py>,
        date: &str,
        version: Option<&str>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let date = parse_date(date)?;
        let engines = self.engines_for(py, version)?;
        let Some(engine) = engines.pick(Some(date)) else {
            return Err(PolicyError::new_err("the policy has no version"));
        };
        let policy = engine.policy();
        let converter = Converter::new(py)?;
        let dict = PyDict::new(py);
        for param in &policy.params {
            if let Ok((_, value)) = param.value_on(date) {
                dict.set_item(
                    &param.name,
                    converter.value(policy, &value.value, Some(&param.ty))?,
                )?;
            }
        }
        Ok(dict)
    }

    /// Decides one case (JSON text); raises `CaseError` when it cannot be decided.
    #[pyo3(signature = (case, as_of=None, version=None, trace=false))]
    fn evaluate<'py>(
        &self,
        py: Python<'py>,
        case: &str,
        as_of: Option<&str>,
        version: Option<&str>,
        trace: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        let engines = self.engines_for(py, version)?;
        let options = BatchOptions::new(1, Engine::eval_options(as_of, trace)?);
        let outcome =
            py.detach(|| decide_line(&engines, &options, case.as_bytes(), &mut Scratch::default()));
        match &outcome {
            CaseOutcome::Decision(decision) => decision_dict(py, &Converter::new(py)?, decision),
            CaseOutcome::Error(failure) => Err(case_error(failure)),
        }
    }

    /// The decision of one case (JSON text) explained, as `ereje explain` writes it.
    #[pyo3(signature = (case, lang="ru", format="text", as_of=None, version=None, full=false))]
    #[allow(clippy::too_many_arguments)]
    fn explain(
        &self,
        py: Python<'_>,
        case: &str,
        lang: &str,
        format: &str,
        as_of: Option<&str>,
        version: Option<&str>,
        full: bool,
    ) -> PyResult<String> {
        let lang = parse_lang(lang)?;
        let format = parse_format(format)?;
        let as_of = as_of.map(parse_date).transpose()?;
        let engines = self.engines_for(py, version)?;
        let result = py.detach(|| {
            let date = as_of.or_else(|| {
                engines
                    .first()
                    .and_then(|engine| engine.read_case(case).ok())
                    .and_then(|case| case.as_of())
            });
            let engine = engines.pick(date)?;
            let options = ereje_runtime::ExplainOptions {
                as_of,
                full_trace: full,
            };
            Some(
                ereje_runtime::explain_case(engine, case, &options)
                    .map(|explanation| explain::render(&explanation, format, lang, full)),
            )
        });
        match result {
            Some(Ok(text)) => Ok(text),
            Some(Err(failure)) => Err(case_error(&failure)),
            None => Err(PolicyError::new_err("the policy has no version")),
        }
    }

    /// Decides many cases (JSON texts) on `threads` threads (every core by default) with the
    /// GIL released; a list in input order of decisions and error lines (dicts). The texts are
    /// read in place (`PyBackedStr`: the str's own UTF-8), not copied.
    #[pyo3(signature = (cases, threads=None, as_of=None, version=None, trace=false))]
    fn evaluate_many<'py>(
        &self,
        py: Python<'py>,
        cases: Vec<PyBackedStr>,
        threads: Option<usize>,
        as_of: Option<&str>,
        version: Option<&str>,
        trace: bool,
    ) -> PyResult<Bound<'py, PyList>> {
        let engines = self.engines_for(py, version)?;
        let options = BatchOptions::new(1, Engine::eval_options(as_of, trace)?);
        let threads = thread_count(threads);
        let replicas = py.detach(|| self.take_replicas(&engines, threads));
        let sets = thread_engines(&engines, &replicas, threads);
        let converter = Converter::new(py)?;
        let mut dicts = Vec::with_capacity(cases.len());
        let converted = pipeline::decide_and_convert(
            py,
            &sets,
            &cases,
            |engines, case, scratch, _: &mut ()| {
                decide_line(engines, &options, case.as_bytes(), scratch)
            },
            |outcomes| {
                let _pause = CollectorPause::new(py)?;
                for outcome in outcomes {
                    dicts.push(outcome_dict(py, &converter, outcome)?);
                }
                Ok(())
            },
        );
        drop(sets);
        self.give_back(&engines, replicas);
        converted?;
        PyList::new(py, dicts)
    }

    /// Decides many cases (JSON texts) like `evaluate_many` and gives the lines `ereje batch`
    /// writes for them, byte for byte.
    #[pyo3(signature = (cases, threads=None, as_of=None, version=None, trace=false))]
    fn evaluate_lines(
        &self,
        py: Python<'_>,
        cases: Vec<PyBackedStr>,
        threads: Option<usize>,
        as_of: Option<&str>,
        version: Option<&str>,
        trace: bool,
    ) -> PyResult<Vec<String>> {
        let engines = self.engines_for(py, version)?;
        let options = BatchOptions::new(1, Engine::eval_options(as_of, trace)?);
        let threads = thread_count(threads);
        Ok(py.detach(|| {
            let replicas = self.take_replicas(&engines, threads);
            let lines = decide_all(
                &thread_engines(&engines, &replicas, threads),
                &cases,
                |engines, case, scratch, _: &mut ()| {
                    decide_line(engines, &options, case.as_bytes(), scratch)
                },
            )
            .iter()
            .map(CaseOutcome::to_json_line)
            .collect();
            self.give_back(&engines, replicas);
            lines
        }))
    }

    /// The columns `evaluate_rows` gives, in order.
    fn output_columns(&self) -> Vec<String> {
        frame::Layout::of(&self.side.policy).names()
    }

    /// Decides the rows of a frame: `columns` are its column names (the CSV layout), `cells`
    /// one list per column: every row's cell, or, where `positions` gives a column its row
    /// numbers, the cells of those rows alone (the others empty; `height` rows in all). Gives
    /// one list per output column (`output_columns`).
    #[pyo3(signature = (columns, cells, threads=None, as_of=None, version=None, positions=None, height=None))]
    #[allow(clippy::too_many_arguments)]
    fn evaluate_rows<'py>(
        &self,
        py: Python<'py>,
        columns: Vec<String>,
        cells: Vec<Bound<'py, PyList>>,
        threads: Option<usize>,
        as_of: Option<&str>,
        version: Option<&str>,
        positions: Option<Vec<Option<Vec<usize>>>>,
        height: Option<usize>,
    ) -> PyResult<Bound<'py, PyList>> {
        let names = CsvNames::load(&self.directory).map_err(PyValueError::new_err)?;
        let reader =
            rows::RowReader::new(&self.side.policy, &names, &columns).map_err(|message| {
                PyValueError::new_err(format!("the frame's columns are invalid: {message}"))
            })?;
        if cells.len() != columns.len() {
            return Err(PyValueError::new_err(
                "the frame gives cells for a different number of columns than it names",
            ));
        }
        let rows = frame::rows_of(&cells, &positions.unwrap_or_default(), height)?;
        let width = columns.len();
        let engines = self.engines_for(py, version)?;
        let options = Engine::eval_options(as_of, false)?;
        let threads = thread_count(threads);
        let outcomes = py.detach(|| {
            let replicas = self.take_replicas(&engines, threads);
            let sets = thread_engines(&engines, &replicas, threads);
            let outcomes = decide_all(&sets, &rows, |engines, row, scratch, buffers| {
                let (record, json): &mut (csv::ByteRecord, String) = buffers;
                match reader.case_json(width, row, record, json) {
                    Ok(()) => engines
                        .evaluate_json(json, &options, scratch)
                        .unwrap_or_else(frame::not_in_force),
                    Err((case_id, error)) => CaseOutcome::Error(CaseFailure { case_id, error }),
                }
            });
            drop(sets);
            self.give_back(&engines, replicas);
            outcomes
        });
        frame::Layout::of(&self.side.policy).columns(py, &outcomes)
    }
}

/// The impact of `new` over `old` on `cases` (JSON Lines), as `ereje diff --cases` computes
/// it: the report's JSON text and its text.
#[pyfunction]
#[pyo3(signature = (old, new, cases, measure=None, top=10))]
fn impact(
    py: Python<'_>,
    old: &Engine,
    new: &Engine,
    cases: &str,
    measure: Option<&str>,
    top: usize,
) -> PyResult<(String, String)> {
    use ereje_report::diff::{impact, impact_json, impact_text, ImpactSide};
    let result = py.detach(|| {
        impact(
            &ImpactSide {
                label: &old.side.label,
                engines: &old.engines,
            },
            &ImpactSide {
                label: &new.side.label,
                engines: &new.engines,
            },
            cases,
            measure,
            top,
        )
        .map(|impact| (impact_json(&impact).to_string(), impact_text(&impact)))
    });
    result.map_err(PyValueError::new_err)
}

/// A seeded, generated population of `count` family cases as JSON Lines, exactly as
/// `ereje generate --cases COUNT --seed SEED` writes it.
#[pyfunction]
#[pyo3(signature = (count, seed=1))]
fn generate(py: Python<'_>, count: u64, seed: u64) -> String {
    py.detach(|| {
        let mut text = String::new();
        ereje_cli::generate::write_population(&mut text, seed, count);
        text
    })
}

/// The package's native module.
#[pymodule]
fn _native(module: &Bound<'_, PyModule>) -> PyResult<()> {
    module.add_class::<Engine>()?;
    module.add_function(wrap_pyfunction!(impact, module)?)?;
    module.add_function(wrap_pyfunction!(generate, module)?)?;
    module.add("PolicyError", module.py().get_type::<PolicyError>())?;
    module.add("CaseError", module.py().get_type::<CaseError>())?;
    Ok(())
}
