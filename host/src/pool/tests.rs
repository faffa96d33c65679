//! Behaviour of the pool as a scheduler sees it. Waits use channels with generous timeouts;
//! a timeout only turns a hang into a failure.

use std::{
    collections::{HashMap, HashSet},
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::SeqCst},
    },
    thread,
    time::{Duration, Instant},
};

use crossbeam_channel::{Receiver, Sender, unbounded};

use super::*;

/// Long enough that only a bug makes a wait fail.
const PATIENCE: Duration = Duration::from_secs(20);

fn cpu(workers: usize) -> LaneConfig {
    LaneConfig::new("cpu", workers)
}

fn pool<R: Send + 'static>(lanes: Vec<LaneConfig>) -> Pool<(), R> {
    Pool::new(lanes, |_, _| ()).expect("pool")
}

fn ok<R: fmt::Debug>(c: Completed<R>) -> R {
    c.outcome.expect("task succeeded")
}

/// A gate a task waits on, opened by the test.
fn latch() -> (Sender<()>, Receiver<()>) {
    unbounded()
}

fn wait(rx: &Receiver<()>) {
    rx.recv_timeout(PATIENCE).expect("signal in time");
}

/// Polls `cond` until it holds.
fn eventually(what: &str, cond: impl Fn() -> bool) {
    let end = Instant::now() + PATIENCE;
    while !cond() {
        assert!(Instant::now() < end, "timed out waiting for {what}");
        thread::sleep(Duration::from_millis(1));
    }
}

/// Runs `f` on a thread and fails instead of hanging if it does not finish.
fn within<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = unbounded();
    thread::spawn(move || tx.send(f()).ok());
    rx.recv_timeout(PATIENCE)
        .expect("finished in time (deadlock?)")
}

/// A probe whose free memory the test sets.
#[derive(Debug)]
struct FakeProbe(AtomicU64);

impl FakeProbe {
    fn new(free: u64) -> Arc<Self> {
        Arc::new(Self(AtomicU64::new(free)))
    }
}

impl MemoryProbe for FakeProbe {
    fn free_bytes(&self) -> Option<u64> {
        Some(self.0.load(SeqCst))
    }
}

/// Tracks how many tasks run at once.
#[derive(Debug, Default)]
struct Concurrency {
    now: AtomicUsize,
    max: AtomicUsize,
}

impl Concurrency {
    fn enter(&self) {
        let now = self.now.fetch_add(1, SeqCst) + 1;
        self.max.fetch_max(now, SeqCst);
    }

    fn leave(&self) {
        self.now.fetch_sub(1, SeqCst);
    }
}

#[test]
fn pool_is_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<Pool<std::rc::Rc<u8>, u64>>();
}

#[test]
fn results_carry_tags_in_completion_order() {
    // One worker runs its queue in order.
    let p = pool::<u64>(vec![cpu(1)]);
    let ids: Vec<_> = (0..20)
        .map(|i| p.submit(Task::new(0, move |_| i * 10).with_tag(i)).unwrap())
        .collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "ids increase");
    let done: Vec<_> = std::iter::from_fn(|| p.poll_any_blocking()).collect();
    assert_eq!(done.len(), 20);
    for (i, c) in done.into_iter().enumerate() {
        assert_eq!((c.id, c.tag, c.lane, c.worker), (ids[i], i as u64, 0, 0));
        assert_eq!(ok(c), i as u64 * 10);
    }
    assert_eq!(p.pending(), 0);
    assert!(p.poll_any().is_none());
}

#[test]
fn a_later_task_that_finishes_first_comes_out_first() {
    let p = pool::<&'static str>(vec![cpu(2)]);
    let (open, gate) = latch();
    p.submit(
        Task::new(0, move |_| {
            wait(&gate);
            "slow"
        })
        .with_tag(1),
    )
    .unwrap();
    p.submit(Task::new(0, |_| "fast").with_tag(2)).unwrap();
    let first = p.poll_any_blocking().unwrap();
    assert_eq!((first.tag, first.outcome.clone().unwrap()), (2, "fast"));
    assert_ne!(first.worker, 0, "the idle worker took the second task");
    open.send(()).unwrap();
    let second = p.poll_any_blocking().unwrap();
    assert_eq!((second.tag, ok(second)), (1, "slow"));
    assert!(p.poll_any_blocking().is_none());
}

