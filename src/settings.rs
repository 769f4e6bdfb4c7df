//! Configuration: defaults, then one TOML file, then `EARSHOT__SECTION__KEY` environment
//! variables, parsed into typed settings. Every error names the file and line (or the
//! environment variable) and what is wrong.

use earshot_crawler::fetch::FetchLimits;
use earshot_crawler::politeness::PolitenessLimits;
use earshot_domain::{
    AlertRuleSpec, AutoApprove, Brand, BrandSlug, BrandTerm, ChannelName, LanguageCode, Recipe,
    RetryPolicy, Source, SourceKind, SourceName, SourceUrl, SpikeRule, Threshold, UnhealthyAfter,
};
use earshot_notify::{Channel, ChannelKind, Secret, SmtpTarget};
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;
use toml::Spanned;

/// The config file used when neither `--config` nor `EARSHOT_CONFIG` names one.
pub const DEFAULT_PATH: &str = "earshot.toml";

/// Validated settings for one run.
#[derive(Debug, Clone)]
pub struct Settings {
    pub path: PathBuf,
    pub database: DatabaseUrl,
    pub listen: SocketAddr,
    /// How long `earshot serve` lets work in flight finish after SIGTERM or Ctrl-C before
    /// it abandons it and releases its leases (`[server] shutdown_grace`, default 30s).
    pub shutdown_grace: Duration,
    pub crawler: CrawlerSettings,
    pub sentiment: SentimentSettings,
    pub brands: Vec<Brand>,
    pub sources: Vec<Source>,
    /// `[[alert_rules]]`: each names a brand and a source above, and channels below.
    pub alert_rules: Vec<AlertRuleSpec>,
    pub spikes: SpikeSettings,
    /// `[log]`: how logs are written to stderr.
    pub log: LogSettings,
    /// `[[channels]]`: where notifications of new alerts go.
    pub channels: Vec<Channel>,
    /// `[notifications]`: how the outbox is delivered.
    pub notifications: NotificationSettings,
}

/// How logs are written: always to stderr, as text or as one JSON object per line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogSettings {
    pub format: LogFormat,
    /// How much Earshot's own crates log; `None` is info. The libraries Earshot uses
    /// log warnings. `RUST_LOG`, when set, replaces the whole filter.
    pub level: Option<LogLevel>,
}

/// `[log] format`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines (colour on a terminal).
    #[default]
    Text,
    /// One JSON object per line: `timestamp`, `level`, `target`, `fields` (with
    /// `message`), and the `span` and `spans` it happened in, with their fields.
    Json,
}

/// `[log] level`: the most detailed events Earshot's crates log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogLevel {
    Error,
    Warn,
    Info,
    Debug,
    Trace,
}

impl LogLevel {
    /// The word `tracing`'s filters use.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Error => "error",
            Self::Warn => "warn",
            Self::Info => "info",
            Self::Debug => "debug",
            Self::Trace => "trace",
        }
    }

    fn parse(raw: &str) -> Option<Self> {
        Some(match raw.trim().to_ascii_lowercase().as_str() {
            "error" => Self::Error,
            "warn" => Self::Warn,
            "info" => Self::Info,
            "debug" => Self::Debug,
            "trace" => Self::Trace,
            _ => return None,
        })
    }
}

impl LogFormat {
    fn parse(raw: &str) -> Option<Self> {
        match raw.trim() {
            "text" => Some(Self::Text),
            "json" => Some(Self::Json),
            _ => None,
        }
    }
}

/// `[spikes]`: spike alerts on jumps in a brand's hourly negative mentions.
#[derive(Debug, Clone)]
pub struct SpikeSettings {
    /// Watch for spikes at all (`enabled`, default on).
    pub enabled: bool,
    /// `k`, `min_count` and `cooldown` (defaults 3, 5, `6h`).
    pub rule: SpikeRule,
    /// How often `serve` checks every brand (`every`, default `1m`).
    pub every: Duration,
}

/// How notifications are delivered (`[notifications]`).
#[derive(Debug, Clone)]
pub struct NotificationSettings {
    /// How often each channel looks for due notifications.
    pub tick: Duration,
    /// How long one send may take.
    pub timeout: Duration,
    /// Messages in flight at once per channel.
    pub concurrency: usize,
    /// Attempts and backoff before a notification is given up on.
    pub retry: RetryPolicy,
}

/// How crawls run.
#[derive(Debug, Clone)]
pub struct CrawlerSettings {
    /// Sources crawled at once.
    pub concurrency: usize,
    /// How often the scheduler looks for due sources.
    pub tick: Duration,
    /// How long a claimed source stays leased if its crawler dies (`[crawler] lease`);
    /// `None`: twice the fetch timeout plus two minutes.
    pub lease: Option<Duration>,
    /// Adapt each source's interval to its activity: shorter while it has new items,
    /// longer while it has none (see `earshot_crawler::schedule`).
    pub adaptive: bool,
    pub limits: FetchLimits,
    /// Consecutive failed crawls after which a source is unhealthy and its one source
    /// alert opens (`unhealthy_after`, default 5).
    pub unhealthy_after: UnhealthyAfter,
}

/// How mentions are classified.
#[derive(Debug, Clone)]
pub struct SentimentSettings {
    /// Classify mentions at all. When on, a missing model is an error at start-up, never a
    /// silent fallback.
    pub enabled: bool,
    /// The model directory: `model.onnx`, `tokenizer.json`, `config.json`.
    pub model_dir: PathBuf,
    /// The ONNX Runtime library; by default `ORT_DYLIB_PATH`, then the one in `model_dir`.
    pub ort_dylib: Option<PathBuf>,
    /// Which head scores embeddings: unset means the head Earshot ships (on its default model),
    /// `"builtin"` the model's own, anything else a head file.
    pub head: earshot_sentiment::HeadChoice,
    /// Whether the config file or `EARSHOT__SENTIMENT__HEAD` named the head. When neither
    /// did, a head that `earshot train-head --from-corrections` activated in the database
    /// is used in place of the shipped one; a head named here always wins.
    pub head_from_config: bool,
    /// Texts are truncated to this many tokens.
    pub max_tokens: usize,
    /// Texts per model run at most.
    pub batch_size: usize,
    /// Padded tokens per model run at most.
    pub max_batch_tokens: usize,
    /// Mentions the worker claims, classifies and stores per round, in one transaction.
    pub claim_size: usize,
    /// Threads the model may use.
    pub threads: usize,
    /// How long a claimed batch stays leased if the process dies.
    pub lease: Duration,
}

impl SentimentSettings {
    /// How to load the classifier these settings describe.
    pub fn classifier_options(&self) -> earshot_sentiment::ClassifierOptions {
        earshot_sentiment::ClassifierOptions {
            model_dir: self.model_dir.clone(),
            ort_dylib: self.ort_dylib.clone(),
            head: self.head.clone(),
            max_tokens: self.max_tokens,
            intra_threads: self.threads,
            batch_size: self.batch_size,
            max_batch_tokens: self.max_batch_tokens,
        }
    }
}

/// A database URL. `Debug` and `Display` hide any password.
#[derive(Clone)]
pub struct DatabaseUrl(String);

impl DatabaseUrl {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", earshot_store::redact(&self.0))
    }
}

impl std::fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&earshot_store::redact(&self.0))
    }
}

/// Why the configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("config file {path} not found. Create it (the README shows an example), pass --config PATH, or try `earshot demo`")]
    Missing { path: PathBuf },
    #[error("could not read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}{}: {message}", line.map(|l| format!(" line {l}")).unwrap_or_default())]
    Invalid {
        path: PathBuf,
        line: Option<usize>,
        message: String,
    },
    #[error("environment variable {var}: {message}")]
    Env { var: String, message: String },
}

