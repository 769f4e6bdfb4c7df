//! Configuration: defaults, then one TOML file, then `EARSHOT__SECTION__KEY` environment
//! variables, parsed into typed settings. Every error names the file and line (or the
//! environment variable) and what is wrong.

use earshot_crawler::fetch::FetchLimits;
use earshot_crawler::politeness::PolitenessLimits;
use earshot_domain::{
    AlertRuleSpec, AutoApprove, Brand, BrandSlug, BrandTerm, LanguageCode, Recipe, Source,
    SourceKind, SourceName, SourceUrl, Threshold,
};
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
    /// `[[alert_rules]]`: each names a brand and a source above.
    pub alert_rules: Vec<AlertRuleSpec>,
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
        };

        let sentiment = self.sentiment(&raw.sentiment)?;
        let brands = self.brands(raw.brands)?;
        let sources = self.sources(raw.sources)?;
        let alert_rules = self.alert_rules(raw.alert_rules, &brands, &sources)?;
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
        })
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
            let rule = AlertRuleSpec::new(brand, threshold, source_names, languages)
                .map_err(|e| self.error(Origin::File(whole.clone()), e.0))?;
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
