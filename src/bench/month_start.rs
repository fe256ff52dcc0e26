//! `month-start`: the 1st of the month, when M-Pesa payments flood in. Safaricom's
//! C2B confirmations for the tenants of several landlords arrive at 5 % of
//! the requests, each to its landlord's Paybill with the lease's account
//! reference, while those landlords read their dashboards (the rest).

use crate::clock::Clock;
use chrono::Utc;
use reqwest::{Client, Method};
use serde_json::json;

use super::load::{Next, Request};
use super::{Plan, active_leases, landlord_email, login};

/// The C2B secret the scenario's server is given.
pub const SECRET: &str = "bench-month-start";

/// The demo Paybill of landlord `k` (as `demo::generate` makes them).
fn shortcode(k: u32) -> String {
    format!("{:06}", (400_000 + u64::from(k) * 7_919) % 1_000_000)
}

struct Landlord {
    token: String,
    shortcode: String,
    /// Account references of active leases.
    accounts: Vec<String>,
}

pub async fn load(client: &Client, plan: &Plan, base: &str) -> anyhow::Result<Next> {
    let mut landlords = Vec::new();
    for k in 1..=plan.landlords.max(1) {
        let token = login(client, base, &landlord_email(k), "demo").await?;
        let accounts: Vec<String> = active_leases(client, base, &token, 200)
            .await?
            .iter()
            .filter_map(|lease| lease["account_ref"].as_str().map(str::to_owned))
            .collect();
        anyhow::ensure!(!accounts.is_empty(), "landlord {k} has no active lease");
        landlords.push(Landlord {
            token,
            shortcode: shortcode(k),
            accounts,
        });
    }
    // Receipts must be new to every run on the same data set.
    let run = Utc::now().timestamp() % 100_000;
    // Safaricom states the time in Nairobi, on the day the servers run as of.
    let nairobi = chrono_tz::Africa::Nairobi;
    let clock = plan
        .today
        .map_or_else(Clock::real, |today| Clock::today_is(today, nairobi));
    let url = format!("{base}/api/v1/payments/mpesa/c2b?secret={SECRET}");
    let dashboard = format!("{base}/api/v1/dashboard");
    Ok(std::sync::Arc::new(move |n| {
        let landlord = &landlords[super::landlord_for(n, landlords.len())];
        if !super::is_write(n) {
            return Request::get(dashboard.clone(), Some(&landlord.token));
        }
        // This landlord's writes so far: each pays the next account.
        let turn = n / super::WRITE_EVERY / landlords.len() as u64;
        let account = &landlord.accounts[turn as usize % landlord.accounts.len()];
        Request {
            method: Method::POST,
            url: url.clone(),
            token: None,
            session: false,
            body: Some(json!({
                "TransID": format!("MS{run:05}{n:07}"),
                "TransTime": clock.now().with_timezone(&nairobi).format("%Y%m%d%H%M%S").to_string(),
                "TransAmount": "1500.00",
                "BusinessShortCode": landlord.shortcode,
                "BillRefNumber": account,
                "MSISDN": "254708374149",
                "FirstName": "BENCH",
            })),
        }
    }))
}

#[cfg(test)]
mod tests {
    #[test]
    fn shortcodes_are_the_demo_ones() {
        assert_eq!(super::shortcode(1), "407919");
    }
}
