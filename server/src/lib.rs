//! `ereje serve`: the engine as an HTTP/1.1 JSON service that keeps every decision as a record
//! with its exact policy.
//!
//! The service evaluates cases (`POST /v1/evaluate`, one case or an NDJSON stream, byte for byte
//! what `ereje eval` and `ereje batch` print), keeps decision records (`POST /v1/decisions`,
//! answered `201` once the record is committed and synced) in SQLite, and explains a record with
//! the policy whose digest it holds, kept in the database's policy registry. See [`routes`] for
//! the API, [`storage`] for the database, [`auth`] for the tokens.

pub mod auth;
pub mod client;
pub mod commission;
mod malformed;
mod ndjson;
pub mod openapi;
pub mod policies;
pub mod problem;
pub mod routes;
pub mod storage;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use crate::auth::Tokens;
use crate::policies::PolicySet;
use crate::storage::Store;

/// The database used when `--db` is not given: a file in the working directory.
pub const DEFAULT_DATABASE: &str = "ereje.sqlite";

/// The bounds every request is held to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestLimits {
    /// The largest single case body, in bytes (`413` above it).
    pub max_case_bytes: usize,
    /// The largest NDJSON body, in bytes (`413` above it).
    pub max_stream_bytes: usize,
    /// The most lines an NDJSON body may hold (`413` above it).
    pub max_stream_lines: usize,
    /// How long a request may take before it is answered `503`.
    pub request_time: Duration,
}

impl Default for RequestLimits {
    fn default() -> RequestLimits {
        RequestLimits {
            max_case_bytes: ereje_runtime::Limits::default().max_case_bytes,
            max_stream_bytes: 64 << 20,
            max_stream_lines: 100_000,
            request_time: Duration::from_secs(30),
        }
    }
}

/// What `ereje serve` was asked for.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    /// The policy directory (holding `ereje.toml`).
    pub policy_dir: PathBuf,
    /// The address to listen on (port 0: any free port; the bound one is printed).
    pub listen: SocketAddr,
    /// An SQLite file path, or a `postgres://` URL.
    pub database: String,
    /// The token file; without it the service answers only on loopback, to anyone there.
    pub token_file: Option<PathBuf>,
    pub limits: RequestLimits,
    /// The native code the program links (`ereje serve` gives the bundled policies' own,
    /// `ereje_kz_native::POLICIES`): every engine of a version takes the code made for its
    /// policy's shape, and evaluates with the closure evaluator when none is.
    pub native_code: &'static [&'static ereje_runtime::native::NativePolicy],
}

/// Why the service cannot start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("{0}")]
    Policy(#[from] policies::PolicyLoadError),
    #[error("cannot open the database: {0}")]
    Store(#[from] storage::StoreError),
    #[error("{0}")]
    Tokens(#[from] auth::TokenFileError),
    #[error(
        "refusing to listen on `{0}` without a token file: anyone who can reach that address \
         could keep and read decision records; listen on a loopback address (127.0.0.1 or ::1) \
         or give --tokens FILE"
    )]
    OpenWithoutTokens(SocketAddr),
    #[error("cannot listen on `{address}`: {error}")]
    Listen {
        address: SocketAddr,
        error: std::io::Error,
    },
    #[error("cannot start the runtime: {0}")]
    Runtime(std::io::Error),
}

/// The state every request sees.
#[derive(Debug)]
pub struct App {
    /// The policy set being served; a reload swaps it whole.
    pub policies: std::sync::RwLock<Arc<PolicySet>>,
    pub store: Store,
    pub tokens: Option<Tokens>,
    pub limits: RequestLimits,
    /// The native code the program links (see [`ServeConfig::native_code`]).
    pub native_code: &'static [&'static ereje_runtime::native::NativePolicy],
    /// Engines of registry policies no longer served, by digest, loaded on first use.
    pub registry_engines:
        std::sync::Mutex<std::collections::HashMap<String, ereje_runtime::Engine>>,
    /// Serialises reloads.
    pub reloading: tokio::sync::Mutex<()>,
    /// The commission app's failed sign-ins (its sessions are in the database).
    pub sign_in_attempts: commission::web::SignInAttempts,
    /// The key of the commission app's anonymous cookies' CSRF tokens (made at start).
    pub anonymous_key: commission::sessions::AnonymousKey,
}

