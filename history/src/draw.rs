//! The revision graph as text that renders as a picture, for a reviewer to see a
//! branch structure in a pull request: Mermaid (GitHub and GitLab draw a
//! ```` ```mermaid ```` block) and Graphviz DOT.
//!
//! Each revision is a box with its id, message and branch labels; an arrow runs
//! from each parent to its child, so a branch point fans out and a merge fans in;
//! `depends_on` is a dashed arrow from the dependency, a cross-database
//! dependency a dashed arrow from a `database:revision` note. Heads have a thick
//! border. Several histories (one per database or fleet) are drawn side by side,
//! each in a box named after it.

use std::fmt::Write as _;

use crate::graph::Graph;

/// Which text to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Notation {
    Mermaid,
    Dot,
}

/// Draws `histories` (a name and its graph each) in `notation`.
pub fn draw(histories: &[(&str, &Graph)], notation: Notation) -> String {
    match notation {
        Notation::Mermaid => mermaid(histories),
        Notation::Dot => dot(histories),
    }
}

/// A node's id: unique across histories, letters, digits and `_` only.
fn node(history: usize, revision: usize) -> String {
    format!("h{history}r{revision}")
}

/// A cross-database dependency's note node.
fn external(history: usize, n: usize) -> String {
    format!("h{history}x{n}")
}

/// A revision's text: id, message, labels; one line each.
fn lines(graph: &Graph, i: usize) -> Vec<String> {
    let rev = graph.revision(i);
    let mut lines = vec![rev.id.clone()];
    if !rev.message.is_empty() {
        lines.push(shorten(&rev.message, 48));
    }
    if !rev.branch_labels.is_empty() {
        lines.push(format!("({})", rev.branch_labels.join(", ")));
    }
    lines
}

fn shorten(text: &str, max: usize) -> String {
    let one_line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match one_line.char_indices().nth(max) {
        Some((at, _)) => format!("{}…", &one_line[..at]),
        None => one_line,
    }
}

/// An arrow between two node ids; dashed for a dependency.
struct Edge {
    from: String,
    to: String,
    dashed: bool,
}

/// A cross-database dependency's note: its node id and its text.
struct Note {
    id: String,
    text: String,
}

/// Every edge of a history, nodes as [`node`]/[`external`] ids, and the notes
/// its edges start from.
fn edges(h: usize, graph: &Graph) -> (Vec<Edge>, Vec<Note>) {
    let mut edges = Vec::new();
    let mut notes: Vec<Note> = Vec::new();
    for i in 0..graph.len() {
        for &parent in graph.parents(i) {
            edges.push(Edge { from: node(h, parent), to: node(h, i), dashed: false });
        }
        for &dep in graph.dependencies(i) {
            edges.push(Edge { from: node(h, dep), to: node(h, i), dashed: true });
        }
        for (target, revision) in graph.external_dependencies(i) {
            let text = format!("{target}:{revision}");
            let from = match notes.iter().find(|n| n.text == text) {
                Some(note) => note.id.clone(),
                None => {
                    let id = external(h, notes.len());
                    notes.push(Note { id: id.clone(), text });
                    id
                }
            };
            edges.push(Edge { from, to: node(h, i), dashed: true });
        }
    }
    (edges, notes)
}

