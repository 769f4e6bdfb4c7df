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
    /// Run the scheduler (each source at its interval), the sentiment worker and the HTTP
    /// API until Ctrl-C/SIGTERM; --role runs one of them only.
    Serve(ServeArgs),
    /// List stored mentions, newest first.
    Mentions(MentionsArgs),
    /// Show each source's crawl health: last success, last error, next check.
    Sources(FormatArgs),
    /// Classify the sentiment of mentions that have none yet (or, with --all, of every
    /// mention the current model has not classified; with --since, of every recent one).
    Classify(ClassifyArgs),
    /// Measure the model on hand-labelled TSV files: accuracy and macro-F1 per language.
    Eval(EvalArgs),
    /// Train a sentiment head on labelled TSV files (embeds them with the configured encoder).
    #[command(long_about = TRAIN_HEAD_ABOUT)]
    TrainHead(TrainHeadArgs),
    /// Run Earshot end to end on a bundled demo site: no network, no setup.
    Demo(DemoArgs),
    /// Create, list and revoke API keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Check every brand for a spike in negative mentions now (as `serve` does every
    /// `[spikes] every`), open the spike alerts due, and print them.
    Spikes,
    /// Create, list, disable, enable and delete web console users.
    #[command(subcommand)]
    Users(UsersCommand),
}

#[derive(Debug, Subcommand)]
pub enum UsersCommand {
    /// Create a console user. The password is read from EARSHOT_PASSWORD when set (for
    /// scripts), else from standard input (one line; typed at a prompt on a terminal).
    Create(UserCreateArgs),
    /// List console users (never their passwords): username, role, created, disabled.
    List(FormatArgs),
    /// Disable a user: they cannot sign in, and their sessions end at once.
    Disable(UserNameArg),
    /// Enable a disabled user again.
    Enable(UserNameArg),
    /// Delete a user and their sessions (what they did stays in history under their name).
    Delete(UserNameArg),
}

#[derive(Debug, Args)]
pub struct UserCreateArgs {
    /// Lowercase letters, digits, '.', '_' and '-'.
    #[arg(long)]
    pub username: String,
    /// admin (everything), pr (alerts), marketing (reviews), or viewer (read-only).
    #[arg(long)]
    pub role: String,
}

#[derive(Debug, Args)]
pub struct UserNameArg {
    /// The username, as `earshot users list` shows it.
    pub username: String,
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
pub struct ServeArgs {
    /// What this process runs: `all` (the scheduler, the sentiment worker and the API),
    /// `crawler` (the scheduler only), `classifier` (the sentiment worker only) or `api`
    /// (the HTTP API only). Only `all` and `api` listen on [server] listen. Any number of
    /// processes, on any number of machines, can share one Postgres database.
    #[arg(long, value_enum, default_value_t = Role::All, env = "EARSHOT_ROLE")]
    pub role: Role,
}

/// The part of Earshot that one `earshot serve` process runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Role {
    All,
    Crawler,
    Classifier,
    Api,
}

impl Role {
    /// This process claims due sources and crawls them.
    pub fn crawls(self) -> bool {
        matches!(self, Role::All | Role::Crawler)
    }

    /// This process claims unclassified mentions and classifies them.
    pub fn classifies(self) -> bool {
        matches!(self, Role::All | Role::Classifier)
    }

    /// This process answers HTTP (the API, /healthz, /readyz, /metrics).
    pub fn serves_http(self) -> bool {
        matches!(self, Role::All | Role::Api)
    }
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
    /// Only mentions discovered since then: a time or an age (24h, 7d); those among them that
    /// another model or head version scored are re-scored too (as with --all).
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
    /// Score with this head file instead of the configured one (`builtin`: the model's own head).
    #[arg(long, value_name = "PATH")]
    pub head: Option<PathBuf>,
}

const TRAIN_HEAD_ABOUT: &str = "\
Train a sentiment head: the small classifier that turns the encoder's embedding into
negative/neutral/positive probabilities. Two ways:

  earshot train-head --data FILE.tsv ... --out DIR     a head from labelled files, written to a file
  earshot train-head --from-corrections [--brand SLUG]  a head that learns from this deployment's
                                                        corrections, activated if it does better

