//! CPU usage as the BBR limiter sees it, in permille (0..=1000) of the CPU the process may use.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// A source of CPU usage, in permille (0 = idle, 1000 = every CPU the process may use is busy).
///
/// [`SystemCpu`] reads the real usage; tests inject their own to drive a limiter
/// deterministically.
pub trait CpuUsage: Send + Sync + 'static {
    /// The current usage, in permille.
    fn usage(&self) -> u64;
}

impl CpuUsage for AtomicU64 {
    fn usage(&self) -> u64 {
        self.load(Ordering::Relaxed)
    }
}

/// How often the process-wide sampler reads the CPU counters.
const SAMPLE_INTERVAL: Duration = Duration::from_millis(500);
/// Weight of the previous average in each new sample (a moving average, as aegis).
const DECAY: f64 = 0.95;

/// The process's CPU usage, smoothed: sampled every 500 ms and averaged with decay 0.95, as
/// aegis does. Read from the cgroup the process runs in (v2 `cpu.stat` against `cpu.max`, or v1
/// `cpuacct.usage` against the CFS quota), else from the host's `/proc/stat`; on a system with
/// none of these (not Linux) the usage stays 0 and a BBR limiter never rejects.
///
/// All limiters share one sampler: a single background thread, started by the first
/// [`SystemCpu::shared`] call.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemCpu;

static USAGE: AtomicU64 = AtomicU64::new(0);
static STARTED: OnceLock<()> = OnceLock::new();

impl SystemCpu {
    /// The shared sampler, started on first use.
    pub fn shared() -> Arc<dyn CpuUsage> {
        STARTED.get_or_init(start_sampler);
        Arc::new(SystemCpu)
    }
}

impl CpuUsage for SystemCpu {
    fn usage(&self) -> u64 {
        USAGE.load(Ordering::Relaxed)
    }
}

fn start_sampler() {
    let Some(mut source) = Source::detect() else {
        tracing::debug!("no CPU usage source (cgroup or /proc/stat); BBR sees the CPU idle");
        return;
    };
    let spawned = std::thread::Builder::new()
        .name("kratos-cpu-sampler".into())
        .spawn(move || {
            let mut previous = source.read();
            loop {
                std::thread::sleep(SAMPLE_INTERVAL);
                let Some(current) = source.read() else {
                    continue;
                };
                if let Some(prev) = previous
                    && let Some(usage) = source.usage_between(prev, current)
                {
                    let old = USAGE.load(Ordering::Relaxed) as f64;
                    let smoothed = old * DECAY + usage as f64 * (1.0 - DECAY);
                    USAGE.store(smoothed.round() as u64, Ordering::Relaxed);
                }
                previous = Some(current);
            }
        });
    if let Err(err) = spawned {
        tracing::warn!(%err, "could not start the CPU sampler; BBR sees the CPU idle");
    }
}

/// Where the counters come from.
#[derive(Debug)]
enum Source {
    /// cgroup v2: `usage_usec` of `cpu.stat`, against the wall clock times the allowed CPUs.
    CgroupV2 { stat: PathBuf, cpus: f64 },
    /// cgroup v1: `cpuacct.usage` (ns), against the wall clock times the allowed CPUs.
    CgroupV1 { usage: PathBuf, cpus: f64 },
    /// The host's `/proc/stat` aggregate line: busy ticks against all ticks.
    Host,
}

/// One reading: used CPU time and the time it is measured against, in the same unit.
#[derive(Debug, Clone, Copy)]
struct Reading {
    used: u64,
    elapsed: Duration,
    total: u64,
}

impl Source {
    fn detect() -> Option<Source> {
        let host_cpus = std::thread::available_parallelism()
            .map(|n| n.get() as f64)
            .unwrap_or(1.0);
        let v2 = cgroup_v2_dir().unwrap_or_else(|| PathBuf::from("/sys/fs/cgroup"));
        if v2.join("cpu.stat").is_file() {
            let cpus = std::fs::read_to_string(v2.join("cpu.max"))
                .ok()
                .and_then(|s| parse_cpu_max(&s))
                .unwrap_or(host_cpus)
                .min(host_cpus);
            return Some(Source::CgroupV2 {
                stat: v2.join("cpu.stat"),
                cpus,
            });
        }
        let v1 = Path::new("/sys/fs/cgroup/cpuacct/cpuacct.usage");
        if v1.is_file() {
            let read = |name: &str| {
                std::fs::read_to_string(Path::new("/sys/fs/cgroup/cpu").join(name))
                    .ok()
                    .and_then(|s| s.trim().parse::<i64>().ok())
            };
            let cpus = match (read("cpu.cfs_quota_us"), read("cpu.cfs_period_us")) {
                (Some(quota), Some(period)) if quota > 0 && period > 0 => {
                    (quota as f64 / period as f64).min(host_cpus)
                }
                _ => host_cpus,
            };
            return Some(Source::CgroupV1 {
                usage: v1.to_path_buf(),
                cpus,
            });
        }
        Path::new("/proc/stat").is_file().then_some(Source::Host)
    }

