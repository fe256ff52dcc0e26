//! `mfuko user add`.

use clap::{Args, Subcommand};

use crate::auth;
use crate::config::Settings;
use crate::db::{users, users::NewUser};
use crate::domain::{Role, validate};

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
    let mut tx = db.writer().begin().await?;
    let new_user = NewUser {
        email: &email,
        name: &name,
        phone: phone.as_deref(),
        role: args.role,
        password_hash: &password_hash,
    };
    let user = users::insert(&mut tx, &new_user)
        .await
        .map_err(|err| match err {
            sqlx::Error::Database(db) if db.is_unique_violation() => {
                anyhow::anyhow!("a user with email {email} already exists")
            }
            other => anyhow::Error::new(other).context("creating user"),
        })?;
    tx.commit().await?;
    db.close().await;
    println!("created {} {} (id {})", user.role, user.email, user.id);
    Ok(())
}
