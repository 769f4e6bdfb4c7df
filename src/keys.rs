//! `earshot keys create|list|revoke`: API keys from the command line, which is how the
//! first admin key comes to exist. A new key is printed once; only its hash is stored.

use crate::app;
use crate::cli::{Format, KeyCreateArgs, KeyFormat, KeysCommand};
use crate::listing;
use crate::settings::Settings;
use anyhow::Context;
use earshot_domain::{ApiKeyId, KeyName, Role, Timestamp};

pub async fn run(settings: &Settings, command: KeysCommand) -> anyhow::Result<()> {
    match command {
        KeysCommand::Create(args) => create(settings, &args).await,
        KeysCommand::List(args) => list(settings, args.format).await,
        KeysCommand::Revoke(args) => revoke(settings, ApiKeyId(args.id)).await,
    }
}

async fn create(settings: &Settings, args: &KeyCreateArgs) -> anyhow::Result<()> {
    let role = Role::parse(&args.role)?;
    let name = KeyName::parse(&args.name)?;
    let store = app::open_store(settings).await?;
    let (key, secret) = earshot_api::issue_key(store.as_ref(), &name, role, Timestamp::now())
        .await
        .context("creating the key")?;
    match args.format {
        KeyFormat::Json => {
            let mut value = serde_json::to_value(&key)?;
            value["key"] = secret.expose().into();
            println!("{}", serde_json::to_string_pretty(&value)?);
        }
        KeyFormat::Table => println!(
            "Created API key {} \"{}\" with role {}. It is shown only this once:\n\n{}\n\n\
             Send it as the header  Authorization: Bearer <key>",
            key.id.0,
            key.name,
            key.role,
            secret.expose()
        ),
    }
    Ok(())
}

async fn list(settings: &Settings, format: Format) -> anyhow::Result<()> {
    let store = app::open_store(settings).await?;
    let keys = store.api_keys().await?;
    let when = |t: Option<Timestamp>| t.map(|t| t.to_rfc3339()).unwrap_or_else(|| "-".into());
    let rows: Vec<Vec<String>> = keys
        .iter()
        .map(|k| {
            vec![
                k.id.0.to_string(),
                k.name.clone(),
                k.role.to_string(),
                k.created_at.to_rfc3339(),
                when(k.last_used_at),
                when(k.revoked_at),
            ]
        })
        .collect();
    let header = ["id", "name", "role", "created", "last_used", "revoked"];
    listing::print(format, &header, &rows, &keys, &[0, 1, 2, 3, 4, 5])
}

async fn revoke(settings: &Settings, id: ApiKeyId) -> anyhow::Result<()> {
    let store = app::open_store(settings).await?;
    let now = Timestamp::now();
    let Some(key) = store.revoke_api_key(id, now).await? else {
        anyhow::bail!("there is no API key with id {}", id.0);
    };
    match key.revoked_at {
        Some(at) if at < now => println!(
            "API key {} \"{}\" was already revoked at {at}.",
            key.id.0, key.name
        ),
        _ => println!(
            "Revoked API key {} \"{}\" (role {}). It no longer works.",
            key.id.0, key.name, key.role
        ),
    }
    Ok(())
}
