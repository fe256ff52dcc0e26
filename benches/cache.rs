//! The cache's hot paths, in process: an L1 hit, key building, the envelope,
//! and a write's invalidation with few or many keys cached (it must not grow
//! with them: generations make it one counter bump).

use std::hint::black_box;

use axum::body::Bytes;
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use mfuko::cache::{Cache, Data, Entry, View};
use mfuko::config::CacheSettings;

fn body() -> Bytes {
    // About the size of a dashboard for a 1,000-unit landlord.
    Bytes::from(vec![b'x'; 6_000])
}

fn cache_paths(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let cache = Cache::new(CacheSettings::default());
    runtime.block_on(async {
        cache
            .get_or_load(View::Dashboard, 1, "2026-11-29:p-", || async { Ok(body()) })
            .await
            .expect("load");
    });

    c.bench_function("cache/l1 hit (dashboard)", |b| {
        b.to_async(&runtime).iter(|| async {
            let served = cache
                .get_or_load(View::Dashboard, 1, "2026-11-29:p-", || async { Ok(body()) })
                .await
                .expect("hit");
            black_box(served.entry.body.len())
        })
    });
    c.bench_function("cache/key", |b| {
        b.to_async(&runtime).iter(|| async {
            black_box(
                cache
                    .key(View::ReportFinancial, 7, "2024-01-01:2024-01-31:p-")
                    .await,
            )
        })
    });
    let entry = Entry::new(body(), std::time::Duration::from_secs(300));
    let encoded = entry.encode();
    c.bench_function("cache/envelope encode", |b| {
        b.iter(|| black_box(entry.encode()))
    });
    c.bench_function("cache/envelope decode", |b| {
        b.iter(|| black_box(Entry::decode(&encoded, std::time::Duration::from_secs(300))))
    });

    let mut group = c.benchmark_group("cache/invalidate");
    for cached in [10_u32, 100_000] {
        let cache = Cache::new(CacheSettings::default());
        runtime.block_on(async {
            for landlord in 0..cached {
                cache
                    .get_or_load(
                        View::Dashboard,
                        i64::from(landlord),
                        "p",
                        move || async move { Ok(Bytes::from_static(b"{}")) },
                    )
                    .await
                    .expect("load");
            }
        });
        // What a committed write costs the cache: applying the counter it
        // bumped (the database assigned it) and announcing it.
        let generation = std::sync::atomic::AtomicU64::new(0);
        group.bench_with_input(BenchmarkId::new("keys cached", cached), &cached, |b, _| {
            b.to_async(&runtime).iter(|| async {
                let next = generation.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
                cache
                    .advance(
                        &[(Some(1), Data::Payments, next)],
                        None,
                        &mut Default::default(),
                    )
                    .await
            })
        });
    }
    group.finish();
}

criterion_group!(benches, cache_paths);
criterion_main!(benches);
