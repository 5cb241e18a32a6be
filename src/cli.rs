//! The `visionflow` command line.

use std::{net::SocketAddr, path::PathBuf, process::ExitCode};

use clap::{Args, Parser, Subcommand};

use crate::{
    config::{CliOverrides, Settings},
    db, graphql,
    startup::{Application, shutdown_signal},
    telemetry,
};

/// VisionFlow: camera streams and uploaded images in; vehicles, plates, people and alerts
/// out, over GraphQL and the documented REST routes.
#[derive(Debug, Parser)]
#[command(name = "visionflow", version, about)]
pub struct Cli {
    /// TOML config file (default: $VISIONFLOW_CONFIG, else ./visionflow.toml if present).
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server (migrates the database first).
    Serve(ServeArgs),
    /// Apply database migrations and exit.
    Migrate(DbArgs),
    /// Print the GraphQL schema (SDL).
    Schema,
}

/// `serve` flags (each also settable as `VISIONFLOW_*` or in the config file).
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on [default: 127.0.0.1:8080; env VISIONFLOW_LISTEN].
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<SocketAddr>,
    #[command(flatten)]
    pub db: DbArgs,
}

/// Database location flags.
#[derive(Debug, Args)]
pub struct DbArgs {
    /// Data directory [default: ./data; env VISIONFLOW_DATA_DIR].
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Database URL [default: sqlite in the data dir; env VISIONFLOW_DATABASE_URL].
    #[arg(long, value_name = "URL")]
    pub database_url: Option<String>,
}

/// Parses the command line and runs it.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Command::Schema = cli.command {
        print!("{}", graphql::sdl());
        return ExitCode::SUCCESS;
    }
    let (overrides, serve) = match &cli.command {
        Command::Serve(a) => (
            CliOverrides {
                listen: a.listen,
                data_dir: a.db.data_dir.clone(),
                database_url: a.db.database_url.clone(),
            },
            true,
        ),
        Command::Migrate(a) => (
            CliOverrides {
                listen: None,
                data_dir: a.data_dir.clone(),
                database_url: a.database_url.clone(),
            },
            false,
        ),
        Command::Schema => unreachable!("handled above"),
    };
    let settings = match Settings::load(cli.config.as_deref(), &overrides) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("visionflow: configuration error: {e}");
            return ExitCode::from(2);
        }
    };
    telemetry::init(&settings.log);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("visionflow: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async move {
        if serve {
            let app = Application::build(settings).await?;
            tracing::info!(addr = %app.local_addr()?, "VisionFlow listening; GraphiQL at /graphql");
            app.run_until(shutdown_signal()).await
        } else {
            std::fs::create_dir_all(&settings.data_dir)?;
            let conn = db::connect(&settings.database_url(), None).await?;
            db::migrate(&conn).await?;
            println!("migrations applied");
            Ok(())
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = ?e, "visionflow failed");
            eprintln!("visionflow: {e:#}");
            ExitCode::FAILURE
        }
    }
}
