//! The server's state (one workspace per policy directory, the open documents) and the dispatch
//! of notifications and requests.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use ereje_compiler::navigation::{self, Target};
use ereje_compiler::{PolicyVersions, Severity, Workspace};
use lsp_server::{Notification, Request, RequestId, Response};
use lsp_types::notification::{
    DidChangeTextDocument, DidCloseTextDocument, DidOpenTextDocument, DidSaveTextDocument,
    Notification as _, PublishDiagnostics,
};
use lsp_types::request::{
    Completion, DocumentSymbolRequest, GotoDefinition, HoverRequest, References, Rename,
    Request as _,
};
use lsp_types::{
    CompletionOptions, DiagnosticRelatedInformation, DiagnosticSeverity, HoverProviderCapability,
    Location, NumberOrString, OneOf, Position, PublishDiagnosticsParams, ServerCapabilities,
    TextDocumentSyncCapability, TextDocumentSyncKind, TextEdit, Url, WorkspaceEdit,
};

use crate::project::{Place, Project};
use crate::{features, text, Options};

/// What the server offers the client.
pub fn capabilities() -> ServerCapabilities {
    ServerCapabilities {
        text_document_sync: Some(TextDocumentSyncCapability::Kind(
            TextDocumentSyncKind::INCREMENTAL,
        )),
        hover_provider: Some(HoverProviderCapability::Simple(true)),
        definition_provider: Some(OneOf::Left(true)),
        references_provider: Some(OneOf::Left(true)),
        rename_provider: Some(OneOf::Left(true)),
        document_symbol_provider: Some(OneOf::Left(true)),
        completion_provider: Some(CompletionOptions::default()),
        execute_command_provider: Some(lsp_types::ExecuteCommandOptions {
            commands: vec![crate::RUN_TESTS_COMMAND.to_string()],
            ..lsp_types::ExecuteCommandOptions::default()
        }),
        ..ServerCapabilities::default()
    }
}

/// The language server's state.
pub struct Server {
    options: Options,
    projects: Vec<Project>,
    /// Notifications a request produced, to send after its response.
    pending: Vec<Notification>,
}

impl Server {
    pub fn new(options: Options) -> Server {
        Server {
            options,
            projects: Vec::new(),
            pending: Vec::new(),
        }
    }

    /// The notifications produced while answering requests (test results), to send now.
    pub fn take_pending(&mut self) -> Vec<Notification> {
        std::mem::take(&mut self.pending)
    }

    /// Runs the tests of a document's policy on its compiled text: a diagnostic on each failing
    /// test (every test file is published, so fixed tests clear), and `{ passed, failed }`.
    fn run_tests(&mut self, uri: &Url) -> Result<(serde_json::Value, Vec<Notification>), String> {
        let runner = self
            .options
            .tests
            .ok_or("this server has no test runner (start it with `ereje lsp`)")?;
        let path = uri
            .to_file_path()
            .map_err(|_| format!("`{uri}` is not a file"))?;
        let directory =
            policy_directory(&path).ok_or("no `ereje.toml` above this file".to_string())?;
        let index = self.project(&directory)?;
        let project = &self.projects[index];
        let compilation = project.workspace.compile();
        let policy = compilation
            .policy
            .ok_or("the policy has errors: fix them before running its tests")?;
        let outcomes = runner(&directory, &policy);
        let mut by_file: BTreeMap<&str, Vec<lsp_types::Diagnostic>> = BTreeMap::new();
        for outcome in &outcomes {
            let diagnostics = by_file.entry(outcome.file.as_str()).or_default();
            if let Some(failure) = &outcome.failure {
                let line = outcome.line.saturating_sub(1) as u32;
                diagnostics.push(lsp_types::Diagnostic {
                    range: lsp_types::Range::new(
                        Position::new(line, 0),
                        Position::new(line, u32::MAX),
                    ),
                    severity: Some(DiagnosticSeverity::ERROR),
                    code: Some(NumberOrString::String("test.failed".to_string())),
                    source: Some("ereje test".to_string()),
                    message: format!("test `{}` fails: {failure}", outcome.name),
                    ..lsp_types::Diagnostic::default()
                });
            }
        }
        let mut notifications = Vec::new();
        for (file, diagnostics) in by_file {
            if let Ok(uri) = Url::from_file_path(directory.join(file)) {
                notifications.push(Notification::new(
                    PublishDiagnostics::METHOD.to_string(),
                    PublishDiagnosticsParams::new(uri, diagnostics, None),
                ));
            }
        }
        let failed = outcomes.iter().filter(|o| o.failure.is_some()).count();
        let summary = serde_json::json!({ "passed": outcomes.len() - failed, "failed": failed });
        Ok((summary, notifications))
    }