From labelled files:
  1. Reads every --data file (and --val files): TSV with a header row, a `text` column and a
     `label_name` column (negative, neutral, positive; a `label` column holding those names also
     works). The language of a row comes from a `language` column or the file name
     (english_train.tsv is en), else it is detected.
  2. Embeds each text with the configured encoder ([sentiment] model_dir, max_tokens), keeping
     every embedding in a cache file (default under ~/.cache/earshot/embeddings/), so a second
     run over the same texts embeds nothing.
  3. Trains multinomial logistic regression (linfa-logistic) on standardised embeddings, with
     classes balanced by oversampling. Without --val, a stratified dev split of --data
     (--dev-fraction per language and class) is held out. The L2 penalty (--alpha) and the
     stopping round are chosen on the validation macro-F1, and a temperature is fitted on the
     validation log-loss so that probabilities are calibrated.
  4. Writes DIR/head.json: the weights, the temperature, a version id, and provenance (the
     data's names and sizes, the validation scores, the command).
  Then:
    earshot eval --head DIR/head.json --labels HELD_OUT.tsv    measure it on data it never saw
    [sentiment] head = \"DIR/head.json\"                       use it (or EARSHOT__SENTIMENT__HEAD)
    earshot classify --all                                      re-score stored mentions with it

Learning from corrections (--from-corrections; needs the deployment's config, for its database):
  1. The team corrects labels through the API: POST /api/v1/mentions/{id}/sentiment with
     {\"label\": \"negative\"} (any role that may correct). Each corrected mention is a training
     row: the text the classifier read (title and snippet) with its latest corrected label.
     --brand SLUG takes one brand's corrections only. At least 10 are needed.
  2. The public set is --data (default: the UMSAB training tweets,
     $EARSHOT_CORPORA/umsab-multilingual-tweets-train/*_train.tsv, else
     ../shared/corpora/...; the data the shipped head was trained on), with --val or a dev
     split as above. Its embeddings come from the cache: the FIRST run over the 14,712 UMSAB
     tweets embeds them all, which takes 12 to 35 minutes on 2 cores (7 to 20 texts/s); later
     runs read them in seconds. A correction reuses the embedding stored with its mention when
     the same encoder made it, else it is embedded (fast: they are few).
  3. Every correction counts --correction-weight times (default 10; linfa-logistic takes no
     sample weights, so a correction's row is repeated). Up to --anchors (default 500) of the
     deployment's latest uncorrected mentions that the head in use labels with P >= 0.7 are
     trained on with that label, so the new head learns the corrections' sentiment rather
     than their topic. Every fit starts from the head in use (a warm start).
  4. It is judged by stratified k-fold cross-validation on the corrections (--folds, default 5,
     seeded by --seed): per fold, a head trained on the public set plus the other folds labels
     the fold it never saw, and the head in use labels the same rows; macro-F1 and accuracy
     are pooled over the folds. Then the candidate is trained on the public set plus every
     correction, and it and the head in use are scored on the public validation rows.
  5. It is activated only if its cross-validated macro-F1 on the corrections is higher than
     the head in use, and its public validation macro-F1 is no more than --public-tolerance
     (default 0.02) below the head in use's. It prints either
       activated head <id>: CV macro-F1 0.81 vs current 0.42 on 50 corrections
     or
       kept the current head <id>: CV macro-F1 ... ; <why>
     Either way the candidate and its evaluation are recorded in the database; an activated
     head is stored there whole, so every process sharing the database uses it from its next
     start (restart a running `earshot serve`), and it survives restarts. A head named by
     [sentiment] head (or EARSHOT__SENTIMENT__HEAD) always wins over an activated one; with
     neither, the shipped head is used until one is activated. --out DIR also writes the
     candidate to DIR/head.json, for `earshot eval --head`.
  6. Re-score recent mentions with it:
       earshot classify --since 7d      re-scores mentions discovered in the last 7 days that
                                        another model or head version scored
  Every stored result names the head that scored it: earshot/e5-small-sentiment@1+head:<id>.

The same data and --seed give the same head.";

#[derive(Debug, Args)]
pub struct TrainHeadArgs {
    /// A labelled TSV to train on (`label_name` and `text` columns); repeatable. With
    /// --from-corrections this is the public set, by default the UMSAB training tweets.
    #[arg(
        long = "data",
        value_name = "FILE.tsv",
        required_unless_present = "from_corrections"
    )]
    pub data: Vec<PathBuf>,
    /// A labelled TSV to choose the penalty, stopping round and temperature on; repeatable.
    /// Without it, a dev split of --data is used.
    #[arg(long = "val", value_name = "FILE.tsv")]
    pub val: Vec<PathBuf>,
    /// Where to write head.json (optional with --from-corrections, whose heads are kept in the
    /// database).
    #[arg(long, value_name = "DIR", required_unless_present = "from_corrections")]
    pub out: Option<PathBuf>,
    /// Learn from the corrections stored in the configured database too, judge the new head by
    /// cross-validation on them, and activate it if it beats the head in use.
    #[arg(long)]
    pub from_corrections: bool,
    /// With --from-corrections: only this brand's corrections.
    #[arg(long, value_name = "SLUG", requires = "from_corrections")]
    pub brand: Option<String>,
    /// With --from-corrections: how many times a correction counts against a public row.
    #[arg(long, default_value_t = 10, value_name = "N")]
    pub correction_weight: u32,
    /// With --from-corrections: at most this many of the deployment's latest uncorrected
    /// mentions are trained on with the label the head in use gives them (0: none).
    #[arg(long, default_value_t = 500, value_name = "N")]
    pub anchors: usize,
    /// With --from-corrections: folds of the cross-validation on the corrections.
    #[arg(long, default_value_t = 5, value_name = "K")]
    pub folds: usize,
    /// With --from-corrections: how much lower the new head's macro-F1 on the public validation
    /// rows may be than the current head's.
    #[arg(long, default_value_t = 0.02, value_name = "F1")]
    pub public_tolerance: f64,
    /// Seeds the dev split and the class balancing.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// The first part of the head's id (a hash of its weights follows) [default: head, or
    /// corrections with --from-corrections].
    #[arg(long)]
    pub name: Option<String>,
    /// What the head is fed: `embedding`, or `embedding+builtin` (the embedding and the model's
    /// built-in probabilities).
    #[arg(long, default_value = "embedding", value_name = "INPUT")]
    pub input: String,
    /// The share of each language and class of --data held out as dev data when no --val is given.
    #[arg(long, default_value_t = 0.1, value_name = "FRACTION")]
    pub dev_fraction: f64,
    /// The L2 penalties to try (comma-separated).
    #[arg(long, value_delimiter = ',', default_values_t = [1.0, 10.0, 100.0, 1000.0])]
    pub alpha: Vec<f64>,
    /// The embedding cache file [default: ~/.cache/earshot/embeddings/<model>.bin].
    #[arg(long, value_name = "FILE")]
    pub cache: Option<PathBuf>,
}

impl TrainHeadArgs {
    /// The validated request.
    pub fn into_request(self) -> anyhow::Result<crate::train_head::Request> {
        let input = match self.input.as_str() {
            "embedding" => earshot_sentiment::HeadInput::Embedding,
            "embedding+builtin" => earshot_sentiment::HeadInput::EmbeddingAndBuiltin,
            other => {
                anyhow::bail!("--input {other:?}: expected `embedding` or `embedding+builtin`")
            }
        };
        if !(self.dev_fraction > 0.0 && self.dev_fraction < 1.0) {
            anyhow::bail!("--dev-fraction must be between 0 and 1");
        }
        if self.alpha.is_empty() || self.alpha.iter().any(|a| !(a.is_finite() && *a >= 0.0)) {
            anyhow::bail!("--alpha takes non-negative numbers");
        }
        let corrections = if self.from_corrections {
            if self.correction_weight == 0 {
                anyhow::bail!("--correction-weight must be 1 or more");
            }
            if self.folds < 2 {
                anyhow::bail!("--folds must be 2 or more");
            }
            if !(self.public_tolerance.is_finite() && self.public_tolerance >= 0.0) {
                anyhow::bail!("--public-tolerance takes a non-negative number");
            }
            let brand = self
                .brand
                .as_deref()
                .map(earshot_domain::BrandSlug::parse)
                .transpose()
                .map_err(|e| anyhow::anyhow!("--brand: {}", e.0))?;
            Some(crate::train_head::FromCorrections {
                brand,
                weight: self.correction_weight,
                anchors: self.anchors,
                folds: self.folds,
                public_tolerance: self.public_tolerance,
            })
        } else {
            None
        };
        let name = self.name.unwrap_or_else(|| {
            if corrections.is_some() {
                "corrections".to_owned()
            } else {
                "head".to_owned()
            }
        });
        Ok(crate::train_head::Request {
            data: self.data,
            val: self.val,
            out: self.out,
            corrections,
            seed: self.seed,
            name,
            input,
            dev_fraction: self.dev_fraction,
            cache: self.cache,
            alphas: self.alpha,
        })
    }
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
