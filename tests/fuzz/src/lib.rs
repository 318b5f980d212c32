//! A small, deterministic fuzzing harness run as ordinary `#[test]`s on stable Rust.
//!
//! Each target turns seeded random bytes into a structured input with [`arbitrary`]'s
//! [`Unstructured`] (near-valid templates, bodies, query strings, event streams, plugin
//! requests), mixed with mutations of a checked-in seed corpus, and checks a property on every
//! input: no panic, no hang, and the target's own rule (no unexpected 5xx, no partial plugin
//! output, the same events however a stream is split, ...).
//!
//! The run is bounded and reproducible:
//! - `KRATOS_FUZZ_SEED` (decimal or `0x` hex) changes the seed (default: a fixed one, so CI
//!   always tries the same inputs);
//! - `KRATOS_FUZZ_ITERS` sets the number of generated inputs of every target (default: each
//!   target's CI budget);
//! - `KRATOS_FUZZ_SECS` runs each target for that many seconds instead (a longer developer
//!   run; at least the CI budget is still tried);
//! - `KRATOS_FUZZ_CASE` replays the one case whose seed a failure printed.
//!
//! A failure names the target, the case seed and the input. A case that makes no progress for
//! [`HANG_SECS`] seconds is a hang: the watchdog prints it and ends the test process.

use std::fmt::Debug;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

pub use arbitrary::{Result as GenResult, Unstructured};

pub mod input;

/// Seconds one case may run before the watchdog calls it a hang. Generous: debug builds on a
/// loaded two-core CI machine are slow, and every generated input is small.
pub const HANG_SECS: u64 = 60;

/// The seed CI uses when `KRATOS_FUZZ_SEED` is not set.
pub const DEFAULT_SEED: u64 = 0x6b72_6174_6f73_2d72;

/// How many inputs a run tries, from the environment and the target's CI default.
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    /// The run's seed.
    pub seed: u64,
    /// Generated inputs to try (after the corpus).
    pub iters: u64,
    /// Keep generating until this much time has passed (developer runs).
    pub time: Option<Duration>,
    /// Replay only this case.
    pub case: Option<u64>,
}

impl Budget {
    /// The budget for a target whose CI default is `default_iters` generated inputs.
    pub fn from_env(default_iters: u64) -> Self {
        let seed = env_u64("KRATOS_FUZZ_SEED").unwrap_or(DEFAULT_SEED);
        let iters = env_u64("KRATOS_FUZZ_ITERS").unwrap_or(default_iters);
        let time = env_u64("KRATOS_FUZZ_SECS").map(Duration::from_secs);
        let case = env_u64("KRATOS_FUZZ_CASE");
        Budget {
            seed,
            iters,
            time,
            case,
        }
    }
}

fn env_u64(name: &str) -> Option<u64> {
    let value = std::env::var(name).ok()?;
    let value = value.trim();
    let parsed = match value.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => value.parse(),
    };
    match parsed {
        Ok(v) => Some(v),
        Err(e) => panic!("{name}={value:?} is not a number: {e}"),
    }
}

/// What a run tried: inputs per outcome label (as returned by the check), for the summary and
/// for asserting that the generator reaches the interesting paths.
#[derive(Debug, Default)]
pub struct Report {
    /// The target's name.
    pub target: String,
    /// Inputs tried, corpus included.
    pub inputs: u64,
    /// Of which from the seed corpus.
    pub corpus: u64,
    /// Inputs per outcome label, in first-seen order.
    pub outcomes: Vec<(String, u64)>,
}

impl Report {
    /// How many inputs ended with `outcome`.
    pub fn count(&self, outcome: &str) -> u64 {
        self.outcomes
            .iter()
            .find(|(o, _)| o == outcome)
            .map_or(0, |(_, n)| *n)
    }

    /// How many inputs ended with an outcome starting with `prefix`.
    pub fn count_prefix(&self, prefix: &str) -> u64 {
        self.outcomes
            .iter()
            .filter(|(o, _)| o.starts_with(prefix))
            .map(|(_, n)| n)
            .sum()
    }

    fn add(&mut self, outcome: String) {
        self.inputs += 1;
        match self.outcomes.iter_mut().find(|(o, _)| *o == outcome) {
            Some((_, n)) => *n += 1,
            None => self.outcomes.push((outcome, 1)),
        }
    }
}

/// A fuzz target: generates inputs and checks each.
pub struct Target<'a, I> {
    /// Its name, in messages and summaries.
    pub name: &'a str,
    /// Generated inputs tried in CI.
    pub ci_iters: u64,
    /// Most random bytes given to the generator for one input.
    pub max_bytes: usize,
    /// Seed inputs tried first, as they are.
    pub corpus: Vec<I>,
}

/// The outcome of one check: a label to tally (`Ok`) or why the property failed (`Err`).
pub type Outcome = Result<String, String>;

