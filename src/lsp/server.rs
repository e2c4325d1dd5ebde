//! The server loop: the `initialize` handshake, then requests answered one at a time on this
//! thread (each reads the folder afresh: open buffers over the files on disk), while the
//! diagnostics worker checks folders in the background.

use std::path::{Path, PathBuf};

use lsp_server::{Connection, ErrorCode, Message, Notification, Request, RequestId, Response};
use lsp_types::notification::{
    DidChangeTextDocument, DidChangeWatchedFiles, DidCloseTextDocument, DidOpenTextDocument, DidSaveTextDocument,
    Notification as _,
};
use lsp_types::request::{
    Completion, DocumentSymbolRequest, Formatting, GotoDefinition, HoverRequest, PrepareRenameRequest, References,
    RegisterCapability, Rename, Request as _,
};
use lsp_types::{
    CompletionOptions, CompletionResponse, DidChangeWatchedFilesRegistrationOptions, DocumentSymbolResponse,
    FileSystemWatcher, GlobPattern, GotoDefinitionResponse, InitializeParams, InitializeResult, OneOf,
    PositionEncodingKind, PrepareRenameResponse, Registration, RegistrationParams, RenameOptions, SaveOptions,
    ServerCapabilities, ServerInfo, TextDocumentPositionParams, TextDocumentSyncCapability, TextDocumentSyncKind,
    TextDocumentSyncOptions, TextDocumentSyncSaveOptions, Url,
};

use super::completion::{self, Options};
use super::diagnostics::{Checker, Worker};
use super::documents::{path_of, Documents};
use super::index::{Cache, Folder};
use super::position::{Encoding, LineIndex};

/// Why the server stopped other than by `shutdown` then `exit`.
pub type Error = String;

/// Runs the protocol on `connection` until `shutdown` and `exit`.
pub fn serve(connection: &Connection, check: Checker) -> Result<(), Error> {
    let (id, params) = connection.initialize_start().map_err(|e| e.to_string())?;
    let params: InitializeParams = serde_json::from_value(params).map_err(|e| format!("initialize: {e}"))?;
    let caps = &params.capabilities;
    let utf8 = caps
        .general
        .as_ref()
        .and_then(|g| g.position_encodings.as_ref())
        .is_some_and(|e| e.contains(&PositionEncodingKind::UTF8));
    let encoding = if utf8 { Encoding::Utf8 } else { Encoding::Utf16 };
    let snippets = caps
        .text_document
        .as_ref()
        .and_then(|t| t.completion.as_ref())
        .and_then(|c| c.completion_item.as_ref())
        .and_then(|i| i.snippet_support)
        .unwrap_or(false);
    let watch = caps
        .workspace
        .as_ref()
        .and_then(|w| w.did_change_watched_files.as_ref())
        .and_then(|w| w.dynamic_registration)
        .unwrap_or(false);
    let result = InitializeResult { capabilities: capabilities(encoding), server_info: Some(server_info()) };
    let result = serde_json::to_value(result).map_err(|e| e.to_string())?;
    connection.initialize_finish(id, result).map_err(|e| e.to_string())?;

    let mut server = Server {
        out: connection.sender.clone(),
        docs: Documents::default(),
        encoding,
        snippets,
        diagnostics: Worker::start(connection.sender.clone(), check, encoding),
        cache: Default::default(),
    };
    if watch {
        server.watch_files();
    }
    // The workspace's folders get their diagnostics at once, before any file is opened.
    #[allow(deprecated)] // root_uri: older clients send only that
    let roots: Vec<Url> = match &params.workspace_folders {
        Some(folders) => folders.iter().map(|f| f.uri.clone()).collect(),
        None => params.root_uri.iter().cloned().collect(),
    };
    for dir in roots.iter().filter_map(path_of) {
        if crate::config::config_files(&dir).is_ok_and(|f| !f.is_empty()) {
            server.check(&dir);
        }
    }

    for message in &connection.receiver {
        match message {
            Message::Request(req) => {
                if connection.handle_shutdown(&req).map_err(|e| e.to_string())? {
                    return Ok(());
                }
                let id = req.id.clone();
                // A bug in one handler answers that request with an error; the server goes on.
                let response = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| server.request(req)))
                    .unwrap_or_else(|_| {
                        Response::new_err(id, ErrorCode::InternalError as i32, "internal error".into())
                    });
                if server.out.send(response.into()).is_err() {
                    return Err("the client went away".into());
                }
            }
            Message::Notification(n) if n.method == "exit" => return Err("exit without shutdown".into()),
            Message::Notification(n) => server.notification(n),
            Message::Response(_) => {}
        }
    }
    Err("the client closed the connection without shutdown".into())
}

fn server_info() -> ServerInfo {
    ServerInfo { name: "pmx".into(), version: Some(env!("CARGO_PKG_VERSION").into()) }
}