// The file as written. Unknown keys are errors, so a typo is caught, not ignored.

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    database: RawDatabase,
    #[serde(default)]
    server: RawServer,
    #[serde(default)]
    crawler: RawCrawler,
    #[serde(default)]
    sentiment: RawSentiment,
    #[serde(default)]
    brands: Vec<RawBrand>,
    #[serde(default)]
    sources: Vec<RawSource>,
    #[serde(default)]
    alert_rules: Vec<RawAlertRule>,
    #[serde(default)]
    spikes: RawSpikes,
    #[serde(default)]
    log: RawLog,
    #[serde(default)]
    channels: Vec<RawChannel>,
    #[serde(default)]
    notifications: RawNotifications,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawSpikes {
    enabled: Option<Spanned<bool>>,
    k: Option<Spanned<f64>>,
    min_count: Option<Spanned<i64>>,
    cooldown: Option<Spanned<String>>,
    every: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawLog {
    format: Option<Spanned<String>>,
    level: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawNotifications {
    tick: Option<Spanned<String>>,
    timeout: Option<Spanned<String>>,
    concurrency: Option<Spanned<i64>>,
    max_attempts: Option<Spanned<i64>>,
    backoff: Option<Spanned<String>>,
    max_backoff: Option<Spanned<String>>,
}

/// `[[channels]]`: `kind` decides which of the other keys it takes.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawChannel {
    name: Spanned<String>,
    kind: Spanned<String>,
    /// webhook and slack.
    url: Option<Spanned<String>>,
    /// webhook: the HMAC-SHA256 key.
    secret: Option<Spanned<String>>,
    digest: Option<Spanned<String>>,
    /// email.
    smtp_host: Option<Spanned<String>>,
    smtp_port: Option<Spanned<i64>>,
    from: Option<Spanned<String>>,
    to: Option<Spanned<Vec<Spanned<String>>>>,
    username: Option<Spanned<String>>,
    password: Option<Spanned<String>>,
    starttls: Option<Spanned<bool>>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawDatabase {
    url: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawServer {
    listen: Option<Spanned<String>>,
    shutdown_grace: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawCrawler {
    concurrency: Option<Spanned<i64>>,
    tick: Option<Spanned<String>>,
    adaptive: Option<Spanned<bool>>,
    lease: Option<Spanned<String>>,
    timeout: Option<Spanned<String>>,
    connect_timeout: Option<Spanned<String>>,
    max_body_bytes: Option<Spanned<i64>>,
    max_redirects: Option<Spanned<i64>>,
    host_interval: Option<Spanned<String>>,
    host_concurrency: Option<Spanned<i64>>,
    respect_robots: Option<Spanned<bool>>,
    unhealthy_after: Option<Spanned<i64>>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawSentiment {
    enabled: Option<Spanned<bool>>,
    model_dir: Option<Spanned<String>>,
    ort_dylib: Option<Spanned<String>>,
    head: Option<Spanned<String>>,
    max_tokens: Option<Spanned<i64>>,
    batch_size: Option<Spanned<i64>>,
    max_batch_tokens: Option<Spanned<i64>>,
    claim_size: Option<Spanned<i64>>,
    threads: Option<Spanned<i64>>,
    lease: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBrand {
    slug: Spanned<String>,
    name: Option<String>,
    terms: Spanned<Vec<Spanned<String>>>,
    #[serde(default)]
    exclude: Vec<Spanned<String>>,
    auto_approve: Option<Spanned<RawAutoApprove>>,
}

/// `auto_approve = { min_rating = 0.75, min_positive = 0.9 }` in a `[[brands]]` entry.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAutoApprove {
    min_rating: Option<f64>,
    min_positive: Option<f64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSource {
    name: Spanned<String>,
    kind: Spanned<String>,
    url: Spanned<String>,
    every: Option<Spanned<String>>,
    /// `recipe = { preset = "phpbb" }` or selectors, for forum and review sources.
    recipe: Option<Spanned<Recipe>>,
    host_interval: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAlertRule {
    brand: Spanned<String>,
    threshold: Option<Spanned<f64>>,
    sources: Option<Spanned<Vec<Spanned<String>>>>,
    languages: Option<Spanned<Vec<Spanned<String>>>>,
    channels: Option<Spanned<Vec<Spanned<String>>>>,
}

/// Where a value came from, for error messages.
#[derive(Clone)]
enum Origin<'a> {
    /// A byte span of the file.
    File(std::ops::Range<usize>),
    Env(&'a str),
}

/// Loads settings: the file at `path`, then environment overrides from `env`
/// (pass `std::env::vars()`; tests pass their own).
pub fn load(
    path: &Path,
    env: impl IntoIterator<Item = (String, String)>,
) -> Result<Settings, ConfigError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(ConfigError::Missing {
                path: path.to_owned(),
            })
        }
        Err(source) => {
            return Err(ConfigError::Read {
                path: path.to_owned(),
                source,
            })
        }
    };
    parse(path, &text, env)
}

/// The `[log]` settings from the environment alone (`EARSHOT__LOG__FORMAT`,
/// `EARSHOT__LOG__LEVEL`), for commands that log before they have a config file.
pub fn log_from_env(
    env: impl IntoIterator<Item = (String, String)>,
) -> Result<LogSettings, ConfigError> {
    Ok(parse(Path::new(DEFAULT_PATH), "", env)?.log)
}

/// Parses settings from config text (as if read from `path`) plus environment overrides.
pub fn parse(
    path: &Path,
    text: &str,
    env: impl IntoIterator<Item = (String, String)>,
) -> Result<Settings, ConfigError> {
    let located = |span: Option<std::ops::Range<usize>>, message: String| ConfigError::Invalid {
        path: path.to_owned(),
        line: span.map(|s| line_of(text, s.start)),
        message,
    };
    let raw: RawConfig =
        toml::from_str(text).map_err(|e| located(e.span(), e.message().to_owned()))?;
    let overrides: Vec<(String, String)> = env
        .into_iter()
        .filter(|(k, _)| k.starts_with("EARSHOT__"))
        .collect();
    let base_dir = path.parent().unwrap_or(Path::new("."));
    Validator {
        path,
        text,
        base_dir,
        overrides: &overrides,
    }
    .settings(raw)
}

struct Validator<'a> {
    path: &'a Path,
    text: &'a str,
    base_dir: &'a Path,
    overrides: &'a [(String, String)],
}

impl Validator<'_> {
    fn error(&self, origin: Origin<'_>, message: impl Into<String>) -> ConfigError {
        match origin {
            Origin::File(span) => ConfigError::Invalid {
                path: self.path.to_owned(),
                line: Some(line_of(self.text, span.start)),
                message: message.into(),
            },
            Origin::Env(var) => ConfigError::Env {
                var: var.to_owned(),
                message: message.into(),
            },
        }
    }

    /// The value of a setting: the environment's `EARSHOT__SECTION__KEY` if set, else the
    /// file's, with where it came from.
    fn setting<'s, T: Clone>(
        &'s self,
        section: &str,
        key: &str,
        from_file: &Option<Spanned<T>>,
        from_env: impl Fn(&str) -> Option<T>,
    ) -> Result<Option<(T, Origin<'s>)>, ConfigError> {
        let var = format!(
            "EARSHOT__{}__{}",
            section.to_uppercase(),
            key.to_uppercase()
        );
        if let Some((name, value)) = self.overrides.iter().find(|(k, _)| *k == var) {
            return match from_env(value) {
                Some(v) => Ok(Some((v, Origin::Env(name.as_str())))),
                None => Err(self.error(
                    Origin::Env(name.as_str()),
                    format!("{value:?} is not a valid {section}.{key}"),
                )),
            };
        }
        Ok(from_file
            .as_ref()
            .map(|s| (s.get_ref().clone(), Origin::File(s.span()))))
    }

    fn settings(&self, raw: RawConfig) -> Result<Settings, ConfigError> {
        for (k, _) in self.overrides {
            if !KNOWN_OVERRIDES.contains(&k.as_str()) {
                return Err(ConfigError::Env {
                    var: k.clone(),
                    message: format!(
                        "not a setting Earshot knows; known: {}",
                        KNOWN_OVERRIDES.join(", ")
                    ),
                });
            }
        }
        let text = |v: &str| Some(v.to_owned());

        let database = match self.setting("database", "url", &raw.database.url, text)? {
            Some((url, origin)) => self.database_url(&url, origin)?,
            None => self.database_url("sqlite://earshot.db", Origin::Env("(default)"))?,
        };
        let listen = match self.setting("server", "listen", &raw.server.listen, text)? {
            Some((addr, origin)) => addr.parse().map_err(|_| {
                self.error(
                    origin,
                    format!("listen address {addr:?} must be HOST:PORT, e.g. 127.0.0.1:8080"),
                )
            })?,
            None => SocketAddr::from(([127, 0, 0, 1], 8080)),
        };
        let shutdown_grace = self
            .duration("server", "shutdown_grace", &raw.server.shutdown_grace)?
            .unwrap_or(Duration::from_secs(30));

        let c = &raw.crawler;
        let defaults = FetchLimits::default();
        let concurrency = self.bounded("crawler", "concurrency", &c.concurrency, 1, 256, 8)?;
        let max_redirects = self.bounded("crawler", "max_redirects", &c.max_redirects, 0, 20, 5)?;
        let max_body = self.bounded(
            "crawler",
            "max_body_bytes",
            &c.max_body_bytes,
            1024,
            1 << 30,
            10 << 20,
        )?;
        let politeness_defaults = PolitenessLimits::default();
        let host_interval =
            match self.setting("crawler", "host_interval", &c.host_interval, |v| {
                Some(v.to_owned())
            })? {
                Some((v, origin)) => parse_host_interval(&v)
                    .map_err(|m| self.error(origin, format!("crawler.host_interval: {m}")))?,
                None => politeness_defaults.host_interval,
            };
        let host_concurrency =
            self.bounded("crawler", "host_concurrency", &c.host_concurrency, 1, 64, 1)?;
        let respect_robots = self
            .setting("crawler", "respect_robots", &c.respect_robots, bool_of)?
            .is_none_or(|(on, _)| on);
        let unhealthy_after =
            self.bounded("crawler", "unhealthy_after", &c.unhealthy_after, 1, 1000, 5)?;
        let crawler = CrawlerSettings {
            concurrency: concurrency as usize,
            tick: self
                .duration("crawler", "tick", &c.tick)?
                .unwrap_or(Duration::from_secs(5)),
            lease: self.duration("crawler", "lease", &c.lease)?,
            adaptive: self
                .setting("crawler", "adaptive", &c.adaptive, bool_of)?
                .is_some_and(|(on, _)| on),
            limits: FetchLimits {
                connect_timeout: self
                    .duration("crawler", "connect_timeout", &c.connect_timeout)?
                    .unwrap_or(defaults.connect_timeout),
                total_timeout: self
                    .duration("crawler", "timeout", &c.timeout)?
                    .unwrap_or(defaults.total_timeout),
                max_body_bytes: max_body as u64,
                max_redirects: max_redirects as usize,
                politeness: PolitenessLimits {
                    host_interval,
                    host_concurrency: host_concurrency as usize,
                    respect_robots,
                    ..politeness_defaults
                },
            },
            unhealthy_after: UnhealthyAfter::new(unhealthy_after as u32)
                .expect("bounded to 1..=1000 above"),
        };

        let log = self.log(&raw.log)?;
        let sentiment = self.sentiment(&raw.sentiment)?;
        let brands = self.brands(raw.brands)?;
        let sources = self.sources(raw.sources)?;
        let channels = self.channels(raw.channels)?;
        let alert_rules = self.alert_rules(raw.alert_rules, &brands, &sources, &channels)?;
        let notifications = self.notifications(&raw.notifications)?;
        let spikes = self.spikes(&raw.spikes)?;
        Ok(Settings {
            path: self.path.to_owned(),
            database,
            listen,
            shutdown_grace,
            crawler,
            sentiment,
            brands,
            sources,
            alert_rules,
            spikes,
            log,
            channels,
            notifications,
        })
    }

    fn notifications(&self, raw: &RawNotifications) -> Result<NotificationSettings, ConfigError> {
        let short = |key: &str, value: &Option<Spanned<String>>, default: Duration| match self
            .setting("notifications", key, value, |v| Some(v.to_owned()))?
        {
            Some((v, origin)) => parse_short_duration(&v)
                .map_err(|m| self.error(origin, format!("notifications.{key}: {m}"))),
            None => Ok(default),
        };
        let defaults = RetryPolicy::DEFAULT;
        let base = short("backoff", &raw.backoff, defaults.base)?;
        let max_delay = short("max_backoff", &raw.max_backoff, defaults.max_delay)?;
        if max_delay < base {
            let at = raw.max_backoff.as_ref().or(raw.backoff.as_ref());
            return Err(self.error(
                at.map_or(Origin::Env("EARSHOT__NOTIFICATIONS__MAX_BACKOFF"), |s| {
                    Origin::File(s.span())
                }),
                "notifications.max_backoff must not be shorter than notifications.backoff",
            ));
        }
        Ok(NotificationSettings {
            tick: short("tick", &raw.tick, Duration::from_secs(2))?,
            timeout: short("timeout", &raw.timeout, Duration::from_secs(10))?,
            concurrency: self.bounded("notifications", "concurrency", &raw.concurrency, 1, 64, 4)?
                as usize,
            retry: RetryPolicy {
                max_attempts: self.bounded(
                    "notifications",
                    "max_attempts",
                    &raw.max_attempts,
                    1,
                    100,
                    i64::from(defaults.max_attempts),
                )? as u32,
                base,
                max_delay,
            },
        })
    }

    /// Channels: each kind takes its own keys, and refuses the others', so a webhook
    /// without its secret or a Slack channel with an SMTP host is caught at start-up.
    fn channels(&self, raw: Vec<RawChannel>) -> Result<Vec<Channel>, ConfigError> {
        let mut out: Vec<Channel> = Vec::new();
        for c in raw {
            let at = |s: &Spanned<String>| Origin::File(s.span());
            let name =
                ChannelName::parse(c.name.get_ref()).map_err(|e| self.error(at(&c.name), e.0))?;
            if out.iter().any(|o| o.name == name) {
                return Err(self.error(at(&c.name), format!("channel {name} is defined twice")));
            }
            let kind_word = c.kind.get_ref().trim().to_ascii_lowercase();
            let article = if kind_word == "email" { "an" } else { "a" };
            let allowed: &[&str] = match kind_word.as_str() {
                "webhook" => &["url", "secret", "digest"],
                "slack" => &["url", "digest"],
                "email" => &[
                    "smtp_host",
                    "smtp_port",
                    "from",
                    "to",
                    "username",
                    "password",
                    "starttls",
                    "digest",
                ],
                other => {
                    return Err(self.error(
                        at(&c.kind),
                        format!("channel {name}: kind {other:?} must be webhook, slack or email"),
                    ))
                }
            };
            let present: [(&str, Option<std::ops::Range<usize>>); 9] = [
                ("url", c.url.as_ref().map(|s| s.span())),
                ("secret", c.secret.as_ref().map(|s| s.span())),
                ("smtp_host", c.smtp_host.as_ref().map(|s| s.span())),
                ("smtp_port", c.smtp_port.as_ref().map(|s| s.span())),
                ("from", c.from.as_ref().map(|s| s.span())),
                ("to", c.to.as_ref().map(|s| s.span())),
                ("username", c.username.as_ref().map(|s| s.span())),
                ("password", c.password.as_ref().map(|s| s.span())),
                ("starttls", c.starttls.as_ref().map(|s| s.span())),
            ];
            for (key, span) in present {
                if let (Some(span), false) = (span, allowed.contains(&key)) {
                    return Err(self.error(
                        Origin::File(span),
                        format!("channel {name}: {article} {kind_word} channel takes no {key}"),
                    ));
                }
            }
            let missing = |key: &str| {
                self.error(
                    at(&c.name),
                    format!("channel {name}: {article} {kind_word} channel needs {key}"),
                )
            };
            let url = |raw: &Option<Spanned<String>>| -> Result<url::Url, ConfigError> {
                let raw = raw.as_ref().ok_or_else(|| missing("url"))?;
                match url::Url::parse(raw.get_ref().trim()) {
                    Ok(u) if matches!(u.scheme(), "http" | "https") && u.has_host() => Ok(u),
                    _ => Err(self.error(
                        at(raw),
                        format!(
                            "channel {name}: url {:?} must be an http:// or https:// URL",
                            raw.get_ref()
                        ),
                    )),
                }
            };
            let kind = match kind_word.as_str() {
                "webhook" => {
                    let secret = c.secret.as_ref().ok_or_else(|| missing("secret"))?;
                    if secret.get_ref().len() < 16 {
                        return Err(self.error(
                            at(secret),
                            format!("channel {name}: secret must be at least 16 characters"),
                        ));
                    }
                    ChannelKind::Webhook {
                        url: url(&c.url)?,
                        secret: Secret::new(secret.get_ref().clone()),
                    }
                }
                "slack" => ChannelKind::Slack { url: url(&c.url)? },
                _ => {
                    let host = c.smtp_host.as_ref().ok_or_else(|| missing("smtp_host"))?;
                    if host.get_ref().trim().is_empty() {
                        return Err(missing("smtp_host"));
                    }
                    let port = match &c.smtp_port {
                        Some(p) => u16::try_from(*p.get_ref())
                            .ok()
                            .filter(|p| *p > 0)
                            .ok_or_else(|| {
                                self.error(
                                    Origin::File(p.span()),
                                    format!("channel {name}: smtp_port must be from 1 to 65535"),
                                )
                            })?,
                        None => 25,
                    };
                    let mailbox = |raw: &Spanned<String>, key: &str| {
                        earshot_notify::check_mailbox(raw.get_ref()).map_err(|e| {
                            self.error(
                                at(raw),
                                format!("channel {name}: {key} {:?}: {e}", raw.get_ref()),
                            )
                        })
                    };
                    let from = c.from.as_ref().ok_or_else(|| missing("from"))?;
                    mailbox(from, "from")?;
                    let to = c.to.as_ref().ok_or_else(|| missing("to"))?;
                    if to.get_ref().is_empty() {
                        return Err(self.error(
                            Origin::File(to.span()),
                            format!("channel {name}: to must name at least one address"),
                        ));
                    }
                    for t in to.get_ref() {
                        mailbox(t, "to")?;
                    }
                    if c.username.is_some() != c.password.is_some() {
                        return Err(missing("both username and password, or neither"));
                    }
                    ChannelKind::Email(SmtpTarget {
                        host: host.get_ref().trim().to_owned(),
                        port,
                        from: from.get_ref().trim().to_owned(),
                        to: to
                            .get_ref()
                            .iter()
                            .map(|t| t.get_ref().trim().to_owned())
                            .collect(),
                        username: c.username.as_ref().map(|u| u.get_ref().clone()),
                        password: c
                            .password
                            .as_ref()
                            .map(|p| Secret::new(p.get_ref().clone())),
                        starttls: c.starttls.as_ref().is_some_and(|t| *t.get_ref()),
                    })
                }
            };
            let digest = match &c.digest {
                Some(d) => Some(
                    parse_duration(d.get_ref())
                        .map_err(|m| self.error(at(d), format!("channel {name}: digest: {m}")))?,
                ),
                None => None,
            };
            out.push(Channel { name, kind, digest });
        }
        Ok(out)
    }

    fn log(&self, raw: &RawLog) -> Result<LogSettings, ConfigError> {
        let text = |v: &str| Some(v.to_owned());
        let format = match self.setting("log", "format", &raw.format, text)? {
            Some((v, origin)) => LogFormat::parse(&v).ok_or_else(|| {
                self.error(
                    origin,
                    format!("log.format {v:?} must be \"text\" or \"json\""),
                )
            })?,
            None => LogFormat::Text,
        };
        let level = match self.setting("log", "level", &raw.level, text)? {
            Some((v, origin)) => Some(LogLevel::parse(&v).ok_or_else(|| {
                self.error(
                    origin,
                    format!("log.level {v:?} must be error, warn, info, debug or trace"),
                )
            })?),
            None => None,
        };
        Ok(LogSettings { format, level })
    }

    fn spikes(&self, raw: &RawSpikes) -> Result<SpikeSettings, ConfigError> {
        let enabled = self
            .setting("spikes", "enabled", &raw.enabled, bool_of)?
            .is_none_or(|(on, _)| on);
        let defaults = SpikeRule::DEFAULT;
        let k = self.setting("spikes", "k", &raw.k, |v| v.trim().parse::<f64>().ok())?;
        let min_count = self.bounded(
            "spikes",
            "min_count",
            &raw.min_count,
            1,
            1_000_000,
            i64::from(defaults.min_count()),
        )?;
        let cooldown = self.setting("spikes", "cooldown", &raw.cooldown, |v| Some(v.to_owned()))?;
        // Each value is checked by SpikeRule::new; an error names the one at fault.
        let (k_value, k_origin) = k.map_or((defaults.k(), None), |(v, o)| (v, Some(o)));
        let (cooldown_value, cooldown_origin) = match cooldown {
            Some((v, origin)) => (
                parse_duration(&v)
                    .map_err(|m| self.error(origin.clone(), format!("spikes.cooldown: {m}")))?,
                Some(origin),
            ),
            None => (defaults.cooldown(), None),
        };
        let rule = SpikeRule::new(k_value, min_count as u32, defaults.cooldown())
            .map_err(|e| self.error_at(k_origin, format!("spikes.{e}")))?;
        let rule = SpikeRule::new(rule.k(), rule.min_count(), cooldown_value)
            .map_err(|e| self.error_at(cooldown_origin, format!("spikes.{e}")))?;
        let every = self
            .duration("spikes", "every", &raw.every)?
            .unwrap_or(Duration::from_secs(60));
        Ok(SpikeSettings {
            enabled,
            rule,
            every,
        })
    }

    /// An error at `origin`, or without a place when the value was a default.
    fn error_at(&self, origin: Option<Origin<'_>>, message: String) -> ConfigError {
        self.error(origin.unwrap_or(Origin::Env("(default)")), message)
    }

    fn sentiment(&self, raw: &RawSentiment) -> Result<SentimentSettings, ConfigError> {
        let path_of = |v: &str| Some(v.to_owned());
        let enabled = self
            .setting("sentiment", "enabled", &raw.enabled, bool_of)?
            .is_none_or(|(on, _)| on);
        let model_dir = match self.setting("sentiment", "model_dir", &raw.model_dir, path_of)? {
            Some((dir, _)) => self.base_dir.join(dir),
            None => earshot_sentiment::default_model_dir()
                .unwrap_or_else(|| PathBuf::from(earshot_sentiment::DEFAULT_MODEL_NAME)),
        };
        let ort_dylib = self
            .setting("sentiment", "ort_dylib", &raw.ort_dylib, path_of)?
            .map(|(p, _)| self.base_dir.join(p));
        let head_setting = self.setting("sentiment", "head", &raw.head, path_of)?;
        let head_from_config = head_setting.is_some();
        let head = match head_setting {
            None => earshot_sentiment::HeadChoice::Shipped,
            Some((p, _)) if p.trim() == "builtin" => earshot_sentiment::HeadChoice::Builtin,
            Some((p, _)) => earshot_sentiment::HeadChoice::File(self.base_dir.join(p)),
        };
        Ok(SentimentSettings {
            enabled,
            model_dir,
            ort_dylib,
            head,
            head_from_config,
            max_tokens: self.bounded("sentiment", "max_tokens", &raw.max_tokens, 8, 512, 256)?
                as usize,
            batch_size: self.bounded("sentiment", "batch_size", &raw.batch_size, 1, 1024, 32)?
                as usize,
            max_batch_tokens: self.bounded(
                "sentiment",
                "max_batch_tokens",
                &raw.max_batch_tokens,
                64,
                1 << 20,
                4096,
            )? as usize,
            claim_size: self.bounded("sentiment", "claim_size", &raw.claim_size, 1, 10_000, 256)?
                as usize,
            threads: self.bounded("sentiment", "threads", &raw.threads, 1, 64, 2)? as usize,
            lease: self
                .duration("sentiment", "lease", &raw.lease)?
                .unwrap_or(earshot_sentiment::worker::Worker::DEFAULT_LEASE),
        })
    }

    fn bounded(
        &self,
        section: &str,
        key: &str,
        raw: &Option<Spanned<i64>>,
        min: i64,
        max: i64,
        default: i64,
    ) -> Result<i64, ConfigError> {
        match self.setting(section, key, raw, |v| v.trim().parse::<i64>().ok())? {
            Some((n, _)) if (min..=max).contains(&n) => Ok(n),
            Some((n, origin)) => Err(self.error(
                origin,
                format!("{section}.{key} = {n} must be from {min} to {max}"),
            )),
            None => Ok(default),
        }
    }

    fn duration(
        &self,
        section: &str,
        key: &str,
        raw: &Option<Spanned<String>>,
    ) -> Result<Option<Duration>, ConfigError> {
        match self.setting(section, key, raw, |v| Some(v.to_owned()))? {
            Some((v, origin)) => parse_duration(&v)
                .map(Some)
                .map_err(|m| self.error(origin, format!("{section}.{key}: {m}"))),
            None => Ok(None),
        }
    }

    /// A relative SQLite path is taken relative to the config file, so the database sits
    /// next to it whatever the working directory.
    fn database_url(&self, url: &str, origin: Origin<'_>) -> Result<DatabaseUrl, ConfigError> {
        if let Some(rest) = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
        {
            let (file, params) = rest
                .split_once('?')
                .map_or((rest, None), |(f, p)| (f, Some(p)));
            if file.is_empty() {
                return Err(self.error(
                    origin,
                    "database.url sqlite:// needs a file path, e.g. sqlite://earshot.db",
                ));
            }
            if file == ":memory:" || Path::new(file).is_absolute() {
                return Ok(DatabaseUrl(url.to_owned()));
            }
            let abs = self.base_dir.join(file);
            let abs = if abs.is_absolute() {
                abs
            } else {
                std::env::current_dir().map(|d| d.join(&abs)).unwrap_or(abs)
            };
            let mut out = format!("sqlite://{}", abs.display());
            if let Some(p) = params {
                out.push('?');
                out.push_str(p);
            }
            return Ok(DatabaseUrl(out));
        }
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(DatabaseUrl(url.to_owned()));
        }
        Err(self.error(
            origin,
            format!(
                "database.url {:?} must start with sqlite:// or postgres://",
                earshot_store::redact(url)
            ),
        ))
    }

    fn brands(&self, raw: Vec<RawBrand>) -> Result<Vec<Brand>, ConfigError> {
        let mut out: Vec<Brand> = Vec::new();
        for b in raw {
            let at = |s: &Spanned<String>| Origin::File(s.span());
            let slug =
                BrandSlug::parse(b.slug.get_ref()).map_err(|e| self.error(at(&b.slug), e.0))?;
            if out.iter().any(|o| o.slug == slug) {
                return Err(self.error(at(&b.slug), format!("brand {slug} is defined twice")));
            }
            let terms = b
                .terms
                .get_ref()
                .iter()
                .map(|t| BrandTerm::parse(t.get_ref()).map_err(|e| self.error(at(t), e.0)))
                .collect::<Result<Vec<_>, _>>()?;
            let exclude = b
                .exclude
                .iter()
                .map(|t| BrandTerm::parse(t.get_ref()).map_err(|e| self.error(at(t), e.0)))
                .collect::<Result<Vec<_>, _>>()?;
            let name = b.name.unwrap_or_else(|| slug.to_string());
            let mut brand = Brand::new(slug, name, terms, exclude)
                .map_err(|e| self.error(Origin::File(b.terms.span()), e.0))?;
            if let Some(rule) = &b.auto_approve {
                let raw = rule.get_ref();
                brand.auto_approve = Some(
                    AutoApprove::new(raw.min_rating, raw.min_positive)
                        .map_err(|e| self.error(Origin::File(rule.span()), e.0))?,
                );
            }
            out.push(brand);
        }
        Ok(out)
    }

    fn sources(&self, raw: Vec<RawSource>) -> Result<Vec<Source>, ConfigError> {
        let mut out: Vec<Source> = Vec::new();
        for s in raw {
            let at = |v: &Spanned<String>| Origin::File(v.span());
            let name =
                SourceName::parse(s.name.get_ref()).map_err(|e| self.error(at(&s.name), e.0))?;
            if out.iter().any(|o| o.name == name) {
                return Err(self.error(at(&s.name), format!("source {name} is defined twice")));
            }
            let kind =
                SourceKind::parse(s.kind.get_ref()).map_err(|e| self.error(at(&s.kind), e.0))?;
            let url = SourceUrl::parse(s.url.get_ref()).map_err(|e| self.error(at(&s.url), e.0))?;
            let every = match &s.every {
                Some(e) => parse_duration(e.get_ref())
                    .map_err(|m| self.error(at(e), format!("every: {m}")))?,
                None => Duration::from_secs(30 * 60),
            };
            let host_interval = match &s.host_interval {
                Some(e) => Some(humantime::parse_duration(e.get_ref().trim()).map_err(|_| {
                    self.error(
                        at(e),
                        format!(
                            "host_interval: {:?} is not a duration such as 500ms, 2s or 1m",
                            e.get_ref()
                        ),
                    )
                })?),
                None => None,
            };
            let source = Source {
                name,
                kind,
                url,
                every,
                recipe: s.recipe.as_ref().map(|r| r.get_ref().clone()),
                host_interval,
            };
            source.check().map_err(|e| self.error(at(&s.name), e.0))?;
            if let (Some(recipe), Some(raw)) = (&source.recipe, &s.recipe) {
                earshot_crawler::forum::CompiledRecipe::new(recipe).map_err(|e| {
                    self.error(
                        Origin::File(raw.span()),
                        format!("source {}: {e}", source.name),
                    )
                })?;
            }
            out.push(source);
        }
        Ok(out)
    }

    /// Alert rules must name a brand and sources defined in the same file, so a typo is
    /// caught at start-up rather than silently matching nothing.
    fn alert_rules(
        &self,
        raw: Vec<RawAlertRule>,
        brands: &[Brand],
        sources: &[Source],
        channels: &[Channel],
    ) -> Result<Vec<AlertRuleSpec>, ConfigError> {
        let mut out: Vec<AlertRuleSpec> = Vec::new();
        for r in raw {
            let at = |s: &Spanned<String>| Origin::File(s.span());
            let brand =
                BrandSlug::parse(r.brand.get_ref()).map_err(|e| self.error(at(&r.brand), e.0))?;
            if !brands.iter().any(|b| b.slug == brand) {
                return Err(self.error(
                    at(&r.brand),
                    format!("alert rule for brand {brand}, which no [[brands]] entry defines"),
                ));
            }
            let threshold = match &r.threshold {
                Some(t) => Threshold::new(*t.get_ref())
                    .map_err(|e| self.error(Origin::File(t.span()), e.0))?,
                None => Threshold::DEFAULT,
            };
            let source_names = r
                .sources
                .as_ref()
                .map(|list| {
                    list.get_ref()
                        .iter()
                        .map(|n| {
                            let name = SourceName::parse(n.get_ref())
                                .map_err(|e| self.error(at(n), e.0))?;
                            if !sources.iter().any(|s| s.name == name) {
                                return Err(self.error(
                                    at(n),
                                    format!("alert rule names source {name}, which no [[sources]] entry defines"),
                                ));
                            }
                            Ok(name)
                        })
                        .collect::<Result<Vec<_>, _>>()
                })
                .transpose()?;
            let languages = r
                .languages
                .as_ref()
                .map(|list| {
                    list.get_ref()
                        .iter()
                        .map(|l| {
                            LanguageCode::parse(l.get_ref()).map_err(|e| self.error(at(l), e.0))
                        })
                        .collect::<Result<Vec<_>, _>>()
                })
                .transpose()?;
            let whole = r
                .sources
                .as_ref()
                .map(|s| s.span())
                .or(r.languages.as_ref().map(|l| l.span()))
                .unwrap_or(r.brand.span());
            let channel_names = r
                .channels
                .as_ref()
                .map(|list| {
                    list.get_ref()
                        .iter()
                        .map(|n| {
                            let name = ChannelName::parse(n.get_ref())
                                .map_err(|e| self.error(at(n), e.0))?;
                            if !channels.iter().any(|c| c.name == name) {
                                return Err(self.error(
                                    at(n),
                                    format!("alert rule names channel {name}, which no [[channels]] entry defines"),
                                ));
                            }
                            Ok(name)
                        })
                        .collect::<Result<Vec<_>, _>>()
                })
                .transpose()?
                .unwrap_or_default();
            let rule = AlertRuleSpec::new(brand, threshold, source_names, languages)
                .map_err(|e| self.error(Origin::File(whole.clone()), e.0))?
                .with_channels(channel_names);
            if out.contains(&rule) {
                return Err(self.error(
                    Origin::File(r.brand.span()),
                    "this alert rule is defined twice",
                ));
            }
            out.push(rule);
        }
        Ok(out)
    }
}

