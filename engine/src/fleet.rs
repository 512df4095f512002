//! The fleet runner: many targets at once, each on its own task and session.
//! Targets that reach the same database (schema per tenant) pass their sessions
//! on: at most one per job slot, reset between tenants ([`Sessions`]).
//!
//! Guarantees: at most `jobs` targets run at a time; targets that share an
//! exclusivity key (one SQLite file) never run at once; one target's failure,
//! time-out or unreachable server never stops or changes another, unless a
//! [`Rollout`] says otherwise: targets then run in waves, each started only after
//! the one before finished within its failure threshold, and once the failures
//! pass the threshold no more targets start (running ones finish). Targets not
//! started are `skipped`, with the reason.
//!
//! A revision that depends on another database's revision (`Depends On:
//! default:abc123`) makes its target's upgrade wait for that database's run, and
//! the step is refused unless that revision is then applied there; a downgrade
//! waits the other way round, the dependent database first. A target whose
//! database to wait for failed is skipped.
//!
//! Once the targets' [`crate::interrupt::Interrupt`] is triggered, targets not yet
//! started are skipped and running ones stop at their next statement boundary
//! (their running statement cancelled) with the status `interrupted`.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::{Mutex, OwnedSemaphorePermit, Semaphore, oneshot, watch};

use crate::driver::{self, ConnectOptions, Driver, VersionTable};
use crate::executor::{self, Action, AppliedStep, Hooks, Report, RunOptions};
use crate::rollout::{Rollout, Share};
use crate::session;
use retort_history::graph::Graph;
use retort_history::plan::Step;

/// One database to migrate.
#[derive(Clone)]
pub struct Target {
    /// `default`, or `fleet:tenant`.
    pub name: String,
    /// The driver for its URL, shared by every target it serves.
    pub driver: Arc<dyn Driver>,
    pub connect: ConnectOptions,
    pub table: VersionTable,
    /// The history, shared by every target of a fleet.
    pub graph: Arc<Graph>,
    pub run: RunOptions,
    /// Targets with the same key never run at the same time.
    pub exclusive: String,
}

/// How the fleet runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FleetOptions {
    pub jobs: usize,
    /// Waves and the failure threshold (`--fail-fast` is a threshold of 0).
    pub rollout: Rollout,
}

/// What a fleet run did: one outcome per target, in the targets' order.
#[derive(Debug, Clone)]
pub struct FleetReport {
    pub outcomes: Vec<Outcome>,
    /// Why the run stopped starting targets, if it did.
    pub stopped: Option<String>,
    /// How many waves the run had (1 when not staged).
    pub waves: usize,
}

/// How a target ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Ok,
    Failed,
    Skipped,
    /// Stopped by an interrupt (SIGINT, SIGTERM) part-way; locks released.
    Interrupted,
}

/// What happened to one target.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub target: String,
    /// The name of the driver that served it.
    pub driver: String,
    pub status: Status,
    /// The run's report, when the target was reached.
    pub report: Option<Report>,
    /// Why it failed or was skipped.
    pub error: Option<String>,
    /// Whether the failure is a lock that was not acquired in time.
    pub lock_timeout: bool,
    /// Whether the failure is bad input (a spec, a refused .py revision).
    pub bad_input: bool,
    /// When it started (or was skipped), from the start of the fleet run.
    pub started: Duration,
    pub elapsed: Duration,
}

/// What a fleet reports as it runs.
pub enum Event<'a> {
    TargetStarted {
        target: &'a str,
    },
    StepStarted {
        target: &'a str,
        step: &'a Step,
    },
    StepFinished {
        target: &'a str,
        step: &'a AppliedStep,
    },
    /// Something worth saying that is not an error (a resume, a repair).
    Note {
        target: &'a str,
        text: &'a str,
    },
    TargetFinished {
        outcome: &'a Outcome,
    },
    /// A staged run opened wave `wave` (1-based) of `of`, holding `targets`.
    WaveStarted {
        wave: usize,
        of: usize,
        targets: usize,
    },
    /// The run starts no more targets, for `why`; running ones finish.
    Stopped {
        why: &'a str,
    },
}

