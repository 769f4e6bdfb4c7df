//! `earshot users create|list|disable|enable|delete`: the people who sign in to the web
//! console with a username and password. Passwords are hashed with argon2id by the same
//! code the console uses; only the hash is stored.

use crate::app;
use crate::cli::{Format, UserCreateArgs, UsersCommand};
use crate::listing;
use crate::settings::Settings;
use anyhow::Context;
use earshot_domain::{Password, Role, Timestamp, Username};
use std::io::{BufRead, IsTerminal, Write};

/// Where a script passes the new user's password.
const PASSWORD_ENV: &str = "EARSHOT_PASSWORD";

pub async fn run(settings: &Settings, command: UsersCommand) -> anyhow::Result<()> {
    match command {
        UsersCommand::Create(args) => create(settings, &args).await,
        UsersCommand::List(args) => list(settings, args.format).await,
        UsersCommand::Disable(arg) => set_disabled(settings, &arg.username, true).await,
        UsersCommand::Enable(arg) => set_disabled(settings, &arg.username, false).await,
        UsersCommand::Delete(arg) => delete(settings, &arg.username).await,
    }
}

/// The new password: `EARSHOT_PASSWORD` if set, else one line of standard input; on a
/// terminal, asked for twice with echo off (through `stty`, where there is one).
fn read_password() -> anyhow::Result<Password> {
    if let Ok(p) = std::env::var(PASSWORD_ENV) {
        return Ok(Password::parse_new(&p)?);
    }
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        let mut line = String::new();
        stdin
            .lock()
            .read_line(&mut line)
            .context("reading the password from standard input")?;
        return Ok(Password::parse_new(line.trim_end_matches(['\r', '\n']))?);
    }
    let echo = |on: bool| {
        let _ = std::process::Command::new("stty")
            .arg(if on { "echo" } else { "-echo" })
            .stdin(std::process::Stdio::inherit())
            .status();
    };
    let ask = |prompt: &str| -> anyhow::Result<String> {
        eprint!("{prompt}");
        std::io::stderr().flush().ok();
        echo(false);
        let mut line = String::new();
        let read = std::io::stdin().lock().read_line(&mut line);
        echo(true);
        eprintln!();
        read.context("reading the password")?;
        Ok(line.trim_end_matches(['\r', '\n']).to_owned())
    };
    let first = ask("Password: ")?;
    let password = Password::parse_new(&first)?;
    if ask("Again: ")? != first {
        anyhow::bail!("the two passwords differ; nothing was created");
    }
    Ok(password)
}

async fn create(settings: &Settings, args: &UserCreateArgs) -> anyhow::Result<()> {
    let username = Username::parse(&args.username)?;
    let role = Role::parse(&args.role)?;
    let password = read_password()?;
    let store = app::open_store(settings).await?;
    let user =
        earshot_api::create_user(store.as_ref(), &username, role, &password, Timestamp::now())
            .await
            .with_context(|| format!("creating the user {username}"))?;
    println!(
        "Created console user {} with role {}. They sign in at the console's /signin.",
        user.username, user.role
    );
    Ok(())
}

async fn list(settings: &Settings, format: Format) -> anyhow::Result<()> {
    let store = app::open_store(settings).await?;
    let users = store.users().await?;
    let rows: Vec<Vec<String>> = users
        .iter()
        .map(|u| {
            vec![
                u.username.to_string(),
                u.role.to_string(),
                u.created_at.to_rfc3339(),
                u.disabled_at
                    .map(|t| t.to_rfc3339())
                    .unwrap_or_else(|| "-".into()),
            ]
        })
        .collect();
    let header = ["username", "role", "created", "disabled"];
    listing::print(format, &header, &rows, &users, &[0, 1, 2, 3])
}

async fn set_disabled(settings: &Settings, raw: &str, disabled: bool) -> anyhow::Result<()> {
    let username = Username::parse(raw)?;
    let store = app::open_store(settings).await?;
    let Some(user) = store
        .set_user_disabled(&username, disabled, Timestamp::now())
        .await?
    else {
        anyhow::bail!("there is no console user {username}");
    };
    if disabled {
        println!(
            "Disabled {}: they cannot sign in, and their sessions have ended.",
            user.username
        );
    } else {
        println!("Enabled {}: they can sign in again.", user.username);
    }
    Ok(())
}

async fn delete(settings: &Settings, raw: &str) -> anyhow::Result<()> {
    let username = Username::parse(raw)?;
    let store = app::open_store(settings).await?;
    if !store.delete_user(&username).await? {
        anyhow::bail!("there is no console user {username}");
    }
    println!("Deleted console user {username} and their sessions.");
    Ok(())
}