/// The environment variables that override settings.
pub const KNOWN_OVERRIDES: &[&str] = &[
    "EARSHOT__DATABASE__URL",
    "EARSHOT__SERVER__LISTEN",
    "EARSHOT__SERVER__SHUTDOWN_GRACE",
    "EARSHOT__CRAWLER__CONCURRENCY",
    "EARSHOT__CRAWLER__TICK",
    "EARSHOT__CRAWLER__ADAPTIVE",
    "EARSHOT__CRAWLER__LEASE",
    "EARSHOT__CRAWLER__TIMEOUT",
    "EARSHOT__CRAWLER__CONNECT_TIMEOUT",
    "EARSHOT__CRAWLER__MAX_BODY_BYTES",
    "EARSHOT__CRAWLER__MAX_REDIRECTS",
    "EARSHOT__CRAWLER__HOST_INTERVAL",
    "EARSHOT__CRAWLER__HOST_CONCURRENCY",
    "EARSHOT__CRAWLER__RESPECT_ROBOTS",
    "EARSHOT__CRAWLER__UNHEALTHY_AFTER",
    "EARSHOT__SENTIMENT__ENABLED",
    "EARSHOT__SENTIMENT__MODEL_DIR",
    "EARSHOT__SENTIMENT__ORT_DYLIB",
    "EARSHOT__SENTIMENT__HEAD",
    "EARSHOT__SENTIMENT__MAX_TOKENS",
    "EARSHOT__SENTIMENT__BATCH_SIZE",
    "EARSHOT__SENTIMENT__MAX_BATCH_TOKENS",
    "EARSHOT__SENTIMENT__CLAIM_SIZE",
    "EARSHOT__SENTIMENT__THREADS",
    "EARSHOT__SENTIMENT__LEASE",
    "EARSHOT__SPIKES__ENABLED",
    "EARSHOT__SPIKES__K",
    "EARSHOT__SPIKES__MIN_COUNT",
    "EARSHOT__SPIKES__COOLDOWN",
    "EARSHOT__SPIKES__EVERY",
    "EARSHOT__LOG__FORMAT",
    "EARSHOT__LOG__LEVEL",
    "EARSHOT__NOTIFICATIONS__TICK",
    "EARSHOT__NOTIFICATIONS__TIMEOUT",
    "EARSHOT__NOTIFICATIONS__CONCURRENCY",
    "EARSHOT__NOTIFICATIONS__MAX_ATTEMPTS",
    "EARSHOT__NOTIFICATIONS__BACKOFF",
    "EARSHOT__NOTIFICATIONS__MAX_BACKOFF",
];