impl App {
    /// The policy set being served now.
    pub fn policies(&self) -> Arc<PolicySet> {
        match self.policies.read() {
            Ok(policies) => Arc::clone(&policies),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }
}

/// Puts every version of a set in the policy registry.
async fn register(store: &Store, set: &PolicySet) -> Result<(), storage::StoreError> {
    for served in &set.versions {
        let policy = served.engine.policy();
        let ir = serde_json::to_string(policy)
            .map_err(|error| storage::StoreError::Task(error.to_string()))?;
        store
            .register_policy(
                served.engine.digest().to_string(),
                policy.name.clone(),
                served.spec.name.clone(),
                ir,
            )
            .await?;
    }
    Ok(())
}

/// Compiles the policy directory again and swaps it in when it has no errors; the old set stays
/// served otherwise. Returns the new digests.
pub async fn reload(app: &App) -> Result<Vec<String>, ServeError> {
    let _only_one = app.reloading.lock().await;
    let directory = app.policies().directory.clone();
    let native_code = app.native_code;
    let loaded = tokio::task::spawn_blocking(move || PolicySet::load(&directory, native_code))
        .await
        .map_err(|error| storage::StoreError::Task(error.to_string()))??;
    register(&app.store, &loaded).await?;
    let digests = loaded.digests().iter().map(|d| d.to_string()).collect();
    match app.policies.write() {
        Ok(mut current) => *current = Arc::new(loaded),
        Err(poisoned) => *poisoned.into_inner() = Arc::new(loaded),
    }
    Ok(digests)
}

/// A running service: its address and how to stop it.
pub struct Running {
    /// The address it listens on.
    pub address: SocketAddr,
    /// The service's state (for a reload on SIGHUP).
    pub app: Arc<App>,
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<Result<(), ServeError>>,
}

impl Running {
    /// Stops accepting, answers what is in flight, closes the database, and waits for it.
    pub async fn stop(self) -> Result<(), ServeError> {
        let _ = self.stop.send(true);
        self.task
            .await
            .map_err(|error| ServeError::Runtime(std::io::Error::other(error.to_string())))?
    }
}

/// Loads the policy, opens the database and starts serving in the current runtime.
pub async fn start(config: ServeConfig) -> Result<Running, ServeError> {
    let tokens = config.token_file.as_deref().map(Tokens::load).transpose()?;
    if tokens.is_none() && !config.listen.ip().is_loopback() {
        return Err(ServeError::OpenWithoutTokens(config.listen));
    }
    let directory = config.policy_dir.clone();
    let native_code = config.native_code;
    let set = tokio::task::spawn_blocking(move || PolicySet::load(&directory, native_code))
        .await
        .map_err(|error| storage::StoreError::Task(error.to_string()))??;
    let database = config.database.clone();
    let store = tokio::task::spawn_blocking(move || Store::open(&database))
        .await
        .map_err(|error| storage::StoreError::Task(error.to_string()))??;
    register(&store, &set).await?;
    let app = Arc::new(App {
        policies: std::sync::RwLock::new(Arc::new(set)),
        store,
        tokens,
        limits: config.limits,
        native_code: config.native_code,
        registry_engines: std::sync::Mutex::new(std::collections::HashMap::new()),
        reloading: tokio::sync::Mutex::new(()),
        sign_in_attempts: commission::web::SignInAttempts::default(),
        anonymous_key: commission::sessions::AnonymousKey::default(),
    });
    // The key is made now, so that the first sign-in form does not wait for it.
    let _ = app.anonymous_key.bytes();
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|error| ServeError::Listen {
            address: config.listen,
            error,
        })?;
    let address = listener.local_addr().map_err(|error| ServeError::Listen {
        address: config.listen,
        error,
    })?;
    let (stop, mut stopped) = watch::channel(false);
    let router = routes::router(Arc::clone(&app));
    let served_app = Arc::clone(&app);
    let task = tokio::spawn(async move {
        let app = served_app;
        let served = axum::serve(malformed::ProblemListener::new(listener), router)
            .with_graceful_shutdown(async move {
                let _ = stopped.wait_for(|stop| *stop).await;
            })
            .await;
        app.store.close();
        served.map_err(ServeError::Runtime)
    });
    Ok(Running {
        address,
        app,
        stop,
        task,
    })
}

/// Runs the service until SIGTERM or SIGINT (reloading on SIGHUP), for `ereje serve`. Prints
/// `listening on http://ADDRESS` on stdout once it accepts requests.
pub fn run(config: ServeConfig) -> Result<(), ServeError> {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,salsa=warn")),
        )
        .with_writer(std::io::stderr)
        .json()
        .try_init();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(ServeError::Runtime)?;
    runtime.block_on(async move {
        let running = start(config).await?;
        println!("listening on http://{}", running.address);
        wait_for_signals(&running).await;
        tracing::info!("stopping: answering the requests in flight");
        running.stop().await
    })
}

/// Waits for SIGTERM or SIGINT; reloads the policy on every SIGHUP meanwhile.
async fn wait_for_signals(running: &Running) {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut terminate), Ok(mut interrupt), Ok(mut hangup)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
        signal(SignalKind::hangup()),
    ) else {
        tracing::error!("cannot listen for signals; stop the service with SIGKILL");
        std::future::pending::<()>().await;
        return;
    };
    loop {
        tokio::select! {
            _ = terminate.recv() => return,
            _ = interrupt.recv() => return,
            _ = hangup.recv() => match reload(&running.app).await {
                Ok(digests) => tracing::info!(?digests, "reloaded the policy on SIGHUP"),
                Err(error) => tracing::error!(%error, "the policy was not reloaded; the old one is still served"),
            }
        }
    }
}
