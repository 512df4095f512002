//! Alembic's revision spec grammar, resolved against a [`Graph`].
//!
//! `head`, `heads`, `base`, full ids, unique prefixes, branch labels, `label@head`,
//! `label@base`, `<rev>@head`, `+N`, `-N`, `<rev>+N`, `label@-N` and friends land
//! on the same revisions as in Alembic. Resolution is pure: it reads the graph and,
//! for relative specs, the database's current heads passed in by the caller.

use crate::error::SpecError;
use crate::graph::Graph;

/// Where a walk through the graph ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pos {
    /// Before every base: the empty database.
    Base,
    /// A revision, by index.
    Rev(usize),
}

/// A relative spec split into Alembic's three parts: `branch@symbol±N`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Relative<'a> {
    /// The part before `@`, if any.
    pub branch: Option<&'a str>,
    /// The revision the steps count from; `None` counts from the current heads.
    pub symbol: Option<&'a str>,
    /// The signed step count.
    pub steps: i64,
    /// The `±N` text as written.
    pub text: &'a str,
}

/// Matches Alembic's `(?:(.+?)@)?(\w+)?((?:\+|-)\d+)` against the whole of
/// `spec`. Alembic matches only its start, so that `+1x` or `c@-1 ` run `+1` and
/// `c@-1`; retort reads those as names, which then fail to resolve.
pub fn relative(spec: &str) -> Option<Relative<'_>> {
    let at_positions = spec.char_indices().filter(|&(i, c)| c == '@' && i > 0).map(|(i, _)| i);
    for at in at_positions {
        if let Some((symbol, text)) = symbol_and_steps(&spec[at + 1..]) {
            return Some(Relative { branch: Some(&spec[..at]), symbol, steps: parse_steps(text), text });
        }
    }
    let (symbol, text) = symbol_and_steps(spec)?;
    Some(Relative { branch: None, symbol, steps: parse_steps(text), text })
}

/// `symbol±N` making up all of `rest`.
fn symbol_and_steps(rest: &str) -> Option<(Option<&str>, &str)> {
    let word_end = rest.find(|c: char| !(c.is_alphanumeric() || c == '_')).unwrap_or(rest.len());
    let after = &rest[word_end..];
    let digits = after.get(1..)?.chars().take_while(char::is_ascii_digit).count();
    if !(after.starts_with('+') || after.starts_with('-')) || digits == 0 || after.len() != 1 + digits {
        return None;
    }
    let symbol = (word_end > 0).then(|| &rest[..word_end]);
    Some((symbol, after))
}

fn parse_steps(text: &str) -> i64 {
    let magnitude: i64 = text[1..].parse().unwrap_or(i64::MAX);
    if text.starts_with('-') { -magnitude } else { magnitude }
}

/// A spec with blanks around it is refused: Alembic refuses most of these, and
/// reads ` -1` and `heads ` in some commands.
pub(crate) fn refuse_blanks(spec: &str) -> Result<(), SpecError> {
    if spec.trim() == spec {
        return Ok(());
    }
    Err(SpecError::Other(format!("'{spec}' has blanks around it; write the revision without them")))
}

/// What a walk does when it runs out of revisions before its last step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Overwalk {
    /// The walk leaves the graph: `Ok(None)`, which callers report as too far.
    Fails,
    /// It stops at the last revision, as the upper end of Alembic's `history -r A:+N`.
    Stops,
}

/// The result of splitting off a `branch@` prefix and expanding `heads`/`head`/`base`.
struct Resolved {
    branch: Option<String>,
    /// Revision indexes (from `heads`/`head`) or identifiers still to look up.
    items: Vec<Item>,
}

enum Item {
    Index(usize),
    Ident(String),
}

impl Graph {
    /// Alembic's `get_revisions`: every revision `spec` names (none for `base`).
    pub fn resolve(&self, spec: &str) -> Result<Vec<usize>, SpecError> {
        let resolved = self.resolve_number(spec)?;
        if let [Item::Ident(ident)] = resolved.items.as_slice()
            && let Ok(n) = ident.trim().parse::<i64>()
            && n < 0
        {
            return self.heads_walked_down(resolved.branch.as_deref(), n, spec);
        }
        resolved.items.iter().map(|item| self.item(item, resolved.branch.as_deref())).collect()
    }