#[test]
fn a_panic_fails_its_task_and_the_worker_keeps_its_state() {
    let p: Pool<u64, u64> = Pool::new(vec![cpu(1)], |_, _| 0).unwrap();
    p.submit(Task::new(0, |n: &mut u64| {
        *n += 1;
        panic!("boom {}", *n)
    }))
    .unwrap();
    p.submit(Task::new(0, |n: &mut u64| {
        *n += 1;
        *n
    }))
    .unwrap();
    let failed = p.poll_any_blocking().unwrap();
    assert_eq!(
        failed.outcome.unwrap_err(),
        TaskFailure::Panicked("boom 1".into())
    );
    assert_eq!(ok(p.poll_any_blocking().unwrap()), 2);
    let w = p.stats().lanes[0].workers[0];
    assert_eq!((w.run, w.panicked, w.load), (2, 1, 0));
}

#[test]
fn affinity_keys_stick_to_one_worker_and_spread() {
    // Each worker's state counts what it ran, so the keys really meet the same state.
    let p: Pool<Vec<u64>, (usize, u64)> = Pool::new(vec![cpu(4)], |_, _| Vec::new()).unwrap();
    let tasks = (0..100u64).map(|i| {
        let key = i % 4;
        Task::new(0, move |seen: &mut Vec<u64>| {
            seen.push(key);
            (seen.len(), key)
        })
        .with_affinity(key)
        .with_tag(i)
    });
    let done = within(move || {
        let done = p.run_all(tasks);
        (done, p.stats())
    });
    let (done, stats) = done;
    assert_eq!(done.len(), 100);
    let mut worker_of: HashMap<u64, HashSet<usize>> = HashMap::new();
    for c in done {
        assert_eq!(ok_ref(&c).1, c.tag % 4);
        worker_of.entry(c.tag % 4).or_default().insert(c.worker);
    }
    let workers: HashSet<usize> = worker_of
        .values()
        .map(|ws| {
            assert_eq!(ws.len(), 1, "a key ran on several workers: {worker_of:?}");
            *ws.iter().next().unwrap()
        })
        .collect();
    assert_eq!(
        workers.len(),
        4,
        "keys spread over the workers: {worker_of:?}"
    );
    let lane = &stats.lanes[0];
    assert_eq!(lane.affinity_keys, 4);
    assert_eq!(
        lane.workers.iter().map(|w| w.affinity_routes).sum::<u64>(),
        100
    );
    assert!(lane.workers.iter().all(|w| w.run == 25));
}

fn ok_ref<R>(c: &Completed<R>) -> &R {
    c.outcome.as_ref().expect("task succeeded")
}

#[test]
fn tasks_without_a_key_go_to_the_least_loaded_worker() {
    let p = pool::<usize>(vec![cpu(3)]);
    let (open, gate) = latch();
    // Two workers blocked: the rest must all go to the third.
    let (started_tx, started) = latch();
    for _ in 0..2 {
        let (gate, started_tx) = (gate.clone(), started_tx.clone());
        p.submit(Task::new(0, move |_| {
            started_tx.send(()).unwrap();
            wait(&gate);
            0
        }))
        .unwrap();
    }
    wait(&started);
    wait(&started);
    let free: HashSet<usize> = (0..10)
        .map(|_| {
            p.submit(Task::new(0, |_| 1)).unwrap();
            p.poll_any_blocking().unwrap().worker
        })
        .collect();
    assert_eq!(free.len(), 1);
    open.send(()).unwrap();
    open.send(()).unwrap();
    let blocked: HashSet<usize> = (0..2)
        .map(|_| p.poll_any_blocking().unwrap().worker)
        .collect();
    assert_eq!(blocked.len(), 2);
    assert!(blocked.is_disjoint(&free));
}

/// Runs 8 tasks of 60 bytes that hold their memory a while on 4 workers; max concurrency.
fn max_concurrency_with_free(free: u64) -> usize {
    let probe = FakeProbe::new(free);
    let p = pool::<()>(vec![cpu(4).with_memory(probe)]);
    let conc = Arc::new(Concurrency::default());
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let conc = Arc::clone(&conc);
            Task::new(0, move |_| {
                conc.enter();
                // Long enough for the others to try to start; with room for two, the first
                // two wait for each other so the overlap is certain, not timing luck.
                let end = Instant::now() + Duration::from_millis(20);
                while Instant::now() < end
                    || (free >= 120 && conc.max.load(SeqCst) < 2 && Instant::now() < end + PATIENCE)
                {
                    thread::sleep(Duration::from_millis(1));
                }
                conc.leave();
            })
            .with_memory(60)
        })
        .collect();
    let done = within(move || p.run_all(tasks));
    assert!(done.iter().all(|c| c.outcome.is_ok()));
    conc.max.load(SeqCst)
}

