//! `-d` selections: which databases, fleets and fleet tenants a command acts on.
//!
//! A selection is a list of patterns; each may be a comma list (`-d a,b`). A part
//! names a database, a fleet (all its tenants), or `fleet:tenant`, with shell-style
//! globs: `*`, `?`, `[abc]`, `[a-z]`, `[!x]`. Every part must select something: a
//! typo in a deploy script is an error, never an empty run that exits 0.

/// The `-d` patterns of one command, comma lists split.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selection {
    parts: Vec<String>,
}

/// A target as a selection sees it: its name and the fleet it belongs to.
#[derive(Debug, Clone, Copy)]
pub struct Candidate<'a> {
    pub name: &'a str,
    pub fleet: Option<&'a str>,
}

impl Selection {
    /// The selection of `patterns`; none selects everything.
    pub fn new(patterns: &[String]) -> Selection {
        let parts = patterns.iter().flat_map(|p| p.split(',')).map(str::trim).filter(|p| !p.is_empty());
        Selection { parts: parts.map(String::from).collect() }
    }

    /// Whether no pattern was given.
    pub fn is_everything(&self) -> bool {
        self.parts.is_empty()
    }

    /// Whether a part selects the target (a database, or a tenant by its full
    /// `fleet:tenant` name or by its fleet's name).
    pub fn selects(&self, target: Candidate) -> bool {
        self.is_everything() || self.parts.iter().any(|p| part_selects(p, target))
    }

    /// Whether a part reaches into `fleet` (`fleet`, `fleet:*`, `fl*:t1`).
    pub fn wants_fleet(&self, fleet: &str) -> bool {
        self.is_everything() || self.parts.iter().any(|p| glob_match(fleet_part(p), fleet))
    }

    /// The parts that select none of `candidates`, in the order given.
    pub fn unmatched<'s>(&'s self, candidates: &[Candidate]) -> Vec<&'s str> {
        let matched = |p: &str| candidates.iter().any(|c| part_selects(p, *c));
        self.parts.iter().map(String::as_str).filter(|p| !matched(p)).collect()
    }

    /// A tally of which parts select something, for candidates that come one at
    /// a time (the tenants of a large fleet).
    pub fn tally(&self) -> Tally<'_> {
        Tally { selection: self, hit: vec![false; self.parts.len()], near: vec![Near::default(); self.parts.len()] }
    }
}

/// What [`Selection::tally`] has seen: which parts selected a candidate and, for
/// those that did not, a few names they might have meant.
pub struct Tally<'s> {
    selection: &'s Selection,
    hit: Vec<bool>,
    near: Vec<Near>,
}

/// Up to six candidate names of a part's fleet (or any, while none of it is
/// seen), and how many there were.
#[derive(Clone, Default)]
struct Near {
    names: Vec<String>,
    count: usize,
    of_fleet: bool,
}

impl Tally<'_> {
    /// Counts `target` in; whether the selection selects it.
    pub fn see(&mut self, target: Candidate) -> bool {
        let mut selected = self.selection.is_everything();
        for (i, part) in self.selection.parts.iter().enumerate() {
            if part_selects(part, target) {
                self.hit[i] = true;
                selected = true;
            } else if !self.hit[i] {
                self.near[i].offer(target.name, target.name.starts_with(fleet_part(part)));
            }
        }
        selected
    }

    /// The first part that selected nothing, with the names it might have meant
    /// (`a, b, … (n in all)`).
    pub fn first_unmatched(&self) -> Option<(&str, String)> {
        let i = self.hit.iter().position(|hit| !hit)?;
        let near = &self.near[i];
        let shown = if near.count > near.names.len() {
            format!("{}, … ({} in all)", near.names.join(", "), near.count)
        } else {
            near.names.join(", ")
        };
        Some((&self.selection.parts[i], shown))
    }
}

impl Near {
    /// Keeps `name` when it is of the part's fleet, or while no such name was seen.
    fn offer(&mut self, name: &str, of_fleet: bool) {
        if of_fleet && !self.of_fleet {
            *self = Near { of_fleet: true, ..Near::default() };
        }
        if of_fleet == self.of_fleet {
            self.count += 1;
            if self.names.len() < 6 {
                self.names.push(name.to_string());
            }
        }
    }
}