    /// Handles a notification; returns the notifications to send (published diagnostics).
    pub fn notification(&mut self, notification: Notification) -> Vec<Notification> {
        match notification.method.as_str() {
            DidOpenTextDocument::METHOD => {
                match notification
                    .extract::<lsp_types::DidOpenTextDocumentParams>(DidOpenTextDocument::METHOD)
                {
                    Ok(params) => {
                        let document = params.text_document;
                        self.set_text(&document.uri, |_| Some(document.text))
                    }
                    Err(_) => Vec::new(),
                }
            }
            DidChangeTextDocument::METHOD => {
                match notification.extract::<lsp_types::DidChangeTextDocumentParams>(
                    DidChangeTextDocument::METHOD,
                ) {
                    Ok(params) => self.set_text(&params.text_document.uri, |old| {
                        let mut text = old.to_string();
                        for change in params.content_changes {
                            match change.range {
                                Some(range) => {
                                    let start = text::offset(&text, range.start);
                                    let end = text::offset(&text, range.end).max(start);
                                    text.replace_range(start..end, &change.text);
                                }
                                None => text = change.text,
                            }
                        }
                        Some(text)
                    }),
                    Err(_) => Vec::new(),
                }
            }
            // The database holds the editor's text; a closed file returns to its saved text.
            DidCloseTextDocument::METHOD => {
                match notification
                    .extract::<lsp_types::DidCloseTextDocumentParams>(DidCloseTextDocument::METHOD)
                {
                    Ok(params) => {
                        let uri = params.text_document.uri;
                        let saved = uri
                            .to_file_path()
                            .ok()
                            .and_then(|path| std::fs::read_to_string(path).ok());
                        self.set_text(&uri, |_| saved)
                    }
                    Err(_) => Vec::new(),
                }
            }
            DidSaveTextDocument::METHOD => Vec::new(),
            _ => Vec::new(),
        }
    }

    /// Sets a module's text (from its current text) in every project that holds it and returns
    /// the diagnostics to publish: each module's from the first project that holds it (the
    /// directory's latest in-force version, else the first version that lists the module).
    fn set_text(
        &mut self,
        uri: &Url,
        edit: impl FnOnce(&str) -> Option<String>,
    ) -> Vec<Notification> {
        let Some((holding, path)) = self.module_of(uri) else {
            return Vec::new();
        };
        let Some(&first) = holding.first() else {
            return Vec::new();
        };
        let current = self.projects[first]
            .workspace
            .file_text(&path)
            .unwrap_or("")
            .to_string();
        if let Some(new_text) = edit(&current) {
            if new_text != current {
                for &index in &holding {
                    self.projects[index]
                        .workspace
                        .set_file_text(&path, new_text.clone());
                }
            }
        }
        let mut notifications = Vec::new();
        for &index in &holding {
            let directory = self.projects[index].directory.clone();
            // Modules an earlier project of the directory holds are published by that one.
            let earlier: Vec<usize> = (0..index)
                .filter(|&other| self.projects[other].directory == directory)
                .collect();
            let published_elsewhere = |module: &str| {
                earlier
                    .iter()
                    .any(|&other| self.projects[other].file_index(module).is_some())
            };
            let skipped: Vec<String> = self.projects[index]
                .module_paths()
                .into_iter()
                .filter(|module| published_elsewhere(module))
                .collect();
            notifications.extend(publish(&mut self.projects[index], &path, &skipped));
        }
        notifications
    }