#[test]
fn admission_runs_one_sixty_byte_task_in_a_hundred_free() {
    assert_eq!(max_concurrency_with_free(100), 1);
}

#[test]
fn admission_runs_two_sixty_byte_tasks_in_a_hundred_thirty_free() {
    assert_eq!(max_concurrency_with_free(130), 2);
}

#[test]
fn a_task_waits_for_memory_and_starts_on_completion() {
    let p = pool::<&'static str>(vec![cpu(2).with_memory(FakeProbe::new(100))]);
    let (open, gate) = latch();
    let (a_started_tx, a_started) = latch();
    let b_started = Arc::new(AtomicBool::new(false));
    p.submit(
        Task::new(0, move |_| {
            a_started_tx.send(()).unwrap();
            wait(&gate);
            "a"
        })
        .with_memory(60),
    )
    .unwrap();
    wait(&a_started);
    let flag = Arc::clone(&b_started);
    p.submit(
        Task::new(0, move |_| {
            flag.store(true, SeqCst);
            "b"
        })
        .with_memory(60),
    )
    .unwrap();
    eventually("b to wait for memory", || {
        p.stats().lanes[0].admission_waits() == 1
    });
    assert!(!b_started.load(SeqCst));
    open.send(()).unwrap();
    // A frees its memory before its completion is sent, so either may come out first.
    let mut done: Vec<_> = (0..2).map(|_| ok(p.poll_any_blocking().unwrap())).collect();
    done.sort_unstable();
    assert_eq!(done, ["a", "b"]);
    let workers = &p.stats().lanes[0].workers;
    assert_eq!(workers.iter().map(|w| w.run).sum::<u64>(), 2);
}

#[test]
fn admission_reprobes_memory_freed_elsewhere() {
    let probe = FakeProbe::new(50);
    let p = pool::<()>(vec![
        cpu(2).with_memory(Arc::clone(&probe) as Arc<dyn MemoryProbe>),
    ]);
    let (b_started_tx, b_started) = latch();
    let (a_started_tx, a_started) = latch();
    // A holds 10 bytes until B has started: B must start while A still runs.
    p.submit(
        Task::new(0, move |_| {
            a_started_tx.send(()).unwrap();
            wait(&b_started);
        })
        .with_memory(10),
    )
    .unwrap();
    wait(&a_started);
    p.submit(Task::new(0, move |_| b_started_tx.send(()).unwrap()).with_memory(60))
        .unwrap();
    eventually("B to wait for memory", || {
        p.stats().lanes[0].admission_waits() == 1
    });
    probe.0.store(200, SeqCst);
    within(move || {
        for _ in 0..2 {
            ok(p.poll_any_blocking().unwrap());
        }
    });
}

#[test]
fn a_task_larger_than_free_memory_runs_alone() {
    let p = pool::<u32>(vec![cpu(2).with_memory(FakeProbe::new(100))]);
    p.submit(Task::new(0, |_| 7).with_memory(1_000_000))
        .unwrap();
    assert_eq!(ok(p.poll_any_blocking().unwrap()), 7);
}

#[test]
fn without_a_probe_memory_does_not_limit() {
    let p = pool::<()>(vec![cpu(2)]);
    let barrier = Arc::new(std::sync::Barrier::new(2));
    let tasks: Vec<_> = (0..2)
        .map(|_| {
            let b = Arc::clone(&barrier);
            Task::new(0, move |_| {
                b.wait();
            })
            .with_memory(u64::MAX)
        })
        .collect();
    let done = within(move || p.run_all(tasks));
    assert_eq!(done.len(), 2);
}

