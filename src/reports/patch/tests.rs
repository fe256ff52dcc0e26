use super::*;
use crate::reports::arrears::{Buckets, LeaseArrears};
use crate::types::PaymentMethod;

fn debtor(lease_id: Id, balance: i64) -> Debtor {
    Debtor {
        lease_id,
        tenant: format!("t{lease_id}"),
        unit: format!("u{lease_id}"),
        balance: Money(balance),
        days_overdue: 10,
    }
}

fn row(lease_id: Id, balance: i64) -> LeaseArrears {
    LeaseArrears {
        lease_id,
        property_id: 1,
        unit: format!("u{lease_id}"),
        tenant: format!("t{lease_id}"),
        balance: Money(balance),
        buckets: Buckets {
            days_0_30: Money(balance),
            ..Buckets::default()
        },
        not_yet_due: Money::ZERO,
        oldest_due: None,
        days_overdue: 10,
        overdue: true,
    }
}

fn paid(lease_id: Id, before: i64, after: i64) -> LeaseChange {
    let listed = |balance: i64| (balance > 0).then(|| row(lease_id, balance));
    LeaseChange {
        lease_id,
        before: listed(before),
        after: listed(after),
        prepaid: Money::ZERO,
    }
}

fn ids(top: &[Debtor]) -> Vec<Id> {
    top.iter().map(|debtor| debtor.lease_id).collect()
}

#[test]
fn the_top_debtors_are_patched_only_when_the_next_one_cannot_matter() {
    let top: Vec<Debtor> = [(1, 900), (2, 800), (3, 700), (4, 600), (5, 500)]
        .into_iter()
        .map(|(id, balance)| debtor(id, balance))
        .collect();
    // Not among them: nothing moves.
    assert_eq!(
        ids(&top_without_list(&top, &paid(9, 400, 100)).expect("known")),
        [1, 2, 3, 4, 5]
    );
    // Still above the last: reordered.
    assert_eq!(
        ids(&top_without_list(&top, &paid(1, 900, 650)).expect("known")),
        [2, 3, 1, 4, 5]
    );
    // Below the last, paid off, or the last itself: who comes next is unknown.
    assert!(top_without_list(&top, &paid(1, 900, 450)).is_none());
    assert!(top_without_list(&top, &paid(2, 800, 0)).is_none());
    assert!(top_without_list(&top, &paid(5, 500, 499)).is_none());
    // Fewer debtors than places: everyone is known.
    let few = &top[..3];
    assert_eq!(
        ids(&top_without_list(few, &paid(1, 900, 100)).expect("known")),
        [2, 3, 1]
    );
    assert_eq!(
        ids(&top_without_list(few, &paid(2, 800, 0)).expect("known")),
        [1, 3]
    );
}

#[test]
fn a_lease_row_moves_in_the_list_and_the_summary_follows() {
    let mut leases = vec![row(1, 900), row(2, 800), row(3, 700)];
    let change = paid(1, 900, 750);
    assert!(change.apply_to_list(&mut leases).is_some());
    assert_eq!(
        leases.iter().map(|l| l.lease_id).collect::<Vec<_>>(),
        [2, 1, 3]
    );
    // A row that is not as the list holds it is refused.
    assert!(paid(2, 801, 0).apply_to_list(&mut leases.clone()).is_none());
    assert!(paid(7, 100, 0).apply_to_list(&mut leases.clone()).is_none());
    assert!(paid(2, 800, 0).apply_to_list(&mut leases).is_some());
    assert_eq!(
        leases.iter().map(|l| l.lease_id).collect::<Vec<_>>(),
        [1, 3]
    );
}

#[test]
fn collected_money_lands_in_its_property_month_and_method() {
    let today: NaiveDate = "2026-12-10".parse().expect("date");
    let mut report = FinancialReport {
        from: "2026-12-01".parse().expect("date"),
        to: today,
        property_id: None,
        total: Totals::new(Money(1_000), Money(0)),
        by_property: vec![crate::reports::financial::PropertyTotals {
            property_id: Some(4),
            totals: Totals::new(Money(1_000), Money(0)),
        }],
        by_month: vec![MonthTotals {
            month: Period::containing(today),
            totals: Totals::new(Money(1_000), Money(0)),
        }],
        by_method: vec![crate::reports::financial::MethodTotal {
            method: PaymentMethod::Mpesa,
            collected: Money(0),
        }],
    };
    let change = |property, method, paid_on: &str| Change {
        collected: Some((paid_on.parse().expect("date"), property, method, Money(250))),
        pending: Money::ZERO,
        unallocated: Money::ZERO,
        lease: None,
    };
    assert!(financial(
        &mut report,
        &change(None, PaymentMethod::Cash, "2026-12-02")
    ));
    assert!(financial(
        &mut report,
        &change(Some(4), PaymentMethod::Mpesa, "2026-12-10")
    ));
    // Outside the range: nothing.
    assert!(financial(
        &mut report,
        &change(Some(4), PaymentMethod::Bank, "2026-11-30")
    ));
    assert_eq!(report.total, Totals::new(Money(1_000), Money(500)));
    let properties: Vec<_> = report
        .by_property
        .iter()
        .map(|p| (p.property_id, p.totals.collected))
        .collect();
    assert_eq!(properties, [(None, Money(250)), (Some(4), Money(250))]);
    let methods: Vec<_> = report
        .by_method
        .iter()
        .map(|m| (m.method, m.collected))
        .collect();
    assert_eq!(
        methods,
        [
            (PaymentMethod::Cash, Money(250)),
            (PaymentMethod::Mpesa, Money(250))
        ]
    );
    assert_eq!(report.by_month[0].totals.collection_pct, Some(50.0));
}

#[test]
fn the_arrears_model_writes_the_reports_bytes() {
    let report = ArrearsReport {
        as_of: "2026-12-01".parse().expect("date"),
        property_id: None,
        summary: crate::reports::arrears::ArrearsSummary {
            total_arrears: Money(1_700),
            leases_in_arrears: 2,
            ..Default::default()
        },
        leases: vec![row(1, 900), row(2, 800)],
    };
    let body = serde_json::to_vec(&report).expect("serializes");
    let mut model = ArrearsModel::parse(&body).expect("parses");
    assert_eq!(&model.body(body.len()).expect("a body")[..], &body[..]);
    // After a patch too, and with an empty list.
    assert!(arrears_list(
        &mut model,
        &Change {
            collected: None,
            pending: Money::ZERO,
            unallocated: Money::ZERO,
            lease: Some(paid(1, 900, 0)),
        }
    ));
    assert_eq!(model.report.leases.len(), 1);
    let expected = serde_json::to_vec(&model.report).expect("serializes");
    assert_eq!(&model.body(0).expect("a body")[..], &expected[..]);
    let empty = ArrearsReport {
        leases: Vec::new(),
        ..report
    };
    let body = serde_json::to_vec(&empty).expect("serializes");
    let model = ArrearsModel::parse(&body).expect("parses");
    assert_eq!(&model.body(0).expect("a body")[..], &body[..]);
}
