//! The structure of the demo world: landlords, properties, units, tenants and
//! leases. Charges and payments are drawn from it in [`super::ledger`].
//!
//! Every landlord draws from an RNG stream of its own (seeded from the spec's
//! seed and the landlord's number), so the stream is stable and the only
//! inputs are the spec, the time zone and the cutoff date.

use std::collections::HashSet;

use chrono::NaiveDate;
use chrono_tz::Tz;
use rand::RngExt;

use super::frame::{Clock, Stream, rng_for};
use super::names::{self, Rng, chance, pick, pick_weighted};
use super::{DemoData, LeaseRow, PropertyRow, SeedSpec, TenantRow, UnitRow, UserRow, ledger};
use crate::types::{Id, LeaseStatus, Money, Role, TenantStatus};

/// Builds the data set as it stood at the start of `today` (local to `tz`).
/// Pure: the same arguments give identical rows.
pub fn generate_as_of(spec: &SeedSpec, tz: Tz, today: NaiveDate) -> DemoData {
    let clock = Clock::new(spec, tz, today);
    let mut data = DemoData {
        cutoff: clock.cutoff,
        ..DemoData::default()
    };
    data.users = users(spec);
    let mut unique = Unique::default();
    let mut plans = Vec::new();
    let landlords: Vec<Id> = data
        .users
        .iter()
        .filter(|u| u.role == Role::Landlord)
        .map(|u| u.id)
        .collect();
    for landlord in landlords {
        let mut world = World {
            clock: &clock,
            rng: rng_for(spec.seed, Stream::Landlord, landlord.unsigned_abs()),
            data: &mut data,
            unique: &mut unique,
            plans: &mut plans,
        };
        world.landlord(spec, landlord);
    }
    leases_from_plans(&clock, &mut data, plans);
    ledger::build(spec.seed, &clock, &mut data);
    data
}

fn users(spec: &SeedSpec) -> Vec<UserRow> {
    let mut rng = rng_for(spec.seed, Stream::Landlord, 0);
    let mut users: Vec<UserRow> = (1..=spec.landlords)
        .map(|k| UserRow {
            id: k.into(),
            email: if k == 1 {
                "demo@mfuko.local".to_owned()
            } else {
                format!("landlord{k}@mfuko.local")
            },
            name: names::person(&mut rng, "Nairobi"),
            phone: Some(names::phone(&mut rng)),
            role: Role::Landlord,
            password: "demo",
            // 7919 is prime to 10^6, so shortcodes differ for every landlord.
            mpesa_shortcode: Some(format!(
                "{:06}",
                (400_000 + u64::from(k) * 7_919) % 1_000_000
            )),
        })
        .collect();
    users.push(UserRow {
        id: Id::from(spec.landlords) + 1,
        email: "admin@mfuko.local".to_owned(),
        name: "Mfuko Admin".to_owned(),
        phone: None,
        role: Role::Admin,
        password: "admin",
        mpesa_shortcode: None,
    });
    users
}

/// Values that must be unique across the whole data set.
#[derive(Default)]
struct Unique {
    phones: HashSet<String>,
    national_ids: HashSet<String>,
}

impl Unique {
    fn phone(&mut self, rng: &mut Rng) -> String {
        loop {
            let phone = names::phone(rng);
            if self.phones.insert(phone.clone()) {
                return phone;
            }
        }
    }

    /// An 8-digit national id, as issued to adults since the 2000s.
    fn national_id(&mut self, rng: &mut Rng) -> String {
        loop {
            let id = format!("{}{}", rng.random_range(1..=3u8), names::digits(rng, 7));
            if self.national_ids.insert(id.clone()) {
                return id;
            }
        }
    }
}

/// A lease before ids are given out: months are indices into the window.
struct LeasePlan {
    landlord_id: Id,
    property_id: Id,
    unit_id: Id,
    rent: Money,
    start: i32,
    /// Last month covered, for a lease that has ended.
    end: Option<i32>,
    notice: bool,
    due_day: i32,
    grace_days: i32,
    tenant_name: String,
    tenant_phone: String,
    national_id: Option<String>,
}

/// One landlord's share of the generation, drawing from its own stream.
struct World<'a> {
    clock: &'a Clock,
    rng: Rng,
    data: &'a mut DemoData,
    unique: &'a mut Unique,
    plans: &'a mut Vec<LeasePlan>,
}

/// The landlord's habits: most leases follow them.
struct Terms {
    due_day: i32,
    grace_days: i32,
}