    fn read(&mut self) -> Option<Reading> {
        let elapsed = monotonic();
        match self {
            Source::CgroupV2 { stat, .. } => {
                let text = std::fs::read_to_string(stat).ok()?;
                let usec = parse_cpu_stat_usage_usec(&text)?;
                Some(Reading {
                    used: usec.saturating_mul(1000),
                    elapsed,
                    total: 0,
                })
            }
            Source::CgroupV1 { usage, .. } => {
                let ns = std::fs::read_to_string(usage).ok()?.trim().parse().ok()?;
                Some(Reading {
                    used: ns,
                    elapsed,
                    total: 0,
                })
            }
            Source::Host => {
                let text = std::fs::read_to_string("/proc/stat").ok()?;
                let (busy, total) = parse_proc_stat(&text)?;
                Some(Reading {
                    used: busy,
                    elapsed,
                    total,
                })
            }
        }
    }

    /// Usage in permille between two readings.
    fn usage_between(&self, prev: Reading, cur: Reading) -> Option<u64> {
        let used = cur.used.checked_sub(prev.used)? as f64;
        let against = match self {
            Source::CgroupV2 { cpus, .. } | Source::CgroupV1 { cpus, .. } => {
                (cur.elapsed.checked_sub(prev.elapsed)?.as_nanos() as f64) * cpus
            }
            Source::Host => cur.total.checked_sub(prev.total)? as f64,
        };
        (against > 0.0).then(|| ((used / against) * 1000.0).clamp(0.0, 1000.0).round() as u64)
    }
}

/// Time since the sampler's first reading, for the cgroup sources' wall clock.
fn monotonic() -> Duration {
    static BASE: OnceLock<Instant> = OnceLock::new();
    BASE.get_or_init(Instant::now).elapsed()
}

/// The process's cgroup v2 directory, from the `0::<path>` line of `/proc/self/cgroup`.
fn cgroup_v2_dir() -> Option<PathBuf> {
    let text = std::fs::read_to_string("/proc/self/cgroup").ok()?;
    let path = text.lines().find_map(|l| l.strip_prefix("0::"))?;
    let dir = Path::new("/sys/fs/cgroup").join(path.trim_start_matches('/'));
    dir.join("cpu.stat").is_file().then_some(dir)
}

/// CPUs allowed by a cgroup v2 `cpu.max` (`"<quota> <period>"`, or `"max <period>"` for no
/// limit, which is `None`).
fn parse_cpu_max(text: &str) -> Option<f64> {
    let mut fields = text.split_whitespace();
    let quota: f64 = fields.next()?.parse().ok()?;
    let period: f64 = fields.next()?.parse().ok()?;
    (quota > 0.0 && period > 0.0).then(|| quota / period)
}

/// `usage_usec` of a cgroup v2 `cpu.stat`.
fn parse_cpu_stat_usage_usec(text: &str) -> Option<u64> {
    text.lines()
        .find_map(|l| l.strip_prefix("usage_usec "))
        .and_then(|v| v.trim().parse().ok())
}

/// Busy and total ticks of the aggregate `cpu` line of `/proc/stat` (idle and iowait are not
/// busy; guest time is already counted in user time and is left out of the total).
fn parse_proc_stat(text: &str) -> Option<(u64, u64)> {
    let line = text.lines().find(|l| l.starts_with("cpu "))?;
    let fields: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .take(8)
        .map(str::parse)
        .collect::<Result<_, _>>()
        .ok()?;
    let total: u64 = fields.iter().sum();
    let idle = fields.get(3).copied().unwrap_or(0) + fields.get(4).copied().unwrap_or(0);
    Some((total.saturating_sub(idle), total))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn cpu_max_gives_the_allowed_cpus_or_none_when_unlimited() {
        assert_eq!(parse_cpu_max("200000 100000\n"), Some(2.0));
        assert_eq!(parse_cpu_max("50000 100000"), Some(0.5));
        assert_eq!(parse_cpu_max("max 100000\n"), None);
        assert_eq!(parse_cpu_max(""), None);
    }

    #[test]
    fn cpu_stat_usage_is_read_by_name() {
        let text = "usage_usec 1234\nuser_usec 1000\nsystem_usec 234\n";
        assert_eq!(parse_cpu_stat_usage_usec(text), Some(1234));
        assert_eq!(parse_cpu_stat_usage_usec("user_usec 5\n"), None);
    }

    #[test]
    fn proc_stat_busy_excludes_idle_and_iowait() {
        // user nice system idle iowait irq softirq steal guest guest_nice
        let text = "cpu  100 10 40 800 50 0 0 0 7 0\ncpu0 1 2 3 4 5 6 7 8\n";
        assert_eq!(parse_proc_stat(text), Some((150, 1000)));
        assert_eq!(parse_proc_stat("intr 1 2 3\n"), None);
    }

    #[test]
    fn usage_is_the_share_of_the_allowed_cpu_time() {
        let source = Source::CgroupV2 {
            stat: PathBuf::new(),
            cpus: 2.0,
        };
        let at = |used, ms| Reading {
            used,
            elapsed: Duration::from_millis(ms),
            total: 0,
        };
        // 500 ms of CPU over 500 ms of wall time on 2 CPUs: half.
        assert_eq!(
            source.usage_between(at(0, 0), at(500_000_000, 500)),
            Some(500)
        );
        // A counter going backwards gives no sample rather than a wrong one.
        assert_eq!(source.usage_between(at(10, 0), at(5, 500)), None);
        let host = Source::Host;
        let ticks = |used, total| Reading {
            used,
            elapsed: Duration::ZERO,
            total,
        };
        assert_eq!(host.usage_between(ticks(0, 0), ticks(90, 100)), Some(900));
        assert_eq!(host.usage_between(ticks(0, 0), ticks(0, 0)), None);
    }
}