    /// The index of a policy directory's project (its latest in-force version), loading it on
    /// first use.
    fn project(&mut self, directory: &Path) -> Result<usize, String> {
        if let Some(index) = self
            .projects
            .iter()
            .position(|p| p.directory == directory && p.version.is_none())
        {
            return Ok(index);
        }
        let workspace = Workspace::load(directory).map_err(|error| error.to_string())?;
        self.projects.push(Project {
            directory: directory.to_path_buf(),
            version: None,
            workspace,
            published: BTreeMap::new(),
        });
        Ok(self.projects.len() - 1)
    }

    /// The projects of a directory that hold `module`, the latest in-force version's first. A
    /// module only another version lists (a proposed amendment's file) loads the first version
    /// of the manifest that lists it, so that it is checked as that version compiles it.
    fn projects_holding(&mut self, directory: &Path, module: &str) -> Vec<usize> {
        if self.project(directory).is_err() {
            return Vec::new();
        }
        let holding = |projects: &[Project]| -> Vec<usize> {
            projects
                .iter()
                .enumerate()
                .filter(|(_, p)| p.directory == directory && p.file_index(module).is_some())
                .map(|(index, _)| index)
                .collect()
        };
        let found = holding(&self.projects);
        if !found.is_empty() {
            return found;
        }
        let Ok(versions) = PolicyVersions::load(directory) else {
            return found;
        };
        let listing = versions.versions.iter().find(|spec| {
            versions
                .manifest_of(spec)
                .modules
                .iter()
                .any(|listed| listed == module)
        });
        let Some(spec) = listing else {
            return found;
        };
        let Ok(workspace) = versions.workspace(spec) else {
            return found;
        };
        self.projects.push(Project {
            directory: directory.to_path_buf(),
            version: Some(spec.name.clone()),
            workspace,
            published: BTreeMap::new(),
        });
        holding(&self.projects)
    }

    /// The projects holding a document and its module path, loading them on first use.
    fn module_of(&mut self, uri: &Url) -> Option<(Vec<usize>, String)> {
        let path = uri.to_file_path().ok()?;
        let directory = policy_directory(&path)?;
        let relative = path.strip_prefix(&directory).ok()?;
        let module = relative.to_string_lossy().replace('\\', "/");
        let holding = self.projects_holding(&directory, &module);
        (!holding.is_empty()).then_some((holding, module))
    }