impl World<'_> {
    fn landlord(&mut self, spec: &SeedSpec, landlord_id: Id) {
        let home = self.county();
        let terms = Terms {
            due_day: pick_weighted(&mut self.rng, &[(1, 65), (5, 35)]),
            grace_days: *pick(&mut self.rng, &[0, 3, 5, 5, 7]),
        };
        let mut taken = HashSet::new();
        for _ in 0..spec.properties {
            // Half of a landlord's buildings are in their home county.
            let county = if chance(&mut self.rng, 500) {
                home
            } else {
                self.county()
            };
            let property_id = self.property(landlord_id, county, &mut taken);
            self.units(spec.units, landlord_id, property_id, county, &terms);
        }
    }

    fn county(&mut self) -> &'static names::County {
        let weighted: Vec<(usize, u32)> = names::COUNTIES
            .iter()
            .enumerate()
            .map(|(i, c)| (i, c.weight))
            .collect();
        &names::COUNTIES[pick_weighted(&mut self.rng, &weighted)]
    }

    fn property(
        &mut self,
        landlord_id: Id,
        county: &names::County,
        taken: &mut HashSet<String>,
    ) -> Id {
        let rng = &mut self.rng;
        let mut name = String::new();
        for attempt in 0.. {
            name = format!(
                "{} {}",
                pick(rng, names::PROPERTY_NAMES),
                pick(rng, names::PROPERTY_KINDS)
            );
            if attempt >= 8 {
                name = format!("{name} {}", attempt - 6);
            }
            if taken.insert(name.clone()) {
                break;
            }
        }
        let (area, road) = *pick(rng, county.areas);
        let address = if chance(rng, 600) {
            format!("Plot {}, {road}, {area}", rng.random_range(10..=999u32))
        } else {
            format!("{road}, {area}")
        };
        let id = next_id(self.data.properties.len());
        self.data.properties.push(PropertyRow {
            id,
            landlord_id,
            name,
            address,
            county: county.name.to_owned(),
        });
        id
    }

    /// Units in blocks `A1, A2, … B1, …`, with rents that are mostly the same
    /// within a building (a few unit types), in whole shillings.
    fn units(
        &mut self,
        count: u32,
        landlord_id: Id,
        property_id: Id,
        county: &names::County,
        terms: &Terms,
    ) {
        let rng = &mut self.rng;
        let per_block = (*pick(rng, &[4u32, 6, 8, 10])).max(count.div_ceil(26));
        let (low, high) = county.rent_range;
        let base = rng.random_range(low..=high * 2 / 3);
        // Percent of the base rent for each unit type, and how common it is.
        let types = [(100, 70), (135, 22), (180, 8)];
        for n in 0..count {
            let percent: i64 = pick_weighted(&mut self.rng, &types);
            let shillings = round_to(base * percent / 100, 500).clamp(5_000, 80_000);
            let unit = UnitRow {
                id: next_id(self.data.units.len()),
                property_id,
                landlord_id,
                label: unit_label(n, per_block),
                market_rent: Money::from_major(shillings),
                off_market: chance(&mut self.rng, 30),
            };
            if !unit.off_market {
                self.plan_leases(&unit, terms, county.name);
            }
            self.data.units.push(unit);
        }
    }

    /// The unit's leases, walking back from the end of the window: ~91 % are
    /// let today; earlier tenancies ended with a short vacancy in between.
    fn plan_leases(&mut self, unit: &UnitRow, terms: &Terms, county: &str) {
        let last = self.clock.months() - 1;
        let mut cursor = last;
        let mut active = !chance(&mut self.rng, 90);
        if !active {
            cursor -= self.rng.random_range(1..=3);
        }
        while cursor >= 0 {
            let tenure = self.rng.random_range(3..=60);
            let start = cursor - tenure + 1;
            let plan = LeasePlan {
                landlord_id: unit.landlord_id,
                property_id: unit.property_id,
                unit_id: unit.id,
                rent: unit.market_rent,
                start,
                end: (!active).then_some(cursor),
                notice: active && chance(&mut self.rng, 40),
                due_day: if chance(&mut self.rng, 850) {
                    terms.due_day
                } else {
                    self.rng.random_range(1..=28)
                },
                grace_days: if chance(&mut self.rng, 850) {
                    terms.grace_days
                } else {
                    self.rng.random_range(0..=7)
                },
                tenant_name: names::person(&mut self.rng, county),
                tenant_phone: self.unique.phone(&mut self.rng),
                national_id: chance(&mut self.rng, 950)
                    .then(|| self.unique.national_id(&mut self.rng)),
            };
            self.plans.push(plan);
            active = false;
            if start <= 0 {
                break;
            }
            cursor = start - 1 - self.rng.random_range(0..=2);
        }
    }
}

/// Gives leases and their tenants ids in order of the lease start, as they
/// would have been created, and derives account references from the ids.
fn leases_from_plans(clock: &Clock, data: &mut DemoData, mut plans: Vec<LeasePlan>) {
    plans.sort_by_key(|p| (p.start, p.unit_id));
    for (i, plan) in plans.into_iter().enumerate() {
        let id = next_id(i);
        let (status, tenant_status, end_date) = match (plan.end, plan.notice) {
            (Some(end), _) => (
                LeaseStatus::Ended,
                TenantStatus::MovedOut,
                Some(clock.period(end).last_day()),
            ),
            // On notice: moving out at the end of next month.
            (None, true) => (
                LeaseStatus::Active,
                TenantStatus::Notice,
                Some(clock.end.next().last_day()),
            ),
            (None, false) => (LeaseStatus::Active, TenantStatus::Active, None),
        };
        data.tenants.push(TenantRow {
            id,
            landlord_id: plan.landlord_id,
            name: plan.tenant_name,
            phone: plan.tenant_phone,
            national_id: plan.national_id,
            status: tenant_status,
        });
        data.leases.push(LeaseRow {
            id,
            landlord_id: plan.landlord_id,
            property_id: plan.property_id,
            unit_id: plan.unit_id,
            tenant_id: id,
            rent: plan.rent,
            deposit: plan.rent,
            due_day: plan.due_day,
            grace_days: plan.grace_days,
            start_date: clock.period(plan.start).first_day(),
            end_date,
            status,
            account_ref: format!("MF{id:06}"),
        });
    }
}

/// Ids are dense from 1, in insertion order.
fn next_id(len: usize) -> Id {
    Id::try_from(len).unwrap_or(Id::MAX - 1) + 1
}

/// `A1, A2, …`: the caller sizes blocks so that 26 letters suffice.
fn unit_label(n: u32, per_block: u32) -> String {
    let block = u8::try_from(n / per_block % 26).unwrap_or(0);
    format!("{}{}", char::from(b'A' + block), n % per_block + 1)
}

fn round_to(value: i64, step: i64) -> i64 {
    (value + step / 2) / step * step
}
