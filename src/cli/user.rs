//! `mfuko user add`.

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
    #[arg(long)]
    pub email: String,
    #[arg(long)]
    pub password: String,
    #[arg(long, value_parser = parse_role)]
    pub role: Role,
    /// Display name (default: the part of the email before `@`).
    #[arg(long)]
    pub name: Option<String>,
    #[arg(long)]
    pub phone: Option<String>,
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
    if args.password.len() < 4 {
        anyhow::bail!("--password must have at least 4 characters");
    }
    let name = args
        .name
        .unwrap_or_else(|| email.split('@').next().unwrap_or_default().to_owned());
    let phone = args
        .phone
        .map(|phone| validate::phone("phone", &phone).map_err(|err| anyhow::anyhow!("{err}")))
        .transpose()?;
    let password_hash = auth::hash_password_async(args.password).await?;
    let db = super::connect_migrated(&settings).await?;
    let new_user = NewUser {
        email: &email,
        name: &name,
        phone: phone.as_deref(),
        role: args.role,
        password_hash: &password_hash,
    };
    // Users are no landlord's cached data: the write touches no view.
    let path = WritePath::new(db.writer().clone(), Cache::new(settings.cache.clone()));
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
