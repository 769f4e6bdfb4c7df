//! The `earshot` binary: the command line, settings and wiring. The work itself lives
//! in the workspace crates (`crawler`, `sentiment`, `store`, `api`).

mod app;
mod classify;
mod cli;
mod crawl_once;
mod demo;
mod eval;
mod keys;
mod listing;
mod serve;
mod settings;
mod train_head;

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    init_logging();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: could not start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: cli::Cli) -> anyhow::Result<()> {
    use cli::Command;
    match cli.command {
        Command::Demo(args) => demo::run(args).await,
        Command::Eval(args) => {
            let mut settings = app::load_settings_or_defaults(cli.config.as_deref())?;
            if let Some(head) = args.head {
                settings.sentiment.head = head_choice(head);
            }
            eval::run(&settings, &args.labels, args.language.as_deref()).await
        }
        Command::TrainHead(args) => {
            let settings = app::load_settings_or_defaults(cli.config.as_deref())?;
            train_head::run(&settings, args.into_request()?).await
        }
        command => {
            let settings = app::load_settings(cli.config.as_deref())?;
            match command {
                Command::Crawl(args) => crawl_once::run(&settings, args.source.as_deref()).await,
                Command::Serve(args) => serve::run(&settings, args.role).await,
                Command::Mentions(args) => listing::mentions(&settings, &args).await,
                Command::Sources(args) => listing::sources(&settings, args.format).await,
                Command::Classify(args) => {
                    classify::run(&settings, args.all, args.since.as_deref()).await
                }
                Command::Keys(command) => keys::run(&settings, command).await,
                Command::Demo(_) | Command::Eval(_) | Command::TrainHead(_) => {
                    unreachable!("handled above")
                }
            }
        }
    }
}

/// `--head builtin` means the model's own head; anything else is a head file.
fn head_choice(raw: std::path::PathBuf) -> earshot_sentiment::HeadChoice {
    if raw.as_os_str() == "builtin" {
        earshot_sentiment::HeadChoice::Builtin
    } else {
        earshot_sentiment::HeadChoice::File(raw)
    }
}

/// Logs go to stderr, filtered by `RUST_LOG` (default: warnings, and Earshot's own info).
fn init_logging() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("warn,earshot=info,earshot_crawler=warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
}