fn part_selects(part: &str, target: Candidate) -> bool {
    glob_match(part, target.name) || target.fleet.is_some_and(|f| glob_match(part, f))
}

/// The fleet half of a `fleet:tenant` pattern (the whole pattern otherwise).
pub fn fleet_part(pattern: &str) -> &str {
    pattern.split_once(':').map_or(pattern, |(fleet, _)| fleet)
}

/// Shell-style matching: `*` any run, `?` one character, `[…]` one of a set
/// (ranges `a-z`, negation `[!…]`). A `[` without its `]` matches itself.
pub fn glob_match(pattern: &str, name: &str) -> bool {
    let pattern: Vec<char> = pattern.chars().collect();
    let name: Vec<char> = name.chars().collect();
    // Iterative matching with one backtrack point for the last `*`: linear in
    // practice, never exponential.
    let (mut p, mut n) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while n < name.len() {
        match pattern.get(p) {
            Some('*') => {
                star = Some((p, n));
                p += 1;
                continue;
            }
            Some('?') => {
                p += 1;
                n += 1;
                continue;
            }
            Some('[') => {
                if let Some((matched, next)) = class(&pattern, p, name[n]) {
                    if matched {
                        p = next;
                        n += 1;
                        continue;
                    }
                } else if name[n] == '[' {
                    p += 1;
                    n += 1;
                    continue;
                }
            }
            Some(c) if *c == name[n] => {
                p += 1;
                n += 1;
                continue;
            }
            _ => {}
        }
        match star {
            Some((star_p, star_n)) => {
                p = star_p + 1;
                n = star_n + 1;
                star = Some((star_p, star_n + 1));
            }
            None => return false,
        }
    }
    pattern[p..].iter().all(|c| *c == '*')
}

/// Reads the class `[…]` opening at `open`: whether `c` is in it and the index after
/// its `]`; `None` when the class is never closed.
fn class(pattern: &[char], open: usize, c: char) -> Option<(bool, usize)> {
    let mut i = open + 1;
    let negated = matches!(pattern.get(i), Some('!' | '^'));
    i += usize::from(negated);
    let mut found = false;
    let mut first = true;
    loop {
        let member = *pattern.get(i)?;
        if member == ']' && !first {
            return Some((found != negated, i + 1));
        }
        first = false;
        if pattern.get(i + 1) == Some(&'-') && pattern.get(i + 2).is_some_and(|end| *end != ']') {
            found |= (member..=pattern[i + 2]).contains(&c);
            i += 3;
        } else {
            found |= member == c;
            i += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tenant<'a>(name: &'a str) -> Candidate<'a> {
        Candidate { name, fleet: Some("tenants") }
    }

    #[test]
    fn globs() {
        assert!(glob_match("default", "default"));
        assert!(glob_match("ana*", "analytics"));
        assert!(glob_match("*", "x") && glob_match("*", ""));
        assert!(glob_match("t?", "t1") && !glob_match("t?", "t10"));
        assert!(glob_match("tenants:a*", "tenants:acme"));
        assert!(!glob_match("ana*", "default"));
        assert!(glob_match("tenants:t[12]", "tenants:t2") && !glob_match("tenants:t[12]", "tenants:t3"));
        assert!(glob_match("t[a-c]x", "tbx") && glob_match("t[!a-c]x", "tdx") && !glob_match("t[!a-c]x", "tax"));
        assert!(glob_match("a[b", "a[b"), "an unclosed class matches itself");
        assert!(glob_match("*a*b*c*", "xxaxxbxxcxx") && !glob_match("*a*b*c", "xxaxxbxxcxx"));
    }

    #[test]
    fn comma_lists_and_unmatched_parts() {
        let selection = Selection::new(&["tenants:t1, tenants:t2".to_string(), "default".to_string()]);
        let candidates = [tenant("tenants:t1"), tenant("tenants:t2"), tenant("tenants:t3")];
        assert!(selection.selects(candidates[1]) && !selection.selects(candidates[2]));
        assert_eq!(selection.unmatched(&candidates), ["default"]);
        let typo = Selection::new(&["tenants:t9".to_string()]);
        assert_eq!(typo.unmatched(&candidates), ["tenants:t9"]);
        assert!(typo.wants_fleet("tenants") && !typo.wants_fleet("other"));
        assert!(Selection::new(&[]).selects(candidates[2]));
    }
}