#[test]
fn submit_blocks_while_the_workers_queue_is_full() {
    let p = Arc::new(pool::<u32>(vec![cpu(1).with_queue_capacity(2)]));
    let (open, gate) = latch();
    let (started_tx, started) = latch();
    p.submit(Task::new(0, move |_| {
        started_tx.send(()).unwrap();
        wait(&gate);
        0
    }))
    .unwrap();
    wait(&started); // The worker holds task 0, so the queue is empty.
    p.submit(Task::new(0, |_| 1)).unwrap();
    p.submit(Task::new(0, |_| 2)).unwrap();
    let (submitted_tx, submitted) = unbounded();
    let submitter = {
        let p = Arc::clone(&p);
        thread::spawn(move || {
            p.submit(Task::new(0, |_| 3)).unwrap();
            submitted_tx.send(()).unwrap();
        })
    };
    // The fourth task is routed (counted in the load) but cannot enter the full queue.
    eventually("the fourth task to be routed", || {
        p.stats().lanes[0].workers[0].load == 4
    });
    assert!(submitted.recv_timeout(Duration::from_millis(200)).is_err());
    open.send(()).unwrap();
    wait(&submitted);
    submitter.join().unwrap();
    let results: Vec<_> = (0..4).map(|_| ok(p.poll_any_blocking().unwrap())).collect();
    assert_eq!(results, [0, 1, 2, 3]);
}

/// A lane with one worker held by a task until the returned sender fires.
fn blocked_pool() -> (Pool<(), u32>, Sender<()>, TaskId) {
    let p = pool::<u32>(vec![cpu(1)]);
    let (open, gate) = latch();
    let (started_tx, started) = latch();
    let id = p
        .submit(Task::new(0, move |_| {
            started_tx.send(()).unwrap();
            wait(&gate);
            0
        }))
        .unwrap();
    wait(&started);
    (p, open, id)
}

#[test]
fn cancel_turns_a_queued_task_into_cancelled() {
    let (p, open, running) = blocked_pool();
    let ran = Arc::new(AtomicBool::new(false));
    let a = p.submit(Task::new(0, |_| 1).with_tag(1)).unwrap();
    let flag = Arc::clone(&ran);
    let b = p
        .submit(
            Task::new(0, move |_| {
                flag.store(true, SeqCst);
                2
            })
            .with_tag(2),
        )
        .unwrap();
    let c = p.submit(Task::new(0, |_| 3).with_tag(3)).unwrap();
    assert!(!p.cancel(running), "a running task cannot be cancelled");
    assert!(p.cancel(b));
    assert!(!p.cancel(b), "only once");
    assert!(!p.cancel(TaskId(999)));
    open.send(()).unwrap();
    let done: Vec<_> = std::iter::from_fn(|| p.poll_any_blocking()).collect();
    let by_id: HashMap<TaskId, Result<u32, TaskFailure>> =
        done.into_iter().map(|c| (c.id, c.outcome)).collect();
    assert_eq!(by_id[&running], Ok(0));
    assert_eq!(by_id[&a], Ok(1));
    assert_eq!(by_id[&b], Err(TaskFailure::Cancelled));
    assert_eq!(by_id[&c], Ok(3));
    assert!(!ran.load(SeqCst));
    assert!(!p.cancel(a), "a finished task cannot be cancelled");
    let w = p.stats().lanes[0].workers[0];
    assert_eq!((w.run, w.cancelled), (3, 1));
}

#[test]
fn cancel_all_cancels_every_queued_task() {
    let (p, open, running) = blocked_pool();
    for i in 0..5 {
        p.submit(Task::new(0, move |_| i)).unwrap();
    }
    assert_eq!(p.pending(), 6);
    p.cancel_all();
    open.send(()).unwrap();
    let done: Vec<_> = std::iter::from_fn(|| p.poll_any_blocking()).collect();
    assert_eq!(done.len(), 6);
    for c in done {
        if c.id == running {
            assert_eq!(c.outcome, Ok(0));
        } else {
            assert_eq!(c.outcome, Err(TaskFailure::Cancelled));
        }
    }
    assert_eq!(p.pending(), 0);
}

#[test]
fn cancel_reaches_a_task_waiting_for_memory() {
    let p = pool::<u32>(vec![cpu(2).with_memory(FakeProbe::new(100))]);
    let (open, gate) = latch();
    let (started_tx, started) = latch();
    p.submit(
        Task::new(0, move |_| {
            started_tx.send(()).unwrap();
            wait(&gate);
            0
        })
        .with_memory(60),
    )
    .unwrap();
    wait(&started);
    let waiting = p.submit(Task::new(0, |_| 1).with_memory(60)).unwrap();
    eventually("the task to wait for memory", || {
        p.stats().lanes[0].admission_waits() == 1
    });
    assert!(p.cancel(waiting));
    // It completes as cancelled while the first task still holds the memory.
    let c = p.poll_any_blocking().unwrap();
    assert_eq!((c.id, c.outcome), (waiting, Err(TaskFailure::Cancelled)));
    open.send(()).unwrap();
    assert_eq!(ok(p.poll_any_blocking().unwrap()), 0);
}