/// Receives a fleet's events (from many tasks at once).
pub trait Observer: Send + Sync {
    fn event(&self, event: Event<'_>);
}

/// Runs `action` on every target; outcomes come back in the targets' order.
/// `elsewhere` are databases not run now that cross-database dependencies may name:
/// they are only read.
pub async fn run(
    targets: Vec<Target>,
    elsewhere: Vec<Target>,
    action: Action,
    options: FleetOptions,
    observer: Arc<dyn Observer>,
) -> FleetReport {
    let semaphore = Arc::new(Semaphore::new(options.jobs.max(1)));
    let mut exclusive: HashMap<String, Arc<Mutex<()>>> = HashMap::new();
    let mut finished = HashMap::new();
    let mut senders = Vec::new();
    for t in &targets {
        let (tx, rx) = watch::channel(None);
        finished.insert(t.name.clone(), rx);
        senders.push(tx);
        exclusive.entry(t.exclusive.clone()).or_default();
    }
    let named = named_dependencies(&targets);
    let waits_on = waits_on(&targets, &named, &action);
    let cycles = dependency_cycles(&targets, &waits_on);
    let waves = wave_of_each(&targets, &waits_on, &options.rollout);
    let wave_count = waves.iter().max().map_or(1, |w| w + 1);
    let (open, opened) = watch::channel(0usize);
    let sessions = Sessions::for_targets(&targets);
    // Only the databases some history names are ever read for a dependency.
    let wanted: std::collections::HashSet<&str> = named.iter().flat_map(|n| n.iter().map(String::as_str)).collect();
    let known = targets.iter().filter(|t| wanted.contains(t.name.as_str())).cloned().chain(elsewhere).collect();
    let total = targets.len();
    let shared = Arc::new(Shared {
        action,
        finished,
        waits_on,
        known,
        observer,
        stopped: std::sync::Mutex::new(None),
        failures: AtomicUsize::new(0),
        failures_allowed: options.rollout.failures_allowed(total),
        max_failures: options.rollout.max_failures,
        began: Instant::now(),
        sessions,
    });
    let names: Vec<(String, String)> = targets.iter().map(|t| (t.name.clone(), t.driver.name().to_string())).collect();
    // Job slots go to each wave's targets in the order given, so runs start in
    // config order; a target that waits for another database takes a slot once
    // that one finished.
    let mut in_order: Vec<Vec<oneshot::Sender<OwnedSemaphorePermit>>> = (0..wave_count).map(|_| Vec::new()).collect();
    let mut members: Vec<Vec<watch::Receiver<Option<Status>>>> = (0..wave_count).map(|_| Vec::new()).collect();
    let tasks: Vec<_> = targets
        .into_iter()
        .zip(senders)
        .zip(waves)
        .map(|((target, done), wave)| {
            let shared = shared.clone();
            let exclusive = exclusive[&target.exclusive].clone();
            let cycle = cycles.get(&target.name).cloned();
            members[wave].push(shared.finished[&target.name].clone());
            let slot = if shared.waits_on[&target.name].is_empty() {
                let (tx, rx) = oneshot::channel();
                in_order[wave].push(tx);
                Slot::Given(rx)
            } else {
                Slot::Take(semaphore.clone(), opened.clone(), wave)
            };
            tokio::spawn(async move {
                let outcome = match cycle {
                    Some(cycle) => {
                        let error = format!("cross-database dependency cycle: {cycle}");
                        Outcome::failed(&target.name, target.driver.name(), error, true)
                    }
                    None => shared.run_target(&target, slot, exclusive).await,
                };
                shared.observer.event(Event::TargetFinished { outcome: &outcome });
                let _ = done.send(Some(outcome.status));
                outcome
            })
        })
        .collect();
    let canary = options.rollout.canary.min(total);
    let dispatcher = shared.clone();
    tokio::spawn(async move {
        for (wave, (slots, members)) in in_order.into_iter().zip(members).enumerate() {
            let _ = open.send(wave + 1);
            tracing::debug!(wave = wave + 1, of = wave_count, targets = members.len(), "wave opened");
            let stopped = dispatcher.stopped.lock().expect("not poisoned").is_some();
            if wave_count > 1 && !stopped {
                let targets = members.len();
                dispatcher.observer.event(Event::WaveStarted { wave: wave + 1, of: wave_count, targets });
            }
            for tx in slots {
                let Ok(permit) = semaphore.clone().acquire_owned().await else { return };
                let _ = tx.send(permit);
            }
            for mut member in members {
                let _ = member.wait_for(Option::is_some).await;
            }
            if wave + 1 < wave_count {
                dispatcher.judge_wave(wave, wave_count, canary > 0 && wave == 0);
            }
        }
    });
    let mut outcomes = Vec::with_capacity(tasks.len());
    for ((name, driver), task) in names.into_iter().zip(tasks) {
        outcomes.push(task.await.unwrap_or_else(|e| {
            Outcome::failed(&name, &driver, format!("internal error, please report it: {e}"), false)
        }));
    }
    shared.sessions.close_all().await;
    let stopped = shared.stopped.lock().expect("not poisoned").clone();
    FleetReport { outcomes, stopped, waves: wave_count }
}

/// [`dependency_targets`] of each target's history, worked out once per history
/// (a fleet's tenants share one).
fn named_dependencies(targets: &[Target]) -> Vec<Arc<Vec<String>>> {
    let mut by_graph: Vec<(&Arc<Graph>, Arc<Vec<String>>)> = Vec::new();
    let mut named = Vec::with_capacity(targets.len());
    for t in targets {
        let names = match by_graph.iter().find(|(g, _)| Arc::ptr_eq(g, &t.graph)) {
            Some((_, names)) => names.clone(),
            None => {
                let names = Arc::new(dependency_targets(&t.graph));
                by_graph.push((&t.graph, names.clone()));
                names
            }
        };
        named.push(names);
    }
    named
}

/// For each target, the targets of this run it must wait for: on an upgrade the
/// databases its history depends on, on a downgrade those that depend on it.
fn waits_on(targets: &[Target], named: &[Arc<Vec<String>>], action: &Action) -> HashMap<String, Vec<String>> {
    let in_run: std::collections::HashSet<&str> = targets.iter().map(|t| t.name.as_str()).collect();
    let depends: Vec<(String, Vec<String>)> = targets
        .iter()
        .zip(named)
        .map(|(t, names)| {
            let on = names.iter().filter(|d| **d != t.name && in_run.contains(d.as_str())).cloned();
            (t.name.clone(), on.collect())
        })
        .collect();
    let mut waits: HashMap<String, Vec<String>> = targets.iter().map(|t| (t.name.clone(), Vec::new())).collect();
    for (name, on) in &depends {
        match action {
            Action::Upgrade(_) => {
                waits.insert(name.clone(), on.clone());
            }
            Action::Downgrade(_) => {
                for other in on {
                    waits.get_mut(other).expect("a target of the run").push(name.clone());
                }
            }
            _ => {}
        }
    }
    waits
}

/// The wave each target runs in: its place in the order, or later where it
/// waits for a target of a later wave.
fn wave_of_each(targets: &[Target], waits_on: &HashMap<String, Vec<String>>, rollout: &Rollout) -> Vec<usize> {
    let ends = rollout.wave_ends(targets.len());
    let mut waves: Vec<usize> = (0..targets.len()).map(|i| ends.iter().position(|&end| i < end).unwrap_or(0)).collect();
    let index: HashMap<&str, usize> = targets.iter().enumerate().map(|(i, t)| (t.name.as_str(), i)).collect();
    // At most one pass per target: a longer chain would be a cycle, refused anyway.
    for _ in 0..targets.len() {
        let mut moved = false;
        for (i, t) in targets.iter().enumerate() {
            let latest = waits_on[&t.name].iter().map(|o| waves[index[o.as_str()]]).max().unwrap_or(0);
            if latest > waves[i] {
                waves[i] = latest;
                moved = true;
            }
        }
        if !moved {
            break;
        }
    }
    waves
}

impl Outcome {
    /// An outcome that is ok until something fails.
    fn new(target: &str, driver: &str) -> Outcome {
        Outcome {
            target: target.to_string(),
            driver: driver.to_string(),
            status: Status::Ok,
            report: None,
            error: None,
            lock_timeout: false,
            bad_input: false,
            started: Duration::ZERO,
            elapsed: Duration::ZERO,
        }
    }

