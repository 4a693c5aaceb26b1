//! What the benchmark programs share: a running child's peak memory (`VmHWM`) and CPU time,
//! sampled from /proc until it exits, and a fixed-seed random generator for their inputs. (A
//! folder, not `examples/common.rs`, so Cargo does not take it for a benchmark of its own.)

// Each benchmark uses the part it needs.
#![allow(dead_code)]

use std::process::{Child, ExitStatus};
use std::time::{Duration, Instant};

/// What sampling a child until it exits saw.
pub struct Sampled {
    pub wall: Duration,
    /// Peak resident memory in KiB (the largest `VmHWM` read).
    pub peak_kib: u64,
    /// User + system CPU time in clock ticks (1/100 s), as last read.
    pub cpu_ticks: u64,
    pub status: ExitStatus,
}

/// Samples `child` every `every` until it exits; `started` is when it was spawned.
pub fn sample(child: &mut Child, started: Instant, every: Duration) -> Sampled {
    let pid = child.id();
    let (mut peak_kib, mut cpu_ticks) = (0, 0);
    loop {
        peak_kib = peak_kib.max(vm_hwm_kib(pid).unwrap_or(0));
        cpu_ticks = cpu_ticks.max(cpu_ticks_of(pid).unwrap_or(0));
        if let Some(status) = child.try_wait().expect("wait for the child") {
            return Sampled {
                wall: started.elapsed(),
                peak_kib,
                cpu_ticks,
                status,
            };
        }
        std::thread::sleep(every);
    }
}

/// The peak resident memory of process `pid` so far, in KiB.
pub fn vm_hwm_kib(pid: u32) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let l = s.lines().find(|l| l.starts_with("VmHWM:"))?;
    l.split_whitespace().nth(1)?.parse().ok()
}

/// User + system CPU time of process `pid`, in clock ticks.
fn cpu_ticks_of(pid: u32) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name: state is field 3, utime 14, stime 15.
    let f: Vec<&str> = s.rsplit_once(')')?.1.split_whitespace().collect();
    let t = |i: usize| f.get(i).and_then(|x| x.parse::<u64>().ok()).unwrap_or(0);
    Some(t(11) + t(12))
}

/// A fixed-seed splitmix64: the same inputs on every machine. Each benchmark adds the draws
/// it needs (`impl common::Rng { … }`).
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

pub mod wordlike;
