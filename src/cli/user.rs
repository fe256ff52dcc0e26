//! `mfuko user add`.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Subcommand};

use crate::auth;
use crate::cache::Cache;
use crate::config::Settings;
use crate::db::Constraint;
use crate::db::{users, users::NewUser};
use crate::error::{AppError, ErrorCode};
use crate::types::Role;
use crate::write::{ResultExt, WritePath, validate};

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user (a landlord, or an admin who may act for any landlord).
    Add(AddUser),
}

#[derive(Debug, Args)]
pub struct AddUser {
    /// The login email (stored lower-case).
    #[arg(long)]
    pub email: String,
    /// `landlord` (owns properties and sees only their own data) or `admin`
    /// (may act for any landlord and use the admin routes).
    #[arg(long, value_parser = parse_role, value_name = "landlord|admin")]
    pub role: Role,
    /// Read the password from the first line of this file.
    #[arg(long, value_name = "FILE", conflicts_with = "password")]
    pub password_file: Option<PathBuf>,
    /// The password itself (it stays in shell history and the process list:
    /// prefer --password-file or the prompt, which asks when neither is given).
    #[arg(long)]
    pub password: Option<String>,
    /// Display name (default: the part of the email before `@`).
    #[arg(long)]
    pub name: Option<String>,
    /// A Kenyan mobile number (`07…`, `+2547…`).
    #[arg(long)]
    pub phone: Option<String>,
}

/// The password from `--password`, `--password-file`, or a prompt (typed
/// twice, not echoed).
fn password(args: &AddUser) -> anyhow::Result<String> {
    if let Some(password) = &args.password {
        return Ok(password.clone());
    }
    if let Some(path) = &args.password_file {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        return Ok(text.lines().next().unwrap_or_default().to_owned());
    }
    let first = rpassword::prompt_password("password: ").context("reading the password")?;
    let again = rpassword::prompt_password("again: ").context("reading the password")?;
    if first != again {
        anyhow::bail!("the passwords differ");
    }
    Ok(first)
}

fn parse_role(text: &str) -> Result<Role, String> {
    text.parse()
        .map_err(|err| format!("{err}; expected landlord or admin"))
}

pub async fn run(settings: Settings, command: UserCommand) -> anyhow::Result<()> {
    let UserCommand::Add(args) = command;
    let email = args.email.trim().to_lowercase();
    if !email.contains('@') || email.len() > 200 {
        anyhow::bail!("--email must be an email address");
    }
    let password = password(&args)?;
    if password.chars().count() < 4 {
        anyhow::bail!("the password must have at least 4 characters");
    }
    let name = args
        .name
        .unwrap_or_else(|| email.split('@').next().unwrap_or_default().to_owned());
    let phone = args
        .phone
        .map(|phone| validate::phone("phone", &phone).map_err(|err| anyhow::anyhow!("{err}")))
        .transpose()?;
    let password_hash = auth::hash_password_async(password).await?;
    let db = super::connect_migrated(&settings).await?;
    let new_user = NewUser {
        email: &email,
        name: &name,
        phone: phone.as_deref(),
        role: args.role,
        password_hash: &password_hash,
    };
    // Users are no landlord's cached data: the write touches no view.
    let path = WritePath::new(
        db.writer().clone(),
        Cache::new(settings.cache.clone()),
        settings.money.max_amount()?,
        settings.clock()?,
    );
    let user = path
        .run(async |write| {
            users::insert(write.tx(), &new_user)
                .await
                .on_constraint(Constraint::UserEmail, || {
                    AppError::conflict(ErrorCode::Conflict, "a user with this email already exists")
                })
        })
        .await
        .map_err(|err| anyhow::anyhow!("creating user {email}: {}", err.cause()))?;
    db.close().await;
    println!("created {} {} (id {})", user.role, user.email, user.id);
    Ok(())
}