impl<I: Debug> Target<'_, I> {
    /// Tries the corpus, then generated inputs, checking each; panics with the case and input
    /// on the first failure. Returns what was tried.
    pub fn run(
        self,
        mut generate: impl FnMut(&mut Unstructured<'_>, &[I]) -> GenResult<I>,
        mut check: impl FnMut(&I) -> Outcome,
    ) -> Report {
        let budget = Budget::from_env(self.ci_iters);
        let mut report = Report {
            target: self.name.to_string(),
            ..Report::default()
        };
        let progress = Arc::new(AtomicU64::new(0));
        let current = Arc::new(AtomicU64::new(u64::MAX));
        let finished = Arc::new(AtomicBool::new(false));
        watchdog(
            self.name,
            progress.clone(),
            current.clone(),
            finished.clone(),
        );
        let started = Instant::now();

        let mut try_one = |case: Option<u64>, input: &I, report: &mut Report| {
            current.store(case.unwrap_or(u64::MAX), Ordering::Relaxed);
            let result = catch_unwind(AssertUnwindSafe(|| check(input)));
            progress.fetch_add(1, Ordering::Relaxed);
            let replay = match case {
                Some(c) => format!("case {c:#x} (replay: KRATOS_FUZZ_CASE={c:#x})"),
                None => "a seed-corpus input".to_string(),
            };
            match result {
                Ok(Ok(outcome)) => report.add(outcome),
                Ok(Err(why)) => {
                    finished.store(true, Ordering::Relaxed);
                    panic!(
                        "fuzz {}: {replay} failed: {why}\ninput: {input:?}",
                        self.name
                    )
                }
                Err(_) => {
                    finished.store(true, Ordering::Relaxed);
                    panic!("fuzz {}: {replay} panicked\ninput: {input:?}", self.name)
                }
            }
        };

        if let Some(case) = budget.case {
            let input = generate_case(case, self.max_bytes, &self.corpus, &mut generate);
            try_one(Some(case), &input, &mut report);
        } else {
            for input in &self.corpus {
                try_one(None, input, &mut report);
                report.corpus += 1;
            }
            let mut i = 0u64;
            loop {
                let more_time = budget.time.is_some_and(|t| started.elapsed() < t);
                if i >= budget.iters && !more_time {
                    break;
                }
                let case = case_seed(budget.seed, self.name, i);
                let input = generate_case(case, self.max_bytes, &self.corpus, &mut generate);
                try_one(Some(case), &input, &mut report);
                i += 1;
            }
        }
        finished.store(true, Ordering::Relaxed);
        eprintln!(
            "fuzz {}: {} inputs ({} from the corpus), seed {:#x}, {:.1} s; outcomes: {:?}",
            self.name,
            report.inputs,
            report.corpus,
            budget.seed,
            started.elapsed().as_secs_f64(),
            report.outcomes
        );
        report
    }
}

fn generate_case<I>(
    case: u64,
    max_bytes: usize,
    corpus: &[I],
    generate: &mut impl FnMut(&mut Unstructured<'_>, &[I]) -> GenResult<I>,
) -> I {
    let mut rng = fastrand::Rng::with_seed(case);
    let len = rng.usize(0..=max_bytes);
    let mut bytes = vec![0u8; len];
    rng.fill(&mut bytes);
    let mut u = Unstructured::new(&bytes);
    match generate(&mut u, corpus) {
        Ok(input) => input,
        // The generators take what the bytes give and never fail; if one does, it is a bug
        // of the test, reported with the case to replay.
        Err(e) => panic!("generating case {case:#x}: {e}"),
    }
}

/// The seed of case `i` of `target`: every target and case gets its own stream of bytes.
pub fn case_seed(seed: u64, target: &str, i: u64) -> u64 {
    let mut h = seed ^ 0xcbf2_9ce4_8422_2325;
    for b in target.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    splitmix(h ^ splitmix(i))
}

fn splitmix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// Ends the process when a case of `target` makes no progress for [`HANG_SECS`].
fn watchdog(
    target: &str,
    progress: Arc<AtomicU64>,
    current: Arc<AtomicU64>,
    finished: Arc<AtomicBool>,
) {
    let target = target.to_string();
    std::thread::spawn(move || {
        let mut last = progress.load(Ordering::Relaxed);
        let mut since = Instant::now();
        while !finished.load(Ordering::Relaxed) {
            std::thread::sleep(Duration::from_millis(200));
            let now = progress.load(Ordering::Relaxed);
            if now != last {
                last = now;
                since = Instant::now();
            } else if since.elapsed() > Duration::from_secs(HANG_SECS) {
                let case = current.load(Ordering::Relaxed);
                eprintln!(
                    "fuzz {target}: case {case:#x} hangs (no progress for {HANG_SECS} s); \
                     replay it with KRATOS_FUZZ_CASE={case:#x}"
                );
                std::process::exit(101);
            }
        }
    });
}

/// The directory of a target's seed corpus.
pub fn corpus_dir(target: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("corpus")
        .join(target)
}

/// The files of a target's seed corpus, sorted by name.
pub fn corpus_files(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = corpus_dir(target);
    let entries = match std::fs::read_dir(&dir) {
        Ok(e) => e,
        Err(e) => panic!("corpus {}: {e}", dir.display()),
    };
    let mut files: Vec<(String, Vec<u8>)> = entries
        .filter_map(Result::ok)
        .filter(|e| e.path().is_file())
        .map(|e| {
            let path = e.path();
            let bytes = match std::fs::read(&path) {
                Ok(b) => b,
                Err(err) => panic!("corpus {}: {err}", path.display()),
            };
            (e.file_name().to_string_lossy().into_owned(), bytes)
        })
        .collect();
    files.sort();
    files
}

/// The non-empty, non-comment (`#`) lines of a target's corpus file `name`.
pub fn corpus_lines(target: &str, name: &str) -> Vec<String> {
    let path = corpus_dir(target).join(name);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) => panic!("corpus {}: {e}", path.display()),
    };
    text.lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_string)
        .collect()
}