    /// A failure that happened before (or instead of) a run: no report.
    pub fn failed(target: &str, driver: &str, error: String, bad_input: bool) -> Outcome {
        Outcome { status: Status::Failed, error: Some(error), bad_input, ..Outcome::new(target, driver) }
    }
}

/// Targets whose waits lead back to themselves, with the cycle to show: those
/// would wait for each other forever.
fn dependency_cycles(targets: &[Target], edges: &HashMap<String, Vec<String>>) -> HashMap<String, String> {
    let selected: Vec<&str> = targets.iter().map(|t| t.name.as_str()).collect();
    let mut cycles = HashMap::new();
    for start in &selected {
        // Depth-first from `start`, looking for a path back to it.
        let mut stack: Vec<Vec<&str>> = vec![vec![start]];
        let mut seen: Vec<&str> = Vec::new();
        while let Some(path) = stack.pop() {
            let last = *path.last().expect("non-empty path");
            for next in edges.get(last).into_iter().flatten() {
                if next == start {
                    let mut shown: Vec<&str> = path.clone();
                    shown.push(start);
                    cycles.insert(start.to_string(), shown.join(" -> "));
                } else if !seen.contains(&next.as_str()) {
                    seen.push(next);
                    let mut longer = path.clone();
                    longer.push(next);
                    stack.push(longer);
                }
            }
        }
    }
    cycles
}

/// How a target's task gets its job slot.
enum Slot {
    /// Handed over by the dispatcher when the target's wave opens, in order.
    Given(oneshot::Receiver<OwnedSemaphorePermit>),
    /// Taken by the task itself once its wave (the index) is open and the
    /// databases it waits for finished.
    Take(Arc<Semaphore>, watch::Receiver<usize>, usize),
}

/// What every target's task reads.
struct Shared {
    action: Action,
    /// Each target's end, once it ended.
    finished: HashMap<String, watch::Receiver<Option<Status>>>,
    waits_on: HashMap<String, Vec<String>>,
    /// Targets of this run and databases that are only read.
    known: Vec<Target>,
    observer: Arc<dyn Observer>,
    /// Why no more targets start, once that is so.
    stopped: std::sync::Mutex<Option<String>>,
    failures: AtomicUsize,
    failures_allowed: Option<usize>,
    /// The threshold as given, to name it.
    max_failures: Option<Share>,
    /// When the run began.
    began: Instant,
    sessions: Sessions,
}

/// Sessions handed from one target to the next where several targets of the run
/// reach the same database with the same options (schema per tenant): a finished
/// target's session is reset and set up for the next one instead of closed, so a
/// database holding thousands of tenant schemas sees at most one session per job
/// slot. Targets on databases of their own open their own, when their slot comes.
struct Sessions {
    /// By [`Sessions::key`]: how many targets have yet to take a session, and the
    /// idle ones.
    shared: std::sync::Mutex<HashMap<String, Pool>>,
}

#[derive(Default)]
struct Pool {
    to_come: usize,
    idle: Vec<Box<dyn crate::driver::Connection>>,
}

impl Sessions {
    /// Pools for the keys that more than one of `targets` has.
    fn for_targets(targets: &[Target]) -> Sessions {
        let mut pools: HashMap<String, Pool> = HashMap::new();
        for t in targets {
            pools.entry(Sessions::key(t)).or_default().to_come += 1;
        }
        pools.retain(|_, pool| pool.to_come > 1);
        Sessions { shared: std::sync::Mutex::new(pools) }
    }