/// `30m`, `1h 30m`, `45s`, `1d`: at least one second.
fn parse_duration(raw: &str) -> Result<Duration, String> {
    let d = humantime::parse_duration(raw.trim())
        .map_err(|_| format!("{raw:?} is not a duration such as 30s, 15m, 2h or 1d"))?;
    if d < Duration::from_secs(1) {
        return Err(format!("{raw:?} is shorter than one second"));
    }
    Ok(d)
}

/// `[notifications]` durations: `2s`, `250ms`, `1h`; from 10 ms to a day.
fn parse_short_duration(raw: &str) -> Result<Duration, String> {
    let d = humantime::parse_duration(raw.trim())
        .map_err(|_| format!("{raw:?} is not a duration such as 500ms, 30s or 1h"))?;
    if d < Duration::from_millis(10) || d > Duration::from_secs(86_400) {
        return Err(format!("{raw:?} must be from 10ms to 1d"));
    }
    Ok(d)
}

/// A boolean from an environment variable: `true`/`false`, `1`/`0`, `yes`/`no`, `on`/`off`.
fn bool_of(v: &str) -> Option<bool> {
    match v.trim() {
        "true" | "1" | "yes" | "on" => Some(true),
        "false" | "0" | "no" | "off" => Some(false),
        _ => None,
    }
}