    /// Alembic's `get_revision`: at most one revision (`None` for `base`).
    pub fn resolve_one(&self, spec: &str) -> Result<Option<usize>, SpecError> {
        let resolved = self.resolve_number(spec)?;
        match resolved.items.as_slice() {
            [] => {
                if let Some(branch) = &resolved.branch {
                    self.resolve_branch(branch)?;
                }
                Ok(None)
            }
            [item] => self.item(item, resolved.branch.as_deref()).map(Some),
            items => {
                let heads = items.iter().map(|i| self.item(i, None)).collect::<Result<Vec<_>, _>>()?;
                Err(SpecError::MultipleHeads { spec: spec.to_string(), heads: self.ids(&heads) })
            }
        }
    }

    /// The one head on the line of `branch` (or the only head), `None` without heads.
    pub fn current_head(&self, branch: Option<&str>) -> Result<Option<usize>, SpecError> {
        let heads = match branch {
            Some(b) => self.filter_for_lineage(self.heads(), b, false)?,
            None => self.heads().to_vec(),
        };
        match heads.as_slice() {
            [] => Ok(None),
            [one] => Ok(Some(*one)),
            _ => Err(SpecError::MultipleHeads {
                spec: branch.map_or("head".into(), |b| format!("{b}@head")),
                heads: self.ids(&heads),
            }),
        }
    }

    /// The revisions among `targets` that share a line of descent with what `against` names.
    pub fn filter_for_lineage(
        &self,
        targets: &[usize],
        against: &str,
        with_deps: bool,
    ) -> Result<Vec<usize>, SpecError> {
        let resolved = self.resolve_number(against)?;
        let mut shares = Vec::new();
        if let Some(branch) = &resolved.branch {
            shares.push(self.ident(branch, None)?);
        }
        for item in &resolved.items {
            shares.push(self.item(item, None)?);
        }
        if shares.is_empty() {
            return Ok(targets.to_vec());
        }
        Ok(targets.iter().copied().filter(|&t| self.shares_lineage(t, &shares, with_deps)).collect())
    }

    /// Alembic's `_resolve_branch`: the owner of a label, or a revision by id or prefix.
    pub fn resolve_branch(&self, branch: &str) -> Result<usize, SpecError> {
        if let Some(i) = self.index_of(branch).or_else(|| self.label_owner(branch)) {
            return Ok(i);
        }
        self.ident(branch, None).map_err(|_| SpecError::NoSuchBranch(branch.to_string()))
    }

    /// Alembic's `_walk`: `steps` up (positive, optionally staying on `branch`) or down
    /// from `start` (`None` = from nothing). `Ok(None)` when the walk leaves the graph.
    pub fn walk(&self, start: Option<Pos>, steps: i64, branch: Option<&str>) -> Result<Option<Pos>, SpecError> {
        self.walk_with(start, steps, branch, Overwalk::Fails)
    }

    /// [`Graph::walk`], with what happens when it runs out of revisions chosen.
    pub fn walk_with(
        &self,
        start: Option<Pos>,
        steps: i64,
        branch: Option<&str>,
        overwalk: Overwalk,
    ) -> Result<Option<Pos>, SpecError> {
        let mut at = start;
        for _ in 0..steps.unsigned_abs() {
            let next: Vec<Pos> = if steps > 0 {
                let up = match at {
                    None => self.bases().to_vec(),
                    Some(Pos::Rev(i)) => self.children(i).to_vec(),
                    Some(Pos::Base) => return Err(SpecError::Other("cannot walk up from base".into())),
                };
                let up = match branch {
                    Some(b) => self.filter_for_lineage(&up, b, false)?,
                    None => up,
                };
                up.into_iter().map(Pos::Rev).collect()
            } else {
                match at {
                    Some(Pos::Base) => vec![],
                    None => self.heads().iter().map(|&h| Pos::Rev(h)).collect(),
                    Some(Pos::Rev(i)) if self.parents(i).is_empty() => vec![Pos::Base],
                    Some(Pos::Rev(i)) => self.parents(i).iter().map(|&p| Pos::Rev(p)).collect(),
                }
            };
            match next.as_slice() {
                [] if overwalk == Overwalk::Stops && at.is_some() => return Ok(at),
                [] => return Ok(None),
                [one] => at = Some(*one),
                many => {
                    let choices = many.iter().map(|p| self.pos_name(*p)).collect();
                    return Err(SpecError::AmbiguousWalk { spec: format!("{steps:+}"), choices });
                }
            }
        }
        Ok(at)
    }