fn capabilities(encoding: Encoding) -> ServerCapabilities {
    ServerCapabilities {
        position_encoding: Some(match encoding {
            Encoding::Utf8 => PositionEncodingKind::UTF8,
            Encoding::Utf16 => PositionEncodingKind::UTF16,
        }),
        text_document_sync: Some(TextDocumentSyncCapability::Options(TextDocumentSyncOptions {
            open_close: Some(true),
            change: Some(TextDocumentSyncKind::INCREMENTAL),
            save: Some(TextDocumentSyncSaveOptions::SaveOptions(SaveOptions { include_text: Some(false) })),
            ..Default::default()
        })),
        completion_provider: Some(CompletionOptions {
            trigger_characters: Some(vec![".".into(), "\"".into()]),
            ..Default::default()
        }),
        hover_provider: Some(lsp_types::HoverProviderCapability::Simple(true)),
        definition_provider: Some(OneOf::Left(true)),
        references_provider: Some(OneOf::Left(true)),
        document_symbol_provider: Some(OneOf::Left(true)),
        document_formatting_provider: Some(OneOf::Left(true)),
        rename_provider: Some(OneOf::Right(RenameOptions {
            prepare_provider: Some(true),
            work_done_progress_options: Default::default(),
        })),
        ..Default::default()
    }
}

struct Server {
    out: crossbeam_channel::Sender<Message>,
    docs: Documents,
    encoding: Encoding,
    snippets: bool,
    diagnostics: Worker,
    cache: std::cell::RefCell<Cache>,
}

/// A request's failure: the JSON-RPC error code and message.
type Failure = (ErrorCode, String);

impl Server {
    fn request(&mut self, req: Request) -> Response {
        let id = req.id.clone();
        let result = match req.method.as_str() {
            Completion::METHOD => self.call::<Completion>(req, |s, p| {
                let (folder, file, offset) = s.at(&p.text_document_position)?;
                let options = Options { snippets: s.snippets, encoding: s.encoding };
                Ok(Some(CompletionResponse::Array(completion::complete(&folder, file, offset, options))))
            }),
            HoverRequest::METHOD => self.call::<HoverRequest>(req, |s, p| {
                let (folder, file, offset) = s.at(&p.text_document_position_params)?;
                Ok(super::hover::hover(&folder, file, offset, s.encoding))
            }),
            GotoDefinition::METHOD => self.call::<GotoDefinition>(req, |s, p| {
                let (folder, file, offset) = s.at(&p.text_document_position_params)?;
                Ok(super::navigation::definition(&folder, file, offset, s.encoding).map(GotoDefinitionResponse::Scalar))
            }),
            References::METHOD => self.call::<References>(req, |s, p| {
                let (folder, file, offset) = s.at(&p.text_document_position)?;
                let with_declaration = p.context.include_declaration;
                Ok(Some(super::navigation::references(&folder, file, offset, with_declaration, s.encoding)))
            }),
            PrepareRenameRequest::METHOD => self.call::<PrepareRenameRequest>(req, |s, p| {
                let (folder, file, offset) = s.at(&p)?;
                let range = super::navigation::prepare_rename(&folder, file, offset, s.encoding)
                    .map_err(|e| (ErrorCode::RequestFailed, e))?;
                Ok(Some(PrepareRenameResponse::Range(range)))
            }),
            Rename::METHOD => self.call::<Rename>(req, |s, p| {
                let (folder, file, offset) = s.at(&p.text_document_position)?;
                super::navigation::rename(&folder, file, offset, &p.new_name, s.encoding)
                    .map(Some)
                    .map_err(|e| (ErrorCode::RequestFailed, e))
            }),
            DocumentSymbolRequest::METHOD => self.call::<DocumentSymbolRequest>(req, |s, p| {
                let (folder, file) = s.file(&p.text_document.uri)?;
                let source = &folder.files[file];
                let index = LineIndex::new(&source.text, s.encoding);
                Ok(Some(DocumentSymbolResponse::Nested(super::symbols::document_symbols(&source.outline, &index))))
            }),
            Formatting::METHOD => self.call::<Formatting>(req, |s, p| {
                let path = path_of(&p.text_document.uri).ok_or_else(|| not_a_file(&p.text_document.uri))?;
                let text = match s.docs.get(&path) {
                    Some(doc) => doc.text.clone(),
                    None => std::fs::read_to_string(&path).map_err(|e| (ErrorCode::RequestFailed, e.to_string()))?,
                };
                super::formatting::format(&text, s.encoding).map(Some).map_err(|e| (ErrorCode::RequestFailed, e))
            }),
            method => Err((ErrorCode::MethodNotFound, format!("pmx lsp does not handle {method}"))),
        };
        match result {
            Ok(value) => Response::new_ok(id, value),
            Err((code, message)) => Response::new_err(id, code as i32, message),
        }
    }

