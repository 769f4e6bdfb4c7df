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
mod observability;
mod serve;
mod settings;
mod spike_watch;
mod train_head;
mod users;

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
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
            if observability::logs_are_json() {
                tracing::error!(error = %format!("{e:#}"), "command failed");
            } else {
                eprintln!("error: {e:#}");
            }
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: cli::Cli) -> anyhow::Result<()> {
    use cli::Command;
    // Before any work, so that every crate records into it; `serve` renders it.
    observability::install_metrics()?;
    match cli.command {
        Command::Demo(args) => {
            observability::init_logging(&settings::log_from_env(std::env::vars())?);
            demo::run(args).await
        }
        Command::Eval(args) => {
            let mut settings = app::load_settings_or_defaults(cli.config.as_deref())?;
            observability::init_logging(&settings.log);
            if let Some(head) = args.head {
                settings.sentiment.head = head_choice(head);
            }
            eval::run(&settings, &args.labels, args.language.as_deref()).await
        }
        Command::TrainHead(args) => {
            let settings = app::load_settings_or_defaults(cli.config.as_deref())?;
            observability::init_logging(&settings.log);
            train_head::run(&settings, args.into_request()?).await
        }
        command => {
            let settings = app::load_settings(cli.config.as_deref())?;
            observability::init_logging(&settings.log);
            match command {
                Command::Crawl(args) => crawl_once::run(&settings, args.source.as_deref()).await,
                Command::Serve(args) => serve::run(&settings, args.role).await,
                Command::Mentions(args) => listing::mentions(&settings, &args).await,
                Command::Sources(args) => listing::sources(&settings, args.format).await,
                Command::Classify(args) => {
                    classify::run(&settings, args.all, args.since.as_deref()).await
                }
                Command::Keys(command) => keys::run(&settings, command).await,
                Command::Spikes => spike_watch::check_now(&settings).await,
                Command::Users(command) => users::run(&settings, command).await,
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