    /// What Alembic's `current` shows for these version rows: every applied
    /// revision (rows and their ancestors, dependencies included) that has no
    /// applied versioned child. One pass, unlike Alembic's quadratic filter.
    pub fn applied_heads(&self, rows: &[usize]) -> Vec<usize> {
        let applied = self.ancestors(rows, true);
        applied.iter().filter(|&r| !self.children(r).iter().any(|&c| applied.contains(c))).collect()
    }

    /// The id of a position, `base` for the empty database.
    pub fn pos_name(&self, pos: Pos) -> String {
        match pos {
            Pos::Base => "base".into(),
            Pos::Rev(i) => self.revision(i).id.clone(),
        }
    }

    /// Ids of the given revisions.
    pub fn ids(&self, list: &[usize]) -> Vec<String> {
        list.iter().map(|&i| self.revision(i).id.clone()).collect()
    }

    fn heads_walked_down(&self, branch: Option<&str>, steps: i64, spec: &str) -> Result<Vec<usize>, SpecError> {
        let heads: Vec<usize> =
            self.resolve("heads")?.into_iter().filter(|&h| branch.is_none_or(|b| self.has_label(h, b))).collect();
        let mut out = Vec::new();
        for head in heads {
            match self.walk(Some(Pos::Rev(head)), steps, None)? {
                Some(Pos::Rev(i)) => out.push(i),
                Some(Pos::Base) => {}
                None => return Err(SpecError::RelativeTooFar { spec: spec.into(), steps: steps.unsigned_abs() }),
            }
        }
        Ok(out)
    }

    fn resolve_number(&self, spec: &str) -> Result<Resolved, SpecError> {
        refuse_blanks(spec)?;
        let (branch, id) = match spec.split_once('@') {
            // Alembic reads `@head` as `head`; a deploy script's empty `$LABEL@head` is refused instead.
            Some(("", _)) => return Err(SpecError::Other(format!("'{spec}' names no branch before '@'"))),
            Some((branch, id)) => (Some(branch.to_string()), id),
            None => (None, spec),
        };
        let items = match id {
            "heads" => match &branch {
                Some(b) => self.filter_for_lineage(self.heads(), b, false)?.into_iter().map(Item::Index).collect(),
                None => self.real_heads().iter().map(|&h| Item::Index(h)).collect(),
            },
            "head" => self.current_head(branch.as_deref())?.into_iter().map(Item::Index).collect(),
            "base" => vec![],
            "" => {
                if let Some(branch) = &branch {
                    self.resolve_branch(branch)?; // `nosuch@` names nothing
                }
                vec![]
            }
            other => vec![Item::Ident(other.to_string())],
        };
        Ok(Resolved { branch, items })
    }

    fn item(&self, item: &Item, branch: Option<&str>) -> Result<usize, SpecError> {
        match item {
            Item::Index(i) => self.check_branch(*i, branch),
            Item::Ident(ident) => self.ident(ident, branch),
        }
    }

    /// Alembic's `_revision_for_ident`: exact id or label, else a unique prefix
    /// (case-sensitive) of an id or label; then the branch check.
    fn ident(&self, ident: &str, branch: Option<&str>) -> Result<usize, SpecError> {
        if let Some(b) = branch {
            self.resolve_branch(b)?;
        }
        let exact = self.index_of(ident).or_else(|| self.label_owner(ident));
        let found = match exact {
            Some(i) => i,
            None => self.prefix(ident, branch)?,
        };
        self.check_branch(found, branch)
    }

    fn prefix(&self, prefix: &str, branch: Option<&str>) -> Result<usize, SpecError> {
        let ids = self.revisions().iter().enumerate().map(|(i, r)| (r.id.as_str(), i));
        let labels =
            self.revisions().iter().enumerate().flat_map(|(i, r)| r.branch_labels.iter().map(move |l| (l.as_str(), i)));
        let mut matches: Vec<(&str, usize)> =
            ids.chain(labels).filter(|(key, _)| key.len() > 3 && key.starts_with(prefix)).collect();
        if let Some(b) = branch {
            let owner = self.resolve_branch(b)?;
            matches.retain(|&(_, i)| self.shares_lineage(i, &[owner], false));
        }
        match matches.as_slice() {
            [] => Err(SpecError::NotFound(prefix.to_string())),
            [(_, one)] => Ok(*one),
            many => {
                let mut candidates: Vec<String> = many.iter().map(|(k, _)| k.to_string()).collect();
                candidates.sort();
                Err(SpecError::Ambiguous { prefix: prefix.to_string(), candidates })
            }
        }
    }