    /// Targets with the same key may share a session: same driver, URL and writes.
    /// The schema, timeouts and application name are set per target.
    fn key(target: &Target) -> String {
        let c = &target.connect;
        format!("{}\n{}\n{}", target.driver.name(), c.url.expose(), c.writes)
    }

    /// A session for `target`: an idle one of its key, reset and set up, or a new one.
    async fn open(&self, target: &Target) -> Result<Box<dyn crate::driver::Connection>, driver::DriverError> {
        let idle = {
            let mut pools = self.shared.lock().expect("not poisoned");
            pools.get_mut(&Sessions::key(target)).and_then(|pool| {
                pool.to_come = pool.to_come.saturating_sub(1);
                pool.idle.pop()
            })
        };
        if let Some(conn) = idle {
            match session::reuse(target.driver.as_ref(), conn, &target.connect).await {
                Ok(conn) => {
                    tracing::debug!(db = %target.name, "session reused");
                    return Ok(conn);
                }
                Err(conn) => {
                    tracing::debug!(db = %target.name, "session not reusable: closed");
                    let _ = conn.close().await;
                }
            }
        }
        session::open(target.driver.as_ref(), &target.connect).await
    }

    /// Takes `target`'s session back when it ended well and another target will
    /// want it; closes it otherwise.
    async fn done(&self, target: &Target, conn: Box<dyn crate::driver::Connection>, ended_well: bool) {
        let conn = {
            let mut pools = self.shared.lock().expect("not poisoned");
            match pools.get_mut(&Sessions::key(target)) {
                Some(pool) if ended_well && pool.to_come > 0 => {
                    pool.idle.push(conn);
                    return;
                }
                _ => conn,
            }
        };
        let _ = conn.close().await;
    }