fn mermaid(histories: &[(&str, &Graph)]) -> String {
    let quote = |text: &str| text.replace('"', "#quot;").replace('<', "#lt;").replace('>', "#gt;");
    let boxed = histories.len() > 1;
    let mut out = String::from("flowchart TB\n");
    let mut heads = Vec::new();
    for (h, (name, graph)) in histories.iter().enumerate() {
        let indent = if boxed { "    " } else { "  " };
        if boxed {
            let _ = writeln!(out, "  subgraph h{h}[\"{}\"]", quote(name));
        }
        let (edges, notes) = edges(h, graph);
        for i in 0..graph.len() {
            let text: Vec<String> = lines(graph, i).iter().map(|l| quote(l)).collect();
            let _ = writeln!(out, "{indent}{}[\"{}\"]", node(h, i), text.join("<br/>"));
            if graph.is_head(i) {
                heads.push(node(h, i));
            }
        }
        for note in &notes {
            let _ = writeln!(out, "{indent}{}([\"{}\"])", note.id, quote(&note.text));
        }
        for Edge { from, to, dashed } in edges {
            let arrow = if dashed { "-. depends on .->" } else { "-->" };
            let _ = writeln!(out, "{indent}{from} {arrow} {to}");
        }
        if boxed {
            out.push_str("  end\n");
        }
    }
    if !heads.is_empty() {
        out.push_str("  classDef head stroke-width:3px\n");
        let _ = writeln!(out, "  class {} head", heads.join(","));
    }
    out
}

fn dot(histories: &[(&str, &Graph)]) -> String {
    let quote = |text: &str| text.replace('\\', "\\\\").replace('"', "\\\"");
    let boxed = histories.len() > 1;
    let mut out = String::from("digraph retort {\n  rankdir=TB;\n  node [shape=box, fontname=\"Helvetica\"];\n");
    for (h, (name, graph)) in histories.iter().enumerate() {
        let indent = if boxed { "    " } else { "  " };
        if boxed {
            let _ = writeln!(out, "  subgraph cluster_{h} {{\n    label=\"{}\";", quote(name));
        }
        let (edges, notes) = edges(h, graph);
        for i in 0..graph.len() {
            let text: Vec<String> = lines(graph, i).iter().map(|l| quote(l)).collect();
            let head = if graph.is_head(i) { ", penwidth=3" } else { "" };
            let _ = writeln!(out, "{indent}{} [label=\"{}\"{head}];", node(h, i), text.join("\\n"));
        }
        for note in &notes {
            let _ = writeln!(out, "{indent}{} [label=\"{}\", shape=note];", note.id, quote(&note.text));
        }
        for Edge { from, to, dashed } in edges {
            let style = if dashed { " [style=dashed, label=\"depends on\"]" } else { "" };
            let _ = writeln!(out, "{indent}{from} -> {to}{style};");
        }
        if boxed {
            out.push_str("  }\n");
        }
    }
    out.push_str("}\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::graph;

    #[test]
    fn parents_are_solid_dependencies_dashed_heads_thick() {
        // a; b and c branch from a; d merges them; e depends on c.
        let g = graph(&["a:", "b:a", "c:a", "d:b,c", "e:d ~c"]);
        let text = draw(&[("default", &g)], Notation::Mermaid);
        assert!(text.starts_with("flowchart TB\n"), "{text}");
        assert_eq!(text.matches(" --> ").count(), 5, "a->b, a->c, b->d, c->d, d->e: {text}");
        assert_eq!(text.matches("-. depends on .->").count(), 1, "{text}");
        assert!(text.contains("class h0r4 head"), "e is the head: {text}");
        let dot = draw(&[("default", &g)], Notation::Dot);
        assert_eq!(dot.matches(" -> ").count(), 6, "{dot}");
        assert_eq!(dot.matches("style=dashed").count(), 1);
        assert_eq!(dot.matches("penwidth=3").count(), 1);
    }

    #[test]
    fn several_histories_are_boxed_and_text_is_quoted() {
        let a = graph(&["a:"]);
        let b = graph(&["b:"]);
        let text = draw(&[("one", &a), ("two \"x\"", &b)], Notation::Mermaid);
        assert!(text.contains("subgraph h0[\"one\"]") && text.contains("subgraph h1[\"two #quot;x#quot;\"]"), "{text}");
        let dot = draw(&[("one", &a), ("two \"x\"", &b)], Notation::Dot);
        assert!(dot.contains("subgraph cluster_1 {\n    label=\"two \\\"x\\\"\";"), "{dot}");
    }
}