    /// A document position in a loaded project.
    fn place(&self, uri: &Url, position: Position) -> Option<Place<'_>> {
        let path = uri.to_file_path().ok()?;
        let directory = policy_directory(&path)?;
        let module = path.strip_prefix(&directory).ok()?;
        let module = module.to_string_lossy().replace('\\', "/");
        // The first project holding the module, as `projects_holding` orders them.
        let project = self
            .projects
            .iter()
            .find(|p| p.directory == directory && p.file_index(&module).is_some())?;
        let file = project.file_index(&module)? as u32;
        let offset = text::offset(project.text_of(file), position) as u32;
        Some(Place {
            project,
            file,
            offset,
        })
    }

    /// Answers a request (an error response for a request it does not know or cannot read).
    pub fn request(&mut self, request: Request) -> Response {
        let id = request.id.clone();
        let answer = match request.method.as_str() {
            HoverRequest::METHOD => self.answer::<HoverRequest, _>(request, |server, params| {
                let at = params.text_document_position_params;
                let place = server.place(&at.text_document.uri, at.position)?;
                features::hover(&place, server.options.today)
            }),
            GotoDefinition::METHOD => {
                self.answer::<GotoDefinition, _>(request, |server, params| {
                    let at = params.text_document_position_params;
                    let place = server.place(&at.text_document.uri, at.position)?;
                    let target = target_at(&place)?;
                    let (file, span) = navigation::target_declaration(
                        place.project.workspace.database(),
                        place.project.workspace.policy_set(),
                        &target,
                    )?;
                    let location = place.project.location(file, span)?;
                    Some(lsp_types::GotoDefinitionResponse::Scalar(location))
                })
            }
            References::METHOD => self.answer::<References, _>(request, |server, params| {
                let at = params.text_document_position;
                let place = server.place(&at.text_document.uri, at.position)?;
                let target = target_at(&place)?;
                let declaration = params.context.include_declaration;
                Some(occurrences(&place, &target, declaration))
            }),
            Rename::METHOD => {
                let new_name = request
                    .params
                    .get("newName")
                    .and_then(|name| name.as_str())
                    .unwrap_or("");
                if !valid_name(new_name) {
                    return Response::new_err(
                        id,
                        lsp_server::ErrorCode::InvalidParams as i32,
                        format!("`{new_name}` is not a name: use letters, digits, `_` and `-`"),
                    );
                }
                self.answer::<Rename, _>(request, |server, params| {
                    let at = params.text_document_position;
                    let place = server.place(&at.text_document.uri, at.position)?;
                    let target = target_at(&place)?;
                    if matches!(target, Target::Module(_)) {
                        return None;
                    }
                    let mut changes: std::collections::HashMap<Url, Vec<TextEdit>> =
                        std::collections::HashMap::new();
                    for location in occurrences(&place, &target, true) {
                        changes
                            .entry(location.uri)
                            .or_default()
                            .push(TextEdit::new(location.range, params.new_name.clone()));
                    }
                    Some(WorkspaceEdit::new(changes))
                })
            }
            DocumentSymbolRequest::METHOD => {
                self.answer::<DocumentSymbolRequest, _>(request, |server, params| {
                    let place = server.place(&params.text_document.uri, Position::new(0, 0))?;
                    Some(lsp_types::DocumentSymbolResponse::Nested(
                        features::document_symbols(&place),
                    ))
                })
            }
            Completion::METHOD => self.answer::<Completion, _>(request, |server, params| {
                let at = params.text_document_position;
                let place = server.place(&at.text_document.uri, at.position)?;
                Some(lsp_types::CompletionResponse::Array(features::completion(
                    &place,
                )))
            }),
            lsp_types::request::ExecuteCommand::METHOD => {
                let uri = request.params["arguments"][0]
                    .as_str()
                    .and_then(|u| Url::parse(u).ok());
                let Some(uri) = uri else {
                    return Response::new_err(
                        id,
                        lsp_server::ErrorCode::InvalidParams as i32,
                        format!(
                            "{} takes the URI of a policy file",
                            crate::RUN_TESTS_COMMAND
                        ),
                    );
                };
                return match self.run_tests(&uri) {
                    Ok((summary, published)) => {
                        self.pending.extend(published);
                        Response::new_ok(id, summary)
                    }
                    Err(message) => {
                        Response::new_err(id, lsp_server::ErrorCode::InvalidParams as i32, message)
                    }
                };
            }
            _ => {
                return Response::new_err(
                    id,
                    lsp_server::ErrorCode::MethodNotFound as i32,
                    format!("unknown request `{}`", request.method),
                )
            }
        };
        answer.unwrap_or_else(|message| {
            Response::new_err(id, lsp_server::ErrorCode::InvalidParams as i32, message)
        })
    }

    /// Reads a request's parameters and answers it with `handler` (`null` when it finds nothing).
    fn answer<R: lsp_types::request::Request, T: serde::Serialize>(
        &self,
        request: Request,
        handler: impl FnOnce(&Server, R::Params) -> Option<T>,
    ) -> Result<Response, String> {
        let (id, params): (RequestId, R::Params) = request
            .extract(R::METHOD)
            .map_err(|error| format!("cannot read the request: {error:?}"))?;
        let result = handler(self, params);
        Ok(Response::new_ok(id, result))
    }
}

/// Whether a new name can be written in a policy (a name or a rule id).
fn valid_name(name: &str) -> bool {
    let mut characters = name.chars();
    characters
        .next()
        .is_some_and(|first| first.is_alphabetic() || first == '_')
        && characters.all(|c| c.is_alphanumeric() || c == '_' || c == '-')
}