    /// Closes what is left idle (targets skipped after all).
    async fn close_all(&self) {
        let idle: Vec<_> = {
            let mut pools = self.shared.lock().expect("not poisoned");
            pools.values_mut().flat_map(|pool| pool.idle.drain(..)).collect()
        };
        for conn in idle {
            let _ = conn.close().await;
        }
    }
}

impl Shared {
    async fn run_target(self: &Arc<Self>, target: &Target, slot: Slot, exclusive: Arc<Mutex<()>>) -> Outcome {
        let mut outcome = Outcome::new(&target.name, target.driver.name());
        let unfinished = self.wait_for_others(target).await;
        let _permit = match slot {
            Slot::Given(rx) => rx.await.ok(),
            Slot::Take(semaphore, mut opened, wave) => {
                let _ = opened.wait_for(|open| *open > wave).await;
                semaphore.acquire_owned().await.ok()
            }
        };
        let _exclusive = exclusive.lock().await;
        let started = Instant::now();
        outcome.started = started.duration_since(self.began);
        let not_started = if target.run.interrupt.is_triggered() {
            Some("not started: interrupted".to_string())
        } else if let Some(why) = self.stopped.lock().expect("not poisoned").clone() {
            Some(format!("not started: {why}"))
        } else {
            unfinished.map(|why| format!("not started: {why}"))
        };
        if let Some(why) = not_started {
            tracing::info!(db = %target.name, why, "skipped");
            outcome.status = Status::Skipped;
            outcome.error = Some(why);
            return outcome;
        }
        self.observer.event(Event::TargetStarted { target: &target.name });
        tracing::debug!(db = %target.name, driver = target.driver.name(), "target started");
        // The connecting and running futures are large; boxed, they take memory only
        // while the target runs (at most `jobs` at once), not from the moment the
        // task is spawned, which is at the start for every target.
        match Box::pin(self.sessions.open(target)).await {
            Err(e) => {
                outcome.error = Some(format!("cannot connect to {}: {e}", target.connect.url));
            }
            Ok(mut conn) => {
                let hooks = TargetHooks { shared: self.clone(), target };
                let dialect = target.driver.dialect();
                let report = Box::pin(executor::run_with_hooks(
                    conn.as_mut(),
                    dialect,
                    &target.graph,
                    &target.table,
                    &self.action,
                    &target.run,
                    &hooks,
                ))
                .await;
                Box::pin(self.sessions.done(target, conn, report.error.is_none())).await;
                if let Some(e) = &report.error {
                    outcome.error = Some(driver::redact(&e.to_string(), target.connect.url.expose()));
                    outcome.lock_timeout = e.is_lock_timeout();
                    outcome.bad_input = e.is_bad_input();
                    if matches!(e, executor::RunError::Interrupted(_)) {
                        outcome.status = Status::Interrupted;
                    }
                }
                outcome.report = Some(report);
            }
        }
        if outcome.error.is_some() && outcome.status == Status::Ok {
            outcome.status = Status::Failed;
            self.count_failure(&target.name);
        }
        outcome.elapsed = started.elapsed();
        let ms = outcome.elapsed.as_millis() as u64;
        match &outcome.error {
            None => tracing::info!(db = %target.name, status = ?outcome.status, ms, "target finished"),
            Some(error) => tracing::info!(db = %target.name, status = ?outcome.status, ms, error, "target finished"),
        }
        outcome
    }

    /// Counts a failure; past the threshold, no more targets start.
    fn count_failure(&self, target: &str) {
        let failures = self.failures.fetch_add(1, Ordering::SeqCst) + 1;
        match (self.failures_allowed, self.max_failures) {
            (Some(0), _) => self.stop(format!("{target} failed and the run stops at the first failure")),
            (Some(allowed), Some(given)) if failures > allowed => {
                self.stop(format!("{failures} targets failed, more than --max-failures {given} allows"));
            }
            _ => {}
        }
    }

    /// After wave `wave` (0-based) of `count` finished: whether the next one starts.
    fn judge_wave(&self, wave: usize, count: usize, canary: bool) {
        let failures = self.failures.load(Ordering::SeqCst);
        if canary && failures > 0 {
            self.stop(format!("the canary wave had {failures} failed target(s)"));
        } else if failures > self.failures_allowed.unwrap_or(0) {
            self.stop(format!("wave {} of {count} ended with {failures} failed target(s)", wave + 1));
        }
    }