/// Counts states dropped, on drop.
#[derive(Debug)]
struct Tracked(Arc<AtomicUsize>);

impl Drop for Tracked {
    fn drop(&mut self) {
        self.0.fetch_add(1, SeqCst);
    }
}

/// Sends when dropped: tells the test a closure was discarded.
struct OnDrop(Option<Sender<()>>);

impl Drop for OnDrop {
    fn drop(&mut self) {
        if let Some(tx) = self.0.take() {
            let _ = tx.send(());
        }
    }
}

#[test]
fn shutdown_finishes_running_tasks_cancels_queued_ones_and_joins() {
    // Worker 0 runs task A (memory 60 of 100) until task B, waiting for memory on worker 1,
    // is discarded by the shutdown; C is queued behind A. Only A may run.
    let dropped_states = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&dropped_states);
    let p: Pool<Tracked, &'static str> = Pool::new(
        vec![cpu(2).with_memory(FakeProbe::new(100))],
        move |_, _| Tracked(Arc::clone(&counter)),
    )
    .unwrap();
    let (a_started_tx, a_started) = latch();
    let (b_dropped_tx, b_dropped) = latch();
    let a_finished = Arc::new(AtomicBool::new(false));
    let others_ran = Arc::new(AtomicBool::new(false));
    let finished = Arc::clone(&a_finished);
    p.submit(
        Task::new(0, move |_| {
            a_started_tx.send(()).unwrap();
            wait(&b_dropped);
            finished.store(true, SeqCst);
            "a"
        })
        .with_memory(60)
        .with_affinity(1),
    )
    .unwrap();
    wait(&a_started);
    let (ran, guard) = (Arc::clone(&others_ran), OnDrop(Some(b_dropped_tx)));
    p.submit(
        Task::new(0, move |_| {
            let _guard = guard;
            ran.store(true, SeqCst);
            "b"
        })
        .with_memory(60),
    )
    .unwrap();
    let ran = Arc::clone(&others_ran);
    p.submit(
        Task::new(0, move |_| {
            ran.store(true, SeqCst);
            "c"
        })
        .with_affinity(1),
    )
    .unwrap();
    let stats = p.stats();
    assert_eq!(stats.lanes[0].workers[0].load, 2, "A and C on worker 0");
    eventually("B to wait for memory", || {
        p.stats().lanes[0].admission_waits() == 1
    });
    within(move || p.shutdown());
    assert!(a_finished.load(SeqCst), "the running task finished");
    assert!(!others_ran.load(SeqCst), "queued tasks were cancelled");
    assert_eq!(
        dropped_states.load(SeqCst),
        2,
        "every worker dropped its state"
    );
}

#[test]
fn dropping_the_pool_cancels_and_joins() {
    let dropped_states = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&dropped_states);
    let p: Pool<Tracked, u32> =
        Pool::new(vec![cpu(3)], move |_, _| Tracked(Arc::clone(&counter))).unwrap();
    let ran = Arc::new(AtomicUsize::new(0));
    for _ in 0..30 {
        let ran = Arc::clone(&ran);
        p.submit(Task::new(0, move |_| {
            thread::sleep(Duration::from_millis(1));
            ran.fetch_add(1, SeqCst) as u32
        }))
        .unwrap();
    }
    within(move || drop(p));
    assert_eq!(dropped_states.load(SeqCst), 3);
    assert!(ran.load(SeqCst) <= 30);
}

#[test]
fn run_all_with_more_tasks_than_queue_room_does_not_deadlock() {
    let p = pool::<u64>(vec![cpu(2).with_queue_capacity(1)]);
    let tasks: Vec<_> = (0..2_000u64)
        .map(|i| Task::new(0, move |_| i * 2).with_tag(i))
        .collect();
    let done = within(move || {
        // Some completions are collected while queues are full, and with a task already
        // submitted outside, run_all ignores it.
        p.submit(Task::new(0, |_| 99).with_tag(9_999)).unwrap();
        let done = p.run_all(tasks);
        assert_eq!(p.pending(), 1);
        assert_eq!(p.poll_any_blocking().unwrap().tag, 9_999);
        done
    });
    assert_eq!(done.len(), 2_000);
    let mut tags: Vec<_> = done
        .iter()
        .map(|c| {
            assert_eq!(*ok_ref(c), c.tag * 2);
            c.tag
        })
        .collect();
    tags.sort_unstable();
    assert!(tags.iter().copied().eq(0..2_000));
}