/// `crawler.host_interval`: `1s`, `250ms`, `2m`, or `0s` (no per-host wait, for sites
/// that are yours); at most an hour.
fn parse_host_interval(raw: &str) -> Result<Duration, String> {
    let d = humantime::parse_duration(raw.trim())
        .map_err(|_| format!("{raw:?} is not a duration such as 1s, 500ms or 0s"))?;
    if d > Duration::from_secs(3600) {
        return Err(format!("{raw:?} is longer than an hour"));
    }
    Ok(d)
}

/// The 1-based line holding byte `offset`.
fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
        + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
[database]
url = "sqlite://data/earshot.db"

[[brands]]
slug = "acme"
name = "Acme"
terms = ["Acme", "Акме"]
exclude = ["Acme Road Runner"]

[[sources]]
name = "forum"
kind = "feed"
url = "https://example.org/feed.xml"
every = "15m"
"#;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn the_head_is_the_shipped_one_unless_the_config_names_another() {
        use earshot_sentiment::HeadChoice;
        let path = Path::new("/etc/earshot/earshot.toml");
        let head_of = |extra: &str, vars: &[(&str, &str)]| {
            parse(path, &format!("{GOOD}\n{extra}"), env(vars))
                .unwrap()
                .sentiment
                .head
        };
        assert_eq!(head_of("", &[]), HeadChoice::Shipped);
        assert_eq!(
            head_of("[sentiment]\nhead = \"builtin\"", &[]),
            HeadChoice::Builtin
        );
        assert_eq!(
            head_of("[sentiment]\nhead = \"heads/ours.json\"", &[]),
            HeadChoice::File(PathBuf::from("/etc/earshot/heads/ours.json"))
        );
        assert_eq!(
            head_of("", &[("EARSHOT__SENTIMENT__HEAD", "/srv/h.json")]),
            HeadChoice::File(PathBuf::from("/srv/h.json"))
        );
    }

    #[test]
    fn only_a_named_head_counts_as_set_by_the_config() {
        let path = Path::new("/etc/earshot/earshot.toml");
        let named = |extra: &str, vars: &[(&str, &str)]| {
            parse(path, &format!("{GOOD}\n{extra}"), env(vars))
                .unwrap()
                .sentiment
                .head_from_config
        };
        assert!(!named("", &[]));
        assert!(named("[sentiment]\nhead = \"builtin\"", &[]));
        assert!(named("", &[("EARSHOT__SENTIMENT__HEAD", "/srv/h.json")]));
    }

    #[test]
    fn spikes_and_source_health_have_defaults_the_file_and_the_environment_can_change() {
        let path = Path::new("/etc/earshot/earshot.toml");
        let of = |extra: &str, vars: &[(&str, &str)]| {
            parse(path, &format!("{GOOD}\n{extra}"), env(vars))
        };
        let s = of("", &[]).unwrap();
        assert!(s.spikes.enabled);
        assert_eq!(s.spikes.rule, SpikeRule::DEFAULT);
        assert_eq!(s.spikes.every, Duration::from_secs(60));
        assert_eq!(s.crawler.unhealthy_after, UnhealthyAfter::DEFAULT);
        let s = of(
            "[spikes]\nk = 2.5\nmin_count = 10\ncooldown = \"12h\"\nenabled = false",
            &[("EARSHOT__CRAWLER__UNHEALTHY_AFTER", "3")],
        )
        .unwrap();
        assert!(!s.spikes.enabled);
        assert_eq!(
            s.spikes.rule,
            SpikeRule::new(2.5, 10, Duration::from_secs(12 * 3600)).unwrap()
        );
        assert_eq!(s.crawler.unhealthy_after.failures(), 3);
        let s = of(
            "",
            &[
                ("EARSHOT__SPIKES__K", "4"),
                ("EARSHOT__SPIKES__COOLDOWN", "1d"),
            ],
        )
        .unwrap();
        assert_eq!(
            (s.spikes.rule.k(), s.spikes.rule.cooldown()),
            (4.0, Duration::from_secs(86400))
        );

        let err = |extra: &str, vars: &[(&str, &str)]| of(extra, vars).unwrap_err().to_string();
        assert!(
            err("[spikes]\nk = 0.0", &[]).contains("spikes.k = 0 must be"),
            "{}",
            err("[spikes]\nk = 0.0", &[])
        );
        let e = err("[spikes]\ncooldown = \"90m\"", &[]);
        assert!(
            e.contains("line 18: spikes.cooldown = 5400s must be whole hours"),
            "{e}"
        );
        assert!(err("[spikes]\nmin_count = 0", &[]).contains("spikes.min_count = 0 must be from 1"));
        assert!(err("", &[("EARSHOT__SPIKES__K", "x")]).contains("EARSHOT__SPIKES__K"));
        assert!(err("[crawler]\nunhealthy_after = 0", &[]).contains("crawler.unhealthy_after = 0"));
    }

    fn error_of(text: &str) -> String {
        parse(Path::new("/etc/earshot/earshot.toml"), text, env(&[]))
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn a_good_file_becomes_typed_settings_with_defaults() {
        let s = parse(Path::new("/etc/earshot/earshot.toml"), GOOD, env(&[])).unwrap();
        assert_eq!(s.database.expose(), "sqlite:///etc/earshot/data/earshot.db");
        assert_eq!(s.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(s.brands[0].terms.len(), 2);
        assert_eq!(s.sources[0].every, Duration::from_secs(900));
        assert_eq!(s.crawler.limits.max_body_bytes, 10 * 1024 * 1024);
        assert_eq!(s.crawler.limits.max_redirects, 5);
        let polite = &s.crawler.limits.politeness;
        assert_eq!(polite.host_interval, Duration::from_secs(1));
        assert_eq!(polite.host_concurrency, 1);
        assert!(polite.respect_robots);
    }

    #[test]
    fn politeness_is_configured_in_the_crawler_section_or_the_environment() {
        let path = Path::new("e.toml");
        let with = |extra: &str| format!("[crawler]\n{extra}\n{GOOD}");
        let s = parse(
            path,
            &with("host_interval = \"250ms\"\nhost_concurrency = 2\nrespect_robots = false"),
            env(&[]),
        )
        .unwrap();
        let polite = &s.crawler.limits.politeness;
        assert_eq!(polite.host_interval, Duration::from_millis(250));
        assert_eq!(polite.host_concurrency, 2);
        assert!(!polite.respect_robots);

        let s = parse(path, &with("host_interval = \"0s\""), env(&[])).unwrap();
        assert_eq!(s.crawler.limits.politeness.host_interval, Duration::ZERO);

        let s = parse(
            path,
            GOOD,
            env(&[
                ("EARSHOT__CRAWLER__HOST_INTERVAL", "3s"),
                ("EARSHOT__CRAWLER__HOST_CONCURRENCY", "4"),
                ("EARSHOT__CRAWLER__RESPECT_ROBOTS", "off"),
            ]),
        )
        .unwrap();
        let polite = &s.crawler.limits.politeness;
        assert_eq!(polite.host_interval, Duration::from_secs(3));
        assert_eq!(polite.host_concurrency, 4);
        assert!(!polite.respect_robots);

        let e = error_of(&with("host_interval = \"often\""));
        assert!(
            e.contains("line 2") && e.contains("crawler.host_interval"),
            "{e}"
        );
        let e = error_of(&with("host_interval = \"2h\""));
        assert!(e.contains("longer than an hour"), "{e}");
        let e = error_of(&with("host_concurrency = 0"));
        assert!(
            e.contains("crawler.host_concurrency = 0 must be from 1 to 64"),
            "{e}"
        );
        let e = error_of(&with("respect_robots = \"maybe\""));
        assert!(e.contains("line 2"), "{e}");
    }

    #[test]
    fn errors_name_the_file_the_line_and_the_problem() {
        let bad_slug = GOOD.replace("slug = \"acme\"", "slug = \"Acme Inc\"");
        let e = error_of(&bad_slug);
        assert!(
            e.starts_with("/etc/earshot/earshot.toml line 6: brand slug"),
            "{e}"
        );

        let bad_every = GOOD.replace("\"15m\"", "\"fortnightly\"");
        let e = error_of(&bad_every);
        assert!(e.contains("line 15") && e.contains("not a duration"), "{e}");

        let typo = GOOD.replace("kind = \"feed\"", "kind = \"feed\"\nintervall = \"5m\"");
        let e = error_of(&typo);
        assert!(e.contains("line 14") && e.contains("intervall"), "{e}");

        let syntax = GOOD.replace("terms = [", "terms = ");
        assert!(
            error_of(&syntax).contains("line 8"),
            "{}",
            error_of(&syntax)
        );

        let forum_without_recipe = GOOD.replace("kind = \"feed\"", "kind = \"forum\"");
        assert!(
            error_of(&forum_without_recipe)
                .contains("line 12: source forum: a forum needs a recipe"),
            "{}",
            error_of(&forum_without_recipe)
        );
        let bad_recipe = GOOD.replace(
            "kind = \"feed\"",
            "kind = \"forum\"\nrecipe = { preset = \"phpbb\", posts = \"div\" }",
        );
        assert!(
            error_of(&bad_recipe).contains("unknown field `posts`"),
            "{}",
            error_of(&bad_recipe)
        );
        let bad_kind = GOOD.replace("kind = \"feed\"", "kind = \"usenet\"");
        assert!(error_of(&bad_kind).contains("line 13: unknown source kind"));

        let dup = format!(
            "{GOOD}\n[[sources]]\nname = \"forum\"\nkind = \"feed\"\nurl = \"https://a.test/\"\n"
        );
        assert!(
            error_of(&dup).contains("line 18: source forum is defined twice"),
            "{}",
            error_of(&dup)
        );

        let no_terms = GOOD.replace("terms = [\"Acme\", \"Акме\"]", "terms = []");
        assert!(error_of(&no_terms).contains("needs at least one term"));
    }

    const CHANNELS: &str = r#"
[[channels]]
name = "ops-hook"
kind = "webhook"
url = "https://hooks.acme.test/earshot"
secret = "0123456789abcdef-secret"

[[channels]]
name = "pr-slack"
kind = "slack"
url = "https://hooks.slack.test/T0/B0/x"
digest = "15m"

[[channels]]
name = "pr-mail"
kind = "email"
smtp_host = "127.0.0.1"
smtp_port = 2525
starttls = true
from = "Earshot <earshot@acme.test>"
to = ["pr@acme.test"]

[[alert_rules]]
brand = "acme"
channels = ["pr-slack", "pr-mail"]
"#;

    #[test]
    fn channels_and_the_rules_that_name_them_are_typed_and_checked() {
        let path = Path::new("/etc/earshot/earshot.toml");
        let s = parse(path, &format!("{GOOD}{CHANNELS}"), env(&[])).unwrap();
        assert_eq!(s.channels.len(), 3);
        assert_eq!(s.channels[1].digest, Some(Duration::from_secs(900)));
        assert!(
            matches!(&s.channels[2].kind, ChannelKind::Email(t) if t.starttls && t.port == 2525)
        );
        assert!(
            !format!("{:?}", s.channels[0]).contains("0123456789abcdef"),
            "the secret is redacted in Debug"
        );
        let names: Vec<&str> = s.alert_rules[0]
            .channels
            .iter()
            .map(|c| c.as_str())
            .collect();
        assert_eq!(names, ["pr-slack", "pr-mail"]);
        assert_eq!(s.notifications.retry, RetryPolicy::DEFAULT);

        let line_of_error =
            |from: &str, to: &str| error_of(&format!("{GOOD}{}", CHANNELS.replace(from, to)));
        let first = GOOD.lines().count();
        let e = line_of_error("secret = \"0123456789abcdef-secret\"\n", "");
        assert!(
            e.contains(&format!(
                "line {}: channel ops-hook: a webhook channel needs secret",
                first + 3
            )),
            "{e}"
        );
        let e = line_of_error("digest = \"15m\"", "digest = \"15m\"\nsmtp_host = \"x\"");
        assert!(e.contains("a slack channel takes no smtp_host"), "{e}");
        let e = line_of_error("kind = \"slack\"", "kind = \"pager\"");
        assert!(
            e.contains("kind \"pager\" must be webhook, slack or email"),
            "{e}"
        );
        let e = line_of_error(
            "url = \"https://hooks.slack.test/T0/B0/x\"",
            "url = \"ftp://x\"",
        );
        assert!(e.contains("must be an http:// or https:// URL"), "{e}");
        let e = line_of_error("to = [\"pr@acme.test\"]", "to = [\"not an address\"]");
        assert!(e.contains("channel pr-mail: to \"not an address\""), "{e}");
        let e = line_of_error(
            "channels = [\"pr-slack\", \"pr-mail\"]",
            "channels = [\"pr-sms\"]",
        );
        assert!(
            e.contains("alert rule names channel pr-sms, which no [[channels]] entry defines"),
            "{e}"
        );
        let e = error_of(&format!(
            "{GOOD}{CHANNELS}\n[notifications]\nbackoff = \"2m\"\nmax_backoff = \"1m\"\n"
        ));
        assert!(e.contains("max_backoff must not be shorter"), "{e}");
    }

    #[test]
    fn environment_variables_override_the_file() {
        let s = parse(
            Path::new("earshot.toml"),
            GOOD,
            env(&[
                (
                    "EARSHOT__DATABASE__URL",
                    "postgres://earshot:secret@db/earshot",
                ),
                ("EARSHOT__SERVER__LISTEN", "0.0.0.0:9000"),
                ("EARSHOT__CRAWLER__TIMEOUT", "5s"),
                ("PATH", "/usr/bin"),
            ]),
        )
        .unwrap();
        assert_eq!(s.database.expose(), "postgres://earshot:secret@db/earshot");
        assert_eq!(
            format!("{:?}", s.database),
            "\"postgres://earshot:***@db/earshot\""
        );
        assert_eq!(s.listen.port(), 9000);
        assert_eq!(s.crawler.limits.total_timeout, Duration::from_secs(5));
    }

    #[test]
    fn logs_are_text_unless_the_file_or_the_environment_says_json() {
        let plain = parse(Path::new("e.toml"), GOOD, env(&[])).unwrap();
        assert_eq!(plain.log, LogSettings::default());
        let file = format!("{GOOD}\n[log]\nformat = \"json\"\nlevel = \"debug\"\n");
        let s = parse(Path::new("e.toml"), &file, env(&[])).unwrap();
        assert_eq!(
            (s.log.format, s.log.level),
            (LogFormat::Json, Some(LogLevel::Debug))
        );
        let s = parse(
            Path::new("e.toml"),
            &file,
            env(&[
                ("EARSHOT__LOG__FORMAT", "text"),
                ("EARSHOT__LOG__LEVEL", "WARN"),
            ]),
        )
        .unwrap();
        assert_eq!(
            (s.log.format, s.log.level),
            (LogFormat::Text, Some(LogLevel::Warn))
        );
        let bad = format!("{GOOD}\n[log]\nformat = \"yaml\"\n");
        let e = parse(Path::new("e.toml"), &bad, env(&[]))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("line") && e.contains("\"text\" or \"json\""),
            "{e}"
        );
        let e = log_from_env(env(&[("EARSHOT__LOG__LEVEL", "loud")]))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("EARSHOT__LOG__LEVEL") && e.contains("error, warn, info, debug or trace"),
            "{e}"
        );
    }

    #[test]
    fn a_bad_or_unknown_environment_override_is_named() {
        let e = parse(
            Path::new("e.toml"),
            GOOD,
            env(&[("EARSHOT__CRAWLER__CONCURRENCY", "lots")]),
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.starts_with("environment variable EARSHOT__CRAWLER__CONCURRENCY"),
            "{e}"
        );
        let e = parse(
            Path::new("e.toml"),
            GOOD,
            env(&[("EARSHOT__DATABASE__URI", "x")]),
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("EARSHOT__DATABASE__URI") && e.contains("EARSHOT__DATABASE__URL"),
            "{e}"
        );
    }

    #[test]
    fn alert_rules_default_their_threshold_and_name_only_known_brands_and_sources() {
        let text = format!(
            "{GOOD}\n[[alert_rules]]\nbrand = \"acme\"\n\n[[alert_rules]]\nbrand = \"acme\"\nthreshold = 0.9\nsources = [\"forum\"]\nlanguages = [\"uk\", \"ru\"]\n"
        );
        let s = parse(Path::new("e.toml"), &text, env(&[])).unwrap();
        assert_eq!(s.alert_rules.len(), 2);
        assert_eq!(s.alert_rules[0].threshold, Threshold::DEFAULT);
        assert!(s.alert_rules[0].sources.is_none() && s.alert_rules[0].languages.is_none());
        assert_eq!(s.alert_rules[1].threshold.value(), 0.9);
        assert_eq!(s.alert_rules[1].languages.as_ref().unwrap().len(), 2);

        let unknown_brand = format!("{GOOD}\n[[alert_rules]]\nbrand = \"globex\"\n");
        let e = error_of(&unknown_brand);
        assert!(e.contains("line 18") && e.contains("brand globex"), "{e}");
        let unknown_source =
            format!("{GOOD}\n[[alert_rules]]\nbrand = \"acme\"\nsources = [\"blog\"]\n");
        assert!(error_of(&unknown_source).contains("source blog"));
        let bad_threshold = format!("{GOOD}\n[[alert_rules]]\nbrand = \"acme\"\nthreshold = 1.5\n");
        assert!(error_of(&bad_threshold).contains("line 19: threshold 1.5"));
        let empty = format!("{GOOD}\n[[alert_rules]]\nbrand = \"acme\"\nlanguages = []\n");
        assert!(error_of(&empty).contains("leave it out"));
        let typo = format!("{GOOD}\n[[alert_rules]]\nbrand = \"acme\"\nthreshhold = 0.8\n");
        assert!(error_of(&typo).contains("threshhold"));
    }

    #[test]
    fn auto_approve_is_off_by_default_and_checked_when_given() {
        let s = parse(Path::new("e.toml"), GOOD, env(&[])).unwrap();
        assert!(s.brands[0].auto_approve.is_none());
        let on = GOOD.replace(
            "exclude = [\"Acme Road Runner\"]",
            "exclude = [\"Acme Road Runner\"]\nauto_approve = { min_rating = 0.75, min_positive = 0.9 }",
        );
        let s = parse(Path::new("e.toml"), &on, env(&[])).unwrap();
        let rule = s.brands[0].auto_approve.unwrap();
        assert_eq!(
            (rule.min_rating(), rule.min_positive()),
            (Some(0.75), Some(0.9))
        );
        let empty = GOOD.replace(
            "exclude = [\"Acme Road Runner\"]",
            "exclude = [\"Acme Road Runner\"]\nauto_approve = {}",
        );
        let e = error_of(&empty);
        assert!(
            e.contains("line 10") && e.contains("min_rating and/or min_positive"),
            "{e}"
        );
        let high = GOOD.replace(
            "exclude = [\"Acme Road Runner\"]",
            "exclude = [\"Acme Road Runner\"]\nauto_approve = { min_rating = 4 }",
        );
        assert!(error_of(&high).contains("must be from 0 to 1"));
        let typo = GOOD.replace(
            "exclude = [\"Acme Road Runner\"]",
            "exclude = [\"Acme Road Runner\"]\nauto_approve = { min_stars = 4 }",
        );
        assert!(error_of(&typo).contains("min_stars"));
    }

    #[test]
    fn a_missing_file_says_what_to_do() {
        let e = load(Path::new("/nonexistent/earshot.toml"), env(&[]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("not found") && e.contains("earshot demo"), "{e}");
    }
}