    fn check_branch(&self, index: usize, branch: Option<&str>) -> Result<usize, SpecError> {
        let Some(b) = branch else { return Ok(index) };
        let owner = self.resolve_branch(b)?;
        if self.shares_lineage(index, &[owner], false) {
            Ok(index)
        } else {
            Err(SpecError::NotOnBranch { revision: self.revision(index).id.clone(), branch: b.to_string() })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::graph;

    fn ids(g: &Graph, spec: &str) -> Result<Vec<String>, SpecError> {
        g.resolve(spec).map(|v| g.ids(&v))
    }

    fn labelled() -> Graph {
        // a -> b -> c (head, label 'main' from b), a -> x1 (label 'side') -> x2
        graph(&["a0000:", "b0000:a0000 @main", "c0000:b0000", "x1111:a0000 @side", "x2222:x1111"])
    }

    #[test]
    fn relative_grammar_matches_alembics_regex() {
        let r = relative("-1").unwrap();
        assert_eq!((r.branch, r.symbol, r.steps), (None, None, -1));
        let r = relative("lbl@+2").unwrap();
        assert_eq!((r.branch, r.symbol, r.steps), (Some("lbl"), None, 2));
        let r = relative("br@ae10-3").unwrap();
        assert_eq!((r.branch, r.symbol, r.steps), (Some("br"), Some("ae10"), -3));
        let r = relative("ae10+1").unwrap();
        assert_eq!((r.branch, r.symbol, r.steps), (None, Some("ae10"), 1));
        assert!(relative("heads").is_none());
        assert!(relative("lbl@head").is_none());
        assert!(relative("ae10-").is_none());
    }

    #[test]
    fn heads_head_base_labels_and_prefixes() {
        let g = labelled();
        assert_eq!(ids(&g, "heads").unwrap(), ["c0000", "x2222"]);
        assert!(matches!(g.resolve("head"), Err(SpecError::MultipleHeads { .. })));
        assert_eq!(ids(&g, "main@head").unwrap(), ["c0000"]);
        assert_eq!(ids(&g, "side@head").unwrap(), ["x2222"]);
        assert_eq!(ids(&g, "x1111@head").unwrap(), ["x2222"]);
        assert_eq!(ids(&g, "base").unwrap(), Vec::<String>::new());
        assert_eq!(ids(&g, "side").unwrap(), ["x1111"]);
        assert_eq!(ids(&g, "x2").unwrap(), ["x2222"]);
        assert!(matches!(g.resolve("x"), Err(SpecError::Ambiguous { .. })));
        assert!(matches!(g.resolve("X2"), Err(SpecError::NotFound(_))));
        assert!(matches!(g.resolve("side@c0000"), Err(SpecError::NotOnBranch { .. })));
        assert!(matches!(g.resolve("nope@head"), Err(SpecError::NotFound(_))));
        assert!(matches!(g.resolve("nope@base"), Ok(v) if v.is_empty()));
        assert!(matches!(g.resolve_one("nope@base"), Err(SpecError::NoSuchBranch(_))));
        assert_eq!(ids(&g, "main@-1").unwrap(), ["b0000"]);
    }

    #[test]
    fn walks_up_and_down() {
        let g = labelled();
        let a = g.index_of("a0000").unwrap();
        assert_eq!(g.walk(None, 1, None).unwrap(), Some(Pos::Rev(a)));
        assert!(matches!(g.walk(Some(Pos::Rev(a)), 1, None), Err(SpecError::AmbiguousWalk { .. })));
        let x1 = g.index_of("x1111").unwrap();
        assert_eq!(g.walk(Some(Pos::Rev(a)), 1, Some("side")).unwrap(), Some(Pos::Rev(x1)));
        assert_eq!(g.walk(Some(Pos::Rev(a)), -1, None).unwrap(), Some(Pos::Base));
        assert_eq!(g.walk(Some(Pos::Rev(a)), -2, None).unwrap(), None);
    }
}