#[test]
fn run_all_from_several_threads_at_once() {
    let p = Arc::new(pool::<u64>(vec![cpu(3).with_queue_capacity(4)]));
    let handles: Vec<_> = (0..4u64)
        .map(|t| {
            let p = Arc::clone(&p);
            thread::spawn(move || {
                let tasks = (0..500u64).map(move |i| Task::new(0, move |_| t).with_tag(i));
                p.run_all(tasks)
            })
        })
        .collect();
    within(move || {
        for (t, h) in handles.into_iter().enumerate() {
            let done = h.join().unwrap();
            assert_eq!(done.len(), 500);
            assert!(done.iter().all(|c| *ok_ref(c) == t as u64));
        }
    });
}

#[test]
fn lanes_route_by_index() {
    let lanes = vec![
        LaneConfig::new("gpu0", 1),
        LaneConfig::new("gpu1", 2),
        LaneConfig::new("cpu", 3),
    ];
    let p: Pool<(usize, usize), (usize, usize)> = Pool::new(lanes, |l, w| (l, w)).unwrap();
    let tasks =
        (0..60u64).map(|i| Task::new((i % 3) as usize, |s: &mut (usize, usize)| *s).with_tag(i));
    let done = within(move || p.run_all(tasks));
    for c in &done {
        assert_eq!(c.lane as u64, c.tag % 3);
        assert_eq!(*ok_ref(c), (c.lane, c.worker));
    }
}

#[test]
fn an_invalid_lane_is_refused() {
    let p = pool::<u8>(vec![cpu(1), cpu(1)]);
    assert_eq!(
        p.submit(Task::new(2, |_| 0)).unwrap_err(),
        PoolError::InvalidLane { lane: 2, lanes: 2 }
    );
    assert_eq!(p.pending(), 0);
    assert!(p.poll_any_blocking().is_none());
}

#[test]
#[should_panic(expected = "names lane 5")]
fn run_all_panics_on_an_invalid_lane() {
    let p = pool::<u8>(vec![cpu(1)]);
    p.run_all([Task::new(0, |_| 0), Task::new(5, |_| 0)]);
}

#[test]
fn bad_configurations_are_refused() {
    let make = |lanes| Pool::<(), ()>::new(lanes, |_, _| ()).map(drop);
    assert_eq!(make(vec![]), Err(PoolError::NoLanes));
    assert_eq!(
        make(vec![cpu(1), LaneConfig::new("gpu", 0)]),
        Err(PoolError::NoWorkers { lane: "gpu".into() })
    );
    assert_eq!(
        make(vec![cpu(1).with_queue_capacity(0)]),
        Err(PoolError::ZeroQueueCapacity { lane: "cpu".into() })
    );
}

#[test]
fn a_state_that_panics_while_built_fails_new_and_joins_the_rest() {
    let dropped = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&dropped);
    let result = Pool::<Tracked, ()>::new(vec![cpu(2), LaneConfig::new("gpu", 2)], move |l, w| {
        assert!(!(l == 1 && w == 1), "no device");
        Tracked(Arc::clone(&counter))
    });
    assert_eq!(
        result.unwrap_err(),
        PoolError::StateInit {
            lane: "gpu".into(),
            worker: 1,
            message: "no device".into()
        }
    );
    assert_eq!(dropped.load(SeqCst), 3, "the other workers stopped");
}

#[test]
fn ids_are_unique_across_submitting_threads() {
    let p = Arc::new(pool::<()>(vec![cpu(2)]));
    let seen = Arc::new(Mutex::new(Vec::new()));
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let (p, seen) = (Arc::clone(&p), Arc::clone(&seen));
            thread::spawn(move || {
                let mut mine = Vec::new();
                for _ in 0..250 {
                    mine.push(p.submit(Task::new(0, |_| ())).unwrap());
                }
                assert!(mine.windows(2).all(|w| w[0] < w[1]));
                seen.lock().unwrap().extend(mine);
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let ids: HashSet<_> = seen.lock().unwrap().iter().copied().collect();
    assert_eq!(ids.len(), 1_000);
    let p2 = Arc::clone(&p);
    let polled = within(move || std::iter::from_fn(|| p2.poll_any_blocking()).count());
    assert_eq!(polled, 1_000);
    assert_eq!(p.stats().tasks_run(), 1_000);
}
