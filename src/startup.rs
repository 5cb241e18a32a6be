//! Building and running the application: state, router, listener, graceful shutdown.

use std::{future::Future, net::SocketAddr, ops::Deref, sync::Arc, time::Duration};

use anyhow::Context as _;
use axum::Router;
use sea_orm::DatabaseConnection;
use tokio::net::TcpListener;

use crate::{
    auth::{jwt::JwtKeys, password::PasswordHasher},
    config::Settings,
    crypto::SecretBox,
    db,
    delivery::{Deliveries, DeliveryParts},
    domain::{
        accounts::AccountService, alpr::AlprService, cameras::CameraService,
        channels::ChannelService, devices::DeviceService, inspection::InspectionService,
        parking::ParkingService,
    },
    events::{EventBus, InProcessBus},
    graphql, http,
    inference::{InferenceService, Models},
    live::{LiveCameras, capture::OpenCvFactory},
    storage::ArtifactStore,
    vision::registry::ModelRegistry,
};

/// Everything a request handler or resolver needs; cheap to clone.
#[derive(Clone)]
pub struct AppState(Arc<App>);

/// The application's services.
pub struct App {
    /// Effective settings.
    pub settings: Settings,
    /// Database pool.
    pub db: DatabaseConnection,
    /// Accounts, tokens and API keys.
    pub accounts: AccountService,
    /// Domain events for subscriptions.
    pub bus: Arc<dyn EventBus>,
    /// The inference threads.
    pub inference: Arc<InferenceService>,
    /// Vehicles, plates, lists, locations, statistics.
    pub alpr: AlprService,
    /// Vehicle registry, parking lots and records.
    pub parking: ParkingService,
    /// Cameras, zones, notifications and their live workers.
    pub cameras: CameraService,
    /// E-mail recipients, LINE tokens, webhook endpoints.
    pub channels: ChannelService,
    /// Devices: the cameras with the devices document's fields.
    pub devices: DeviceService,
    /// The delivery workers (outbox).
    pub deliveries: Arc<Deliveries>,
    /// Inspection batches, records and AI analysis.
    pub inspection: InspectionService,
}

impl Deref for AppState {
    type Target = App;

    fn deref(&self) -> &App {
        &self.0
    }
}

impl AppState {
    /// Builds the services over an open, migrated database. Creates `data_dir` and the JWT
    /// key file when needed.
    ///
    /// # Errors
    /// The data directory or key file cannot be created, or settings are invalid.
    pub fn new(settings: Settings, db: DatabaseConnection) -> anyhow::Result<Self> {
        std::fs::create_dir_all(&settings.data_dir)
            .with_context(|| format!("cannot create data dir {}", settings.data_dir.display()))?;
        // ENDPOINTS.md: only groups whose document names no auth may be opened.
        crate::auth::check_open_groups(&settings.anonymous.groups)?;
        let keys = JwtKeys::load(settings.auth.jwt_secret.as_ref(), &settings.data_dir)?;
        let hasher = PasswordHasher::new(
            settings.auth.argon2_memory_kib,
            settings.auth.argon2_iterations,
        )?;
        let bus: Arc<dyn EventBus> = Arc::new(InProcessBus::new(1024));
        let accounts =
            AccountService::new(db.clone(), hasher, keys, settings.auth.clone(), bus.clone());
        let models_dir = settings.models_dir();
        let models = if settings.inference.enabled && models_dir.is_dir() {
            Models::load(&models_dir, &candle_core::Device::Cpu)
        } else {
            tracing::info!(dir = %models_dir.display(), "no models loaded");
            Models::none()
        };
        let inference = Arc::new(InferenceService::start(
            models,
            settings.inference.workers,
            settings.inference.queue,
        ));
        // One file store for every domain.
        let store = ArtifactStore::new(&settings.data_dir);
        let secrets = SecretBox::load(settings.secrets.key.as_ref(), &settings.data_dir)?;
        let deliveries = Arc::new(Deliveries::new(
            DeliveryParts {
                db: db.clone(),
                bus: bus.clone(),
                store: store.clone(),
                secrets: secrets.clone(),
                public_base: settings.public_base(),
            },
            &settings.delivery,
            &settings.smtp,
            &settings.line,
        )?);
        let channels = ChannelService::new(
            db.clone(),
            secrets.clone(),
            deliveries.line().clone(),
            deliveries.mail_enabled(),
            bus.clone(),
        )
        .with_webhook_hosts(settings.delivery.webhook_allowed_hosts.clone());
        let alpr = AlprService::new(db.clone(), inference.clone(), store.clone(), bus.clone());
        let inspection = InspectionService::new(
            db.clone(),
            inference.clone(),
            store.clone(),
            bus.clone(),
            &settings.inspection,
            &settings.ai,
        )?;
        let parking = ParkingService::new(
            db.clone(),
            alpr.clone(),
            bus.clone(),
            settings.parking.offset()?,
        );
        let live_settings = settings.cameras.live()?;
        let live = Arc::new(
            LiveCameras::new(
                Arc::new(OpenCvFactory {
                    timeout_ms: (settings.cameras.timeout_secs * 1000.0) as i32,
                }),
                inference.clone(),
                db.clone(),
                store.clone(),
                bus.clone(),
                Arc::new(alpr.clone()),
                live_settings,
            )
            .with_secrets(secrets.clone())
            .with_device_alerts(
                settings.devices.offpeak_alert_interval_secs,
                Some(crate::ai::ChatClient::new(&settings.vlm, "vlm")?),
            ),
        );
        let registry_dir = models_dir.clone();
        let cameras = CameraService::new(
            db.clone(),
            live,
            inference.catalog().to_vec(),
            Arc::new(move || {
                ModelRegistry::new(&registry_dir)
                    .list()
                    .into_iter()
                    .filter(|m| m.info.is_some())
                    .map(|m| m.name)
                    .collect()
            }),
            store,
            bus.clone(),
        )
        .with_allowed_hosts(settings.cameras.allowed_hosts.clone());
        let devices = DeviceService::new(db.clone(), cameras.clone(), secrets);
        Ok(Self(Arc::new(App {
            settings,
            db,
            accounts,
            bus,
            inference,
            alpr,
            parking,
            cameras,
            channels,
            devices,
            deliveries,
            inspection,
        })))
    }

