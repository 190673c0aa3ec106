//! Scheduling of the daemon process itself: `vrrp_priority` (nice), `vrrp_rt_priority`
//! (SCHED_RR, reset on fork so scripts run normally), `vrrp_rlimit_rttime`, `vrrp_no_swap`
//! (mlockall), `vrrp_cpu_affinity`.

use nix::errno::Errno;
use nix::sched::{CpuSet, sched_setaffinity};
use nix::sys::resource::{Resource, setrlimit};
use nix::unistd::Pid;

use super::SysError;
use crate::vrrp::spec::SchedSpec;

/// keepalived's default RLIMIT_RTTIME when a real-time priority is set (µs).
const DEFAULT_RTTIME_US: u64 = 10_000;

/// Apply `s` to this process. Every step is tried; the failures are returned, each naming
/// the call and the value.
pub fn apply(s: &SchedSpec) -> Vec<SysError> {
    let mut errs = Vec::new();
    if let Some(nice) = s.nice {
        // SAFETY: setpriority only reads its integer arguments. `which` has a different C type
        // on glibc and musl, hence the inferred cast.
        let rc = unsafe { libc::setpriority(libc::PRIO_PROCESS as _, 0, nice) };
        if rc < 0 {
            errs.push(SysError::new(
                "setpriority(PRIO_PROCESS)",
                format!("vrrp_priority {nice}"),
                Errno::last(),
            ));
        }
    }
    if let Some(prio) = s.rt_priority {
        // A runaway real-time loop is stopped by the kernel after this much CPU time without
        // a blocking call (SIGXCPU, then SIGKILL at the hard limit).
        let rttime = s.rlimit_rttime_us.unwrap_or(DEFAULT_RTTIME_US);
        if let Err(e) = setrlimit(Resource::RLIMIT_RTTIME, rttime, rttime.saturating_mul(2)) {
            errs.push(SysError::new(
                "setrlimit(RLIMIT_RTTIME)",
                format!("vrrp_rlimit_rttime {rttime}"),
                e,
            ));
        }
        // SAFETY: sched_param is plain old data (musl's has more fields than glibc's); all
        // zeros is a valid value.
        let mut param: libc::sched_param = unsafe { std::mem::zeroed() };
        param.sched_priority = i32::from(prio);
        // SAFETY: `param` is a valid sched_param for the duration of the call. RESET_ON_FORK
        // makes script children start with the normal policy and nice value.
        let rc = unsafe {
            libc::sched_setscheduler(0, libc::SCHED_RR | libc::SCHED_RESET_ON_FORK, &param)
        };
        if rc < 0 {
            errs.push(SysError::new(
                "sched_setscheduler(SCHED_RR)",
                format!("vrrp_rt_priority {prio}"),
                Errno::last(),
            ));
        }
    }
    if s.no_swap {
        // SAFETY: mlockall takes only flags.
        let rc = unsafe { libc::mlockall(libc::MCL_CURRENT | libc::MCL_FUTURE) };
        if rc < 0 {
            errs.push(SysError::new(
                "mlockall(MCL_CURRENT|MCL_FUTURE)",
                "vrrp_no_swap",
                Errno::last(),
            ));
        }
    }
    if !s.cpu_affinity.is_empty() {
        let mut set = CpuSet::new();
        let mut bad = None;
        for &cpu in &s.cpu_affinity {
            if let Err(e) = set.set(cpu as usize) {
                bad = Some((cpu, e));
            }
        }
        let r = match bad {
            Some((_, e)) => Err(e),
            None => sched_setaffinity(Pid::from_raw(0), &set),
        };
        if let Err(e) = r {
            errs.push(SysError::new(
                "sched_setaffinity",
                format!("vrrp_cpu_affinity {:?}", s.cpu_affinity),
                e,
            ));
        }
    }
    errs
}

/// `process_name` / `vrrp_process_name` / `process_names`: the name `ps`, `pgrep` and `top`
/// show (`/proc/PID/comm`), set with prctl(PR_SET_NAME) on the calling thread, which is the
/// process's main thread when called from the daemon. The kernel keeps 15 bytes.
pub fn set_process_name(name: &str) -> Result<(), SysError> {
    let c = std::ffi::CString::new(name)
        .map_err(|_| SysError::new("prctl(PR_SET_NAME)", name, Errno::EINVAL))?;
    nix::sys::prctl::set_name(&c).map_err(|e| SysError::new("prctl(PR_SET_NAME)", name, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_process_name_sets_this_threads_comm() {
        // The test harness runs each test on its own thread: only that thread is renamed.
        set_process_name("rk_name_test").unwrap();
        let comm = std::fs::read_to_string("/proc/thread-self/comm").unwrap();
        assert_eq!(comm.trim_end(), "rk_name_test");
        assert!(set_process_name("nul\0byte").is_err());
    }
}
