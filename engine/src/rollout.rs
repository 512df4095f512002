//! Staged rollouts: which wave each target of a run is in, and how many failures
//! a run takes before it starts no more targets.
//!
//! A run's targets keep their order (the config's, a names file's). A canary of
//! `n` targets is the first wave and must succeed whole. The waves that follow
//! are cumulative shares of all the targets: `1,10%,100%` ends the first wave
//! once one target ran, the second once a tenth did, the last with every
//! target. A wave starts only after the one before it finished, and only while
//! the failures so far are within the threshold (none by default). Parsed here
//! from `--waves`/`--max-failures` and the config's `[rollout]`; see
//! `docs/rollouts.md`.

use std::str::FromStr;

/// A count of targets, or a percentage of the run's targets (rounded up).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Share {
    Count(usize),
    Percent(u32),
}

impl Share {
    /// How many of `total` targets this is.
    pub fn of(self, total: usize) -> usize {
        match self {
            Share::Count(n) => n.min(total),
            Share::Percent(p) => (total * p as usize).div_ceil(100),
        }
    }
}

impl FromStr for Share {
    type Err = String;

    fn from_str(text: &str) -> Result<Share, String> {
        let text = text.trim();
        let bad = || format!("`{text}` is not a count (5) or a percentage (10%)");
        match text.strip_suffix('%') {
            Some(p) => match p.trim().parse::<u32>() {
                Ok(p) if p <= 100 => Ok(Share::Percent(p)),
                _ => Err(bad()),
            },
            None => text.parse().map(Share::Count).map_err(|_| bad()),
        }
    }
}

impl std::fmt::Display for Share {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Share::Count(n) => write!(f, "{n}"),
            Share::Percent(p) => write!(f, "{p}%"),
        }
    }
}

/// Waves after the canary, as cumulative shares: `1,10%,100%`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Waves(pub Vec<Share>);

impl FromStr for Waves {
    type Err = String;

    fn from_str(text: &str) -> Result<Waves, String> {
        let mut shares: Vec<Share> = Vec::new();
        for part in text.split(',') {
            let share: Share = part.parse().map_err(|e| format!("wave {e}"))?;
            if matches!(share, Share::Count(0) | Share::Percent(0)) {
                return Err(format!("wave `{}` is empty: a wave holds at least one target", part.trim()));
            }
            let shrinks = match (shares.last(), share) {
                (Some(Share::Count(a)), Share::Count(b)) => b <= *a,
                (Some(Share::Percent(a)), Share::Percent(b)) => b <= *a,
                _ => false,
            };
            if shrinks {
                return Err(format!(
                    "waves `{text}` must grow: each one is a share of all the targets, counted from the start"
                ));
            }
            shares.push(share);
        }
        Ok(Waves(shares))
    }
}

/// How a writing run is staged.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rollout {
    /// The first `canary` targets: a wave of their own that must succeed whole.
    pub canary: usize,
    pub waves: Waves,
    /// More failures than this, and the run starts no more targets. `None`: no
    /// limit, except between waves, where any failure stops the run.
    pub max_failures: Option<Share>,
}

impl Rollout {
    /// Where each wave ends among `total` targets: strictly growing counts, the
    /// last one `total`. Unstaged, one wave of everything.
    pub fn wave_ends(&self, total: usize) -> Vec<usize> {
        let mut ends = Vec::new();
        let canary = self.canary.min(total);
        if canary > 0 {
            ends.push(canary);
        }
        for share in &self.waves.0 {
            let end = share.of(total).max(1);
            if ends.last().is_none_or(|&last| end > last) {
                ends.push(end);
            }
        }
        if ends.last() != Some(&total) {
            ends.push(total);
        }
        ends
    }

    /// How many failures the run takes before it starts no more targets.
    pub fn failures_allowed(&self, total: usize) -> Option<usize> {
        self.max_failures.map(|share| share.of(total))
    }

    /// Whether the run has more than one wave.
    pub fn is_staged(&self) -> bool {
        self.canary > 0 || !self.waves.0.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rollout(canary: usize, waves: &str) -> Rollout {
        let waves = if waves.is_empty() { Waves::default() } else { waves.parse().unwrap() };
        Rollout { canary, waves, max_failures: None }
    }

    #[test]
    fn waves_are_cumulative_shares_of_all_targets() {
        assert_eq!(rollout(0, "1,10%,100%").wave_ends(50), [1, 5, 50]);
        assert_eq!(rollout(0, "1,10%,100%").wave_ends(3), [1, 3], "10% of 3 rounds up to 1, the same as wave 1");
        assert_eq!(rollout(2, "1,50%").wave_ends(10), [2, 5, 10], "the canary first; a wave inside it is dropped");
        assert_eq!(rollout(20, "").wave_ends(5), [5]);
        assert_eq!(Rollout::default().wave_ends(7), [7]);
        assert_eq!(Rollout::default().wave_ends(0), [0]);
    }

    #[test]
    fn bad_waves_say_what_is_wrong() {
        for (text, says) in [
            ("1,x", "`x` is not a count"),
            ("0,100%", "is empty"),
            ("0%", "is empty"),
            ("10%,5%", "must grow"),
            ("5,5", "must grow"),
            ("150%", "not a count"),
            ("", "not a count"),
        ] {
            let err = text.parse::<Waves>().unwrap_err();
            assert!(err.contains(says), "{text}: {err}");
        }
        assert_eq!("5, 10%".parse::<Waves>().unwrap(), Waves(vec![Share::Count(5), Share::Percent(10)]));
    }

    #[test]
    fn failure_thresholds_are_counts_or_shares() {
        let with = |m: &str| Rollout { max_failures: Some(m.parse().unwrap()), ..Rollout::default() };
        assert_eq!(with("3").failures_allowed(100), Some(3));
        assert_eq!(with("5%").failures_allowed(1000), Some(50));
        assert_eq!(with("1%").failures_allowed(10), Some(1), "rounded up");
        assert_eq!(Rollout::default().failures_allowed(10), None);
    }
}
