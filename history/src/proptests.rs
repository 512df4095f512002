//! Property tests of the planner on random histories: plans respect parents and
//! dependencies, apply every revision exactly once, keep the version table
//! consistent with what ran, and planning never panics on any spec.

use proptest::prelude::*;

use crate::graph::Graph;
use crate::plan::{self, Direction, Plan};
use crate::testing::revs;

/// A random history: per revision, its parents, an optional label and dependency,
/// listed in a random file order.
fn history() -> impl Strategy<Value = Vec<String>> {
    (2usize..30)
        .prop_flat_map(|n| {
            let nodes = (0..n)
                .map(|i| {
                    let parents = proptest::collection::vec(0..i.max(1), if i == 0 { 0..=0 } else { 0..=3 });
                    (parents, any::<u8>(), any::<u8>())
                })
                .collect::<Vec<_>>();
            (nodes, Just(n).prop_flat_map(|n| Just((0..n).collect::<Vec<usize>>()).prop_shuffle()))
        })
        .prop_map(|(nodes, order)| {
            let specs: Vec<String> = nodes
                .iter()
                .enumerate()
                .map(|(i, (parents, label, dep))| {
                    let mut parents: Vec<usize> = parents.clone();
                    parents.sort_unstable();
                    parents.dedup();
                    // Mostly linear: keep one parent unless the dice say merge or new base.
                    if i > 0 && parents.is_empty() && label % 5 != 0 {
                        parents.push(i - 1);
                    }
                    if parents.len() > 1 && label % 3 != 0 {
                        parents.truncate(1);
                    }
                    let mut spec = format!(
                        "r{i:03}x:{}",
                        parents.iter().map(|p| format!("r{p:03}x")).collect::<Vec<_>>().join(",")
                    );
                    if label % 7 == 0 {
                        spec.push_str(&format!(" @lbl{i}"));
                    }
                    if i > 1 && dep % 9 == 0 {
                        spec.push_str(&format!(" ~r{:03}x", usize::from(*dep) % (i - 1)));
                    }
                    spec
                })
                .collect();
            order.into_iter().map(|i| specs[i].clone()).collect()
        })
}

fn graph_of(specs: &[String]) -> Graph {
    let refs: Vec<&str> = specs.iter().map(String::as_str).collect();
    Graph::new(revs(&refs)).expect("generated histories are valid")
}

/// Each step comes after (upgrade) or before (downgrade) every parent and dependency
/// that also runs in the plan.
fn respects_order(g: &Graph, plan: &Plan) -> bool {
    let position: std::collections::HashMap<&str, usize> =
        plan.steps.iter().enumerate().map(|(i, s)| (s.revision.as_str(), i)).collect();
    plan.steps.iter().enumerate().all(|(i, step)| {
        let index = g.index_of(&step.revision).expect("known");
        g.parents(index).iter().chain(g.dependencies(index)).all(|&p| match position.get(g.revision(p).id.as_str()) {
            None => true,
            Some(&j) => (step.direction == Direction::Up) == (j < i),
        })
    })
}

/// The applied set after a plan equals the applied set before, plus (or minus) what ran.
fn consistent(g: &Graph, before: &[String], plan: &Plan) -> bool {
    let applied = |rows: &[String]| {
        let idx: Vec<usize> = rows.iter().map(|r| g.index_of(r).expect("known")).collect();
        g.ancestors(&idx, true).iter().collect::<std::collections::BTreeSet<usize>>()
    };
    let mut expected = applied(before);
    for step in &plan.steps {
        let i = g.index_of(&step.revision).expect("known");
        let changed = if step.direction == Direction::Up { expected.insert(i) } else { expected.remove(&i) };
        if !changed {
            return false;
        }
    }
    expected == applied(&plan.heads_after)
}

fn specs_for(g: &Graph) -> Vec<String> {
    let mut specs: Vec<String> =
        ["heads", "head", "base", "+1", "+2", "-1", "-2"].iter().map(|s| s.to_string()).collect();
    for rev in g.revisions().iter().take(12) {
        specs.push(rev.id.clone());
        specs.push(rev.id[..3].to_string());
        specs.push(format!("{}@head", rev.id));
        specs.push(format!("{}-1", rev.id));
        specs.push(format!("{}+1", rev.id));
        for label in &rev.branch_labels {
            specs.extend([
                label.clone(),
                format!("{label}@head"),
                format!("{label}@base"),
                format!("{label}@-1"),
                format!("{label}@+1"),
            ]);
        }
    }
    specs
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn upgrade_heads_then_downgrade_base_runs_everything_once(specs in history()) {
        let g = graph_of(&specs);
        let up = plan::upgrade(&g, &[], "heads").unwrap();
        prop_assert_eq!(up.steps.len(), g.len());
        prop_assert!(respects_order(&g, &up));
        prop_assert!(consistent(&g, &[], &up));
        let down = plan::downgrade(&g, &up.heads_after, "base").unwrap();
        prop_assert_eq!(down.steps.len(), g.len());
        prop_assert!(respects_order(&g, &down));
        prop_assert!(down.heads_after.is_empty());
    }

    #[test]
    fn any_spec_plans_consistently_or_fails_cleanly(specs in history(), pick in any::<prop::sample::Index>(), state in any::<prop::sample::Index>()) {
        let g = graph_of(&specs);
        let candidates = specs_for(&g);
        let start_spec = &candidates[state.index(candidates.len())];
        let start = plan::upgrade(&g, &[], start_spec).map(|p| p.heads_after).unwrap_or_default();
        let spec = &candidates[pick.index(candidates.len())];
        for plan in [plan::upgrade(&g, &start, spec), plan::downgrade(&g, &start, spec)].into_iter().flatten() {
            prop_assert!(respects_order(&g, &plan), "order of {spec} from {start:?}");
            prop_assert!(consistent(&g, &start, &plan), "consistency of {spec} from {start:?}: {plan:?}");
        }
        let _ = plan::stamp(&g, &start, std::slice::from_ref(spec), false);
        let _ = plan::history(&g, std::slice::from_ref(spec), "heads");
    }
}