    /// Starts the long-running workers: the delivery workers, the camera status writer and
    /// one capture thread (and analysis task) per stored camera. Call once, inside the
    /// runtime.
    ///
    /// # Errors
    /// The cameras cannot be read.
    pub async fn start_workers(&self) -> anyhow::Result<()> {
        self.deliveries.start();
        self.cameras.live().spawn_status_writer();
        let n = self
            .cameras
            .start_all()
            .await
            .map_err(|e| anyhow::anyhow!("cannot start cameras ({})", e.code()))?;
        tracing::info!(cameras = n, "camera workers started");
        self.devices.start(self.settings.devices.loops());
        Ok(())
    }

    /// The full HTTP router over this state.
    pub fn router(&self) -> Router {
        let schema = graphql::build(self.clone(), &self.settings.graphql);
        http::router(self.clone(), schema)
    }
}

/// A bound server, ready to run.
pub struct Application {
    listener: TcpListener,
    router: Router,
    state: AppState,
}

/// How long open connections (websockets, streams) may take to finish after a shutdown
/// signal before the server closes them.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

impl Application {
    /// Opens the configured database (SQLite file in `data_dir` by default), applies
    /// migrations, builds the state and binds the listener.
    ///
    /// # Errors
    /// The database cannot be opened or migrated, or the address cannot be bound.
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        std::fs::create_dir_all(&settings.data_dir)
            .with_context(|| format!("cannot create data dir {}", settings.data_dir.display()))?;
        let db = db::connect(&settings.database_url(), None).await?;
        db::migrate(&db).await?;
        let listen = settings.listen;
        let state = AppState::new(settings, db)?;
        Self::bind(state, listen).await
    }

    /// Binds a listener for an existing state (tests use port 0).
    ///
    /// # Errors
    /// The address cannot be bound.
    pub async fn bind(state: AppState, listen: SocketAddr) -> anyhow::Result<Self> {
        let listener = TcpListener::bind(listen)
            .await
            .with_context(|| format!("cannot listen on {listen}"))?;
        state.start_workers().await?;
        Ok(Self {
            listener,
            router: state.router(),
            state,
        })
    }

    /// The bound address.
    ///
    /// # Errors
    /// The socket has no local address (does not happen once bound).
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until `shutdown` completes, then stops accepting, lets open requests finish
    /// and closes connections still open after a grace period.
    ///
    /// # Errors
    /// The server failed.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let (tx, rx) = tokio::sync::watch::channel(false);
        tokio::spawn(async move {
            shutdown.await;
            tracing::info!("shutdown requested");
            let _ = tx.send(true);
        });
        let mut graceful = rx.clone();
        let mut forced = rx;
        let live = self.state.cameras.live().clone();
        let deliveries = self.state.deliveries.clone();
        let devices = self.state.devices.clone();
        let mut workers = graceful.clone();
        tokio::spawn(async move {
            // Camera workers stop first (their MJPEG streams end with them), then delivery:
            // attempts in flight finish, the rest stays pending for the next start.
            let _ = workers.wait_for(|stop| *stop).await;
            devices.shutdown(SHUTDOWN_GRACE).await;
            live.shutdown(SHUTDOWN_GRACE).await;
            deliveries.shutdown(SHUTDOWN_GRACE).await;
        });
        let server = axum::serve(self.listener, self.router).with_graceful_shutdown(async move {
            let _ = graceful.wait_for(|stop| *stop).await;
        });
        tokio::select! {
            result = std::future::IntoFuture::into_future(server) => result.context("server failed")?,
            () = async move {
                let _ = forced.wait_for(|stop| *stop).await;
                tokio::time::sleep(SHUTDOWN_GRACE).await;
            } => tracing::warn!("connections still open after {SHUTDOWN_GRACE:?}; closing them"),
        }
        tracing::info!("server stopped");
        Ok(())
    }
}

/// Completes on SIGINT (Ctrl-C) or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}
