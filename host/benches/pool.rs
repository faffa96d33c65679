//! Overhead of the worker pool: (b) throughput of trivial tasks through `run_all` on two CPU
//! workers, also with affinity keys; (c) latency of one trivial task from `submit` to
//! `poll_any_blocking`, against calling the closure directly.

use std::{hint::black_box, time::Duration};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use qscore_host::pool::{LaneConfig, Pool, Task};

const BATCH: u64 = 20_000;

fn cpu_pool() -> Pool<(), u64> {
    Pool::new(
        vec![LaneConfig::new("cpu", 2).with_queue_capacity(1024)],
        |_, _| (),
    )
    .expect("pool")
}

fn throughput(c: &mut Criterion) {
    let pool = cpu_pool();
    let mut group = c.benchmark_group("pool/throughput");
    group.sample_size(10);
    group.warm_up_time(Duration::from_millis(500));
    group.measurement_time(Duration::from_secs(3));
    group.throughput(Throughput::Elements(BATCH));
    group.bench_function("run_all trivial, 2 workers", |b| {
        b.iter(|| {
            let done = pool.run_all((0..BATCH).map(|i| Task::new(0, |_| 1u64).with_tag(i)));
            assert_eq!(done.len() as u64, BATCH);
            done
        });
    });
    group.bench_function("run_all trivial, 2 workers, 8 affinity keys", |b| {
        b.iter(|| {
            let done = pool.run_all(
                (0..BATCH).map(|i| Task::new(0, |_| 1u64).with_tag(i).with_affinity(i % 8)),
            );
            assert_eq!(done.len() as u64, BATCH);
            done
        });
    });
    group.finish();
}

fn latency(c: &mut Criterion) {
    let pool = cpu_pool();
    let mut group = c.benchmark_group("pool/latency");
    group.sample_size(20);
    group.warm_up_time(Duration::from_millis(500));
    group.measurement_time(Duration::from_secs(3));
    group.bench_function("direct call", |b| {
        b.iter(|| {
            let f = black_box(|_: &mut ()| 1u64);
            f(black_box(&mut ()))
        });
    });
    group.bench_function("submit + poll_any_blocking", |b| {
        b.iter(|| {
            pool.submit(Task::new(0, |_| 1u64)).expect("submit");
            pool.poll_any_blocking().expect("completion")
        });
    });
    group.finish();
}

criterion_group!(benches, throughput, latency);
criterion_main!(benches);