    fn call<R: lsp_types::request::Request>(
        &mut self,
        req: Request,
        f: impl FnOnce(&mut Self, R::Params) -> Result<R::Result, Failure>,
    ) -> Result<serde_json::Value, Failure> {
        let params: R::Params = serde_json::from_value(req.params)
            .map_err(|e| (ErrorCode::InvalidParams, format!("{}: {e}", R::METHOD)))?;
        let result = f(self, params)?;
        serde_json::to_value(result).map_err(|e| (ErrorCode::InternalError, e.to_string()))
    }

    /// The folder of a document and the document's place in it.
    fn file(&self, uri: &Url) -> Result<(Folder, usize), Failure> {
        let path = path_of(uri).ok_or_else(|| not_a_file(uri))?;
        let dir = path.parent().unwrap_or(Path::new("/")).to_path_buf();
        let mut buffers = self.docs.in_folder(&dir);
        if !buffers.contains_key(&path) {
            // Not open and not a .pmx file on disk (a .pmxvars file, say): read it anyway.
            if let Ok(text) = std::fs::read_to_string(&path) {
                buffers.insert(path.clone(), text);
            }
        }
        let folder = Folder::load_cached(&dir, &buffers, &mut self.cache.borrow_mut());
        let file =
            folder.file(&path).ok_or_else(|| (ErrorCode::InvalidParams, format!("cannot read {}", path.display())))?;
        Ok((folder, file))
    }

    fn at(&self, p: &TextDocumentPositionParams) -> Result<(Folder, usize, usize), Failure> {
        let (folder, file) = self.file(&p.text_document.uri)?;
        let offset = LineIndex::new(&folder.files[file].text, self.encoding).offset(p.position);
        Ok((folder, file, offset))
    }

    fn notification(&mut self, n: Notification) {
        match n.method.as_str() {
            DidOpenTextDocument::METHOD => {
                let Ok(p) = serde_json::from_value::<lsp_types::DidOpenTextDocumentParams>(n.params) else { return };
                if let Some(path) = path_of(&p.text_document.uri) {
                    self.docs.open(path.clone(), p.text_document.text, p.text_document.version);
                    self.check_folder_of(&path);
                }
            }
            DidChangeTextDocument::METHOD => {
                let Ok(p) = serde_json::from_value::<lsp_types::DidChangeTextDocumentParams>(n.params) else { return };
                if let Some(path) = path_of(&p.text_document.uri) {
                    self.docs.change(&path, p.text_document.version, p.content_changes, self.encoding);
                    self.check_folder_of(&path);
                }
            }
            DidCloseTextDocument::METHOD => {
                let Ok(p) = serde_json::from_value::<lsp_types::DidCloseTextDocumentParams>(n.params) else { return };
                if let Some(path) = path_of(&p.text_document.uri) {
                    self.docs.close(&path);
                    self.check_folder_of(&path);
                }
            }
            DidSaveTextDocument::METHOD => {
                let Ok(p) = serde_json::from_value::<lsp_types::DidSaveTextDocumentParams>(n.params) else { return };
                if let Some(path) = path_of(&p.text_document.uri) {
                    self.check_folder_of(&path);
                }
            }
            DidChangeWatchedFiles::METHOD => {
                let Ok(p) = serde_json::from_value::<lsp_types::DidChangeWatchedFilesParams>(n.params) else { return };
                let mut dirs: Vec<PathBuf> =
                    p.changes.iter().filter_map(|c| path_of(&c.uri)?.parent().map(Path::to_path_buf)).collect();
                dirs.sort();
                dirs.dedup();
                for dir in dirs {
                    self.check(&dir);
                }
            }
            _ => {}
        }
    }

    fn check_folder_of(&self, path: &Path) {
        if let Some(dir) = path.parent() {
            self.check(dir);
        }
    }

    fn check(&self, dir: &Path) {
        self.diagnostics.check(dir.to_path_buf(), self.docs.in_folder(dir));
    }

    /// Asks the client to tell about `.pmx` files changed on disk (a `git checkout`, another editor).
    fn watch_files(&self) {
        let options = DidChangeWatchedFilesRegistrationOptions {
            watchers: vec![FileSystemWatcher { glob_pattern: GlobPattern::String("**/*.pmx".into()), kind: None }],
        };
        let params = RegistrationParams {
            registrations: vec![Registration {
                id: "pmx-watch-files".into(),
                method: DidChangeWatchedFiles::METHOD.into(),
                register_options: serde_json::to_value(options).ok(),
            }],
        };
        let req =
            Request::new(RequestId::from("pmx-register-watch".to_string()), RegisterCapability::METHOD.into(), params);
        let _ = self.out.send(req.into());
    }
}

fn not_a_file(uri: &Url) -> Failure {
    (ErrorCode::InvalidParams, format!("{uri} is not a local file"))
}