/// The target of the name under the cursor.
fn target_at(place: &Place<'_>) -> Option<Target> {
    let workspace = &place.project.workspace;
    let file = *workspace.source_files().get(place.file as usize)?;
    let occurrence = navigation::occurrence_at(
        workspace.database(),
        workspace.policy_set(),
        file,
        place.offset,
    )?;
    occurrence.target.clone()
}

/// Every place a target is named, as locations, with or without its declaration.
fn occurrences(place: &Place<'_>, target: &Target, declaration: bool) -> Vec<Location> {
    let workspace = &place.project.workspace;
    let set = workspace.policy_set();
    let database = workspace.database();
    let declared = navigation::target_declaration(database, set, target);
    navigation::references(database, set, target)
        .into_iter()
        .filter(|found| declaration || Some(*found) != declared)
        .filter_map(|(file, span)| place.project.location(file, span))
        .collect()
}

/// The directory of the nearest `ereje.toml` above a file.
fn policy_directory(path: &Path) -> Option<PathBuf> {
    path.ancestors()
        .skip(1)
        .find(|directory| directory.join("ereje.toml").is_file())
        .map(Path::to_path_buf)
}

/// Recompiles a project and returns the diagnostics to publish: those of the edited module, and
/// of every other module whose diagnostics changed.
/// The diagnostics of a project's modules that changed since last published (the edited
/// module's always), except those of `skipped` (published by another project).
fn publish(project: &mut Project, edited: &str, skipped: &[String]) -> Vec<Notification> {
    let compilation = project.workspace.compile();
    let mut by_module: BTreeMap<String, Vec<lsp_types::Diagnostic>> = BTreeMap::new();
    let database = project.workspace.database();
    for file in project.workspace.source_files() {
        by_module.insert(file.path(database).clone(), Vec::new());
    }
    for report in &compilation.reports {
        let converted = diagnostic(project, report);
        by_module
            .entry(report.path.clone())
            .or_default()
            .push(converted);
    }
    let mut notifications = Vec::new();
    for (module, diagnostics) in by_module {
        let unchanged = project.published.get(&module) == Some(&diagnostics);
        if (unchanged && module != edited) || skipped.contains(&module) {
            continue;
        }
        let Ok(uri) = Url::from_file_path(project.directory.join(&module)) else {
            continue;
        };
        notifications.push(Notification::new(
            PublishDiagnostics::METHOD.to_string(),
            PublishDiagnosticsParams::new(uri, diagnostics.clone(), None),
        ));
        project.published.insert(module, diagnostics);
    }
    notifications
}

/// A compiler diagnostic as an LSP one: the primary label's range, the message with its help,
/// the other labels as related information.
fn diagnostic(project: &Project, report: &ereje_compiler::Report) -> lsp_types::Diagnostic {
    let source = report.source.as_str();
    let found = &report.diagnostic;
    let span = found.primary_span();
    let mut message = found.message.clone();
    if let Some(label) = found.labels.first().filter(|l| !l.message.is_empty()) {
        message.push_str(&format!(" ({})", label.message));
    }
    if let Some(help) = &found.help {
        message.push_str(&format!("\nhelp: {help}"));
    }
    let uri = Url::from_file_path(project.directory.join(&report.path)).ok();
    let related: Vec<DiagnosticRelatedInformation> = found
        .labels
        .iter()
        .skip(1)
        .filter_map(|label| {
            Some(DiagnosticRelatedInformation {
                location: Location::new(
                    uri.clone()?,
                    text::range(source, label.span.start as usize, label.span.end as usize),
                ),
                message: label.message.clone(),
            })
        })
        .collect();
    lsp_types::Diagnostic {
        range: text::range(source, span.start as usize, span.end as usize),
        severity: Some(match found.severity {
            Severity::Error => DiagnosticSeverity::ERROR,
            Severity::Warning => DiagnosticSeverity::WARNING,
        }),
        code: Some(NumberOrString::String(found.code.to_string())),
        source: Some("ereje".to_string()),
        message,
        related_information: (!related.is_empty()).then_some(related),
        ..lsp_types::Diagnostic::default()
    }
}
