//! A tenant's statement: every charge and confirmed payment of their leases,
//! oldest first, for the printable page. Only confirmed payments count
//! towards a balance, and void charges are no charge (as in the reports).

use chrono::NaiveDate;

use crate::db::{Reader, dispatch};
use crate::types::{Id, Money};

/// At most this many lines (a tenant of ten years has a few hundred).
const MAX_LINES: i64 = 5_000;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Line {
    pub lease_id: Id,
    /// A charge's due date, a payment's date in the service time zone.
    pub on_date: NaiveDate,
    /// 0: a charge; 1: a payment (on the same day, charges come first).
    pub entry: i32,
    /// The charge's kind, or the payment's method.
    pub kind: String,
    /// The charge's period, or the payment's reference.
    pub detail: Option<String>,
    pub amount: Money,
}

impl Line {
    pub fn is_charge(&self) -> bool {
        self.entry == 0
    }
}

pub async fn lines(db: &Reader, landlord: Id, tenant: Id) -> sqlx::Result<Vec<Line>> {
    dispatch!(db.pool(), p => sqlx::query_as(
        "SELECT c.lease_id, c.due_date AS on_date, 0 AS entry, c.kind, c.period AS detail, \
                c.amount \
         FROM charges c JOIN leases l ON l.id = c.lease_id \
         WHERE l.landlord_id = $1 AND l.tenant_id = $2 AND NOT c.void \
         UNION ALL \
         SELECT p.lease_id, p.paid_on AS on_date, 1 AS entry, p.method AS kind, \
                p.reference AS detail, p.amount \
         FROM payments p JOIN leases l ON l.id = p.lease_id \
         WHERE l.landlord_id = $1 AND l.tenant_id = $2 AND p.status = 'confirmed' \
         ORDER BY on_date, entry, lease_id LIMIT $3",
    )
    .bind(landlord)
    .bind(tenant)
    .bind(MAX_LINES)
    .fetch_all(p)
    .await)
}