    /// Starts no more targets, for `why` (the first reason stays).
    fn stop(&self, why: String) {
        let mut stopped = self.stopped.lock().expect("not poisoned");
        if stopped.is_none() {
            tracing::info!(why, "no more targets start");
            self.observer.event(Event::Stopped { why: &why });
            *stopped = Some(why);
        }
    }

    /// Waits until every target this one waits for has finished; says why this
    /// one must not start when one of those did not end well.
    async fn wait_for_others(&self, target: &Target) -> Option<String> {
        let mut unfinished = Vec::new();
        for other in &self.waits_on[&target.name] {
            let mut rx = self.finished[other].clone();
            let status = rx.wait_for(Option::is_some).await.ok().and_then(|s| *s);
            if status != Some(Status::Ok) {
                unfinished.push(other.as_str());
            }
        }
        let (verb, relation) = match self.action {
            Action::Downgrade(_) => ("downgrade", "depends on this database"),
            _ => ("upgrade", "this database depends on"),
        };
        (!unfinished.is_empty())
            .then(|| format!("the {verb} of {}, which {relation}, did not succeed", unfinished.join(", ")))
    }

    /// Whether `revision` is applied in the target called `name`.
    async fn applied_in(&self, name: &str, revision: &str) -> Result<bool, String> {
        let other =
            self.known.iter().find(|t| t.name == name).ok_or_else(|| format!("no database `{name}` is configured"))?;
        let index = other.graph.index_of(revision).ok_or_else(|| format!("`{name}` has no revision {revision}"))?;
        let options = ConnectOptions { writes: false, ..other.connect.clone() };
        let mut conn =
            session::open(other.driver.as_ref(), &options).await.map_err(|e| format!("cannot read `{name}`: {e}"))?;
        let rows = driver::read_versions(conn.as_mut(), other.driver.dialect(), &other.table).await;
        let _ = conn.close().await;
        let rows: Vec<usize> = rows
            .map_err(|e| e.to_string())?
            .unwrap_or_default()
            .iter()
            .filter_map(|r| other.graph.index_of(r))
            .collect();
        Ok(other.graph.ancestors(&rows, true).contains(index))
    }
}

/// The targets named by `target:revision` dependencies anywhere in a history.
pub fn dependency_targets(graph: &Graph) -> Vec<String> {
    let mut names: Vec<String> =
        (0..graph.len()).flat_map(|i| graph.external_dependencies(i).map(|(t, _)| t.to_string())).collect();
    names.sort();
    names.dedup();
    names
}

/// Connects one target's run to the fleet: events out, cross-database gates in.
struct TargetHooks<'a> {
    shared: Arc<Shared>,
    target: &'a Target,
}

#[async_trait::async_trait]
impl Hooks for TargetHooks<'_> {
    fn step_started(&self, step: &Step) {
        self.shared.observer.event(Event::StepStarted { target: &self.target.name, step });
    }

    fn step_finished(&self, step: &AppliedStep) {
        self.shared.observer.event(Event::StepFinished { target: &self.target.name, step });
    }

    fn note(&self, text: &str) {
        self.shared.observer.event(Event::Note { target: &self.target.name, text });
    }

    async fn before_step(&self, step: &Step) -> Result<(), String> {
        if step.direction != retort_history::plan::Direction::Up {
            return Ok(());
        }
        let Some(index) = self.target.graph.index_of(&step.revision) else { return Ok(()) };
        for (other, revision) in self.target.graph.external_dependencies(index) {
            if !self.shared.applied_in(other, revision).await? {
                return Err(format!(
                    "revision {} waits for {other}:{revision}, which {other} has not applied",
                    step.revision
                ));
            }
        }
        Ok(())
    }
}

/// Whether `name` falls in shard `k` of `n` (1-based): a stable hash of the name,
/// the same in every process and version, so N runners cover a fleet without overlap.
pub fn in_shard(name: &str, k: u32, n: u32) -> bool {
    n > 0 && (driver::fnv1a(name.bytes()) % u64::from(n)) as u32 == k - 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_cover_every_name_once() {
        let names: Vec<String> = (0..1000).map(|i| format!("tenants:t{i}")).collect();
        let mut counts = [0usize; 3];
        for name in &names {
            let hits: Vec<u32> = (1..=3).filter(|&k| in_shard(name, k, 3)).collect();
            assert_eq!(hits.len(), 1, "{name}");
            counts[hits[0] as usize - 1] += 1;
        }
        assert!(counts.iter().all(|&c| c > 250), "{counts:?}");
    }
}
