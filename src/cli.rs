//! The command line, as parsed by clap. Command names are a contract: scripts and
//! later versions rely on them.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::net::SocketAddr;
use std::path::PathBuf;

/// Earshot: hear what people say about your brands.
#[derive(Debug, Parser)]
#[command(name = "earshot", version, about)]
pub struct Cli {
    /// The config file [default: earshot.toml].
    #[arg(long, global = true, env = "EARSHOT_CONFIG", value_name = "PATH")]
    pub config: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Crawl sources now, store new mentions, print a summary and exit.
    Crawl(CrawlArgs),
    /// Run the scheduler (each source at its interval) and the HTTP API until Ctrl-C/SIGTERM.
    Serve,
    /// List stored mentions, newest first.
    Mentions(MentionsArgs),
    /// Show each source's crawl health: last success, last error, next check.
    Sources(FormatArgs),
    /// Classify the sentiment of mentions that have none yet (or, with --all, of every
    /// mention the current model has not classified).
    Classify(ClassifyArgs),
    /// Measure the model on hand-labelled TSV files: accuracy and macro-F1 per language.
    Eval(EvalArgs),
    /// Run Earshot end to end on a bundled demo site: no network, no setup.
    Demo(DemoArgs),
    /// Create, list and revoke API keys.
    #[command(subcommand)]
    Keys(KeysCommand),
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Create a key and print it. It is shown only this once: only its hash is stored.
    Create(KeyCreateArgs),
    /// List keys (never their secrets): id, name, role, created, last used, revoked.
    List(FormatArgs),
    /// Revoke a key. It stops working at the next request.
    Revoke(KeyRevokeArgs),
}

#[derive(Debug, Args)]
pub struct KeyCreateArgs {
    /// admin (everything), pr (alerts), marketing, or viewer (read-only).
    #[arg(long)]
    pub role: String,
    /// Who or what the key is for, e.g. "PR desk".
    #[arg(long)]
    pub name: String,
    #[arg(long, value_enum, default_value_t = KeyFormat::Table)]
    pub format: KeyFormat,
}

/// How `keys create` prints the new key: words for a person, or JSON for a script.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum KeyFormat {
    Table,
    Json,
}

#[derive(Debug, Args)]
pub struct KeyRevokeArgs {
    /// The key's id, as `earshot keys list` shows it.
    pub id: i64,
}

#[derive(Debug, Args)]
pub struct CrawlArgs {
    /// Crawl once and exit (scheduled crawling is `earshot serve`).
    #[arg(long, required = true)]
    pub once: bool,
    /// Only this source.
    #[arg(long, value_name = "NAME")]
    pub source: Option<String>,
}

#[derive(Debug, Args)]
pub struct ClassifyArgs {
    /// Re-classify mentions classified by another model version too.
    #[arg(long)]
    pub all: bool,
    /// Only mentions discovered since then: a time or an age (24h, 7d).
    #[arg(long, value_name = "WHEN")]
    pub since: Option<String>,
}

#[derive(Debug, Args)]
pub struct EvalArgs {
    /// A TSV with a header: `text` and `label_name` (or `label`) columns; repeatable.
    #[arg(long = "labels", value_name = "FILE.tsv", required = true)]
    pub labels: Vec<std::path::PathBuf>,
    /// The language of every row (else a `language` column, the file name, or detection).
    #[arg(long)]
    pub language: Option<String>,
}

#[derive(Debug, Args)]
pub struct MentionsArgs {
    /// Only this brand's mentions.
    #[arg(long, value_name = "SLUG")]
    pub brand: Option<String>,
    /// Only mentions published since then: a time (2026-11-23, 2026-11-23T10:00:00Z) or an age (24h, 7d).
    #[arg(long, value_name = "WHEN")]
    pub since: Option<String>,
    /// Only mentions with this sentiment: negative, neutral or positive.
    #[arg(long, value_name = "LABEL")]
    pub sentiment: Option<String>,
    /// At most this many.
    #[arg(long, default_value_t = 100)]
    pub limit: u32,
    #[command(flatten)]
    pub format: FormatArgs,
}

#[derive(Debug, Args)]
pub struct FormatArgs {
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Table,
    Json,
    Csv,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Where the demo keeps its config and database.
    #[arg(long, default_value = "earshot-demo", value_name = "DIR")]
    pub dir: PathBuf,
    /// Where the API listens after the crawl (a busy port falls back to any free one).
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Crawl, print what was found, and exit instead of serving.
    #[arg(long)]
    pub no_serve: bool,
}
