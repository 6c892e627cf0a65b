//! The documentation stays true: every relative link in README.md and docs/*.md points at a
//! file that exists, and the README's tool table is the tool table of the code (names, tiers,
//! descriptions). Regenerate the table after changing a tool with
//! `UPDATE_SNAPSHOTS=1 cargo test --test docs`.

use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn markdown_files() -> Vec<PathBuf> {
    let mut files = vec![root().join("README.md")];
    let mut docs: Vec<PathBuf> = std::fs::read_dir(root().join("docs"))
        .expect("docs/ exists")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    docs.sort();
    files.extend(docs);
    files
}

/// The targets of the inline links `[text](target)` in `text`, outside code.
fn links(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut in_fence = false;
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            in_fence = !in_fence;
            continue;
        }
        if in_fence {
            continue;
        }
        // drop inline code spans, then find "](" … ")"
        let mut plain = String::new();
        let mut in_code = false;
        for c in line.chars() {
            if c == '`' {
                in_code = !in_code;
            } else if !in_code {
                plain.push(c);
            }
        }
        let mut rest = plain.as_str();
        while let Some(at) = rest.find("](") {
            let after = &rest[at + 2..];
            let Some(end) = after.find(')') else { break };
            out.push(after[..end].trim().to_owned());
            rest = &after[end..];
        }
    }
    out
}

fn is_relative(target: &str) -> bool {
    !(target.is_empty()
        || target.starts_with('#')
        || target.contains("://")
        || target.starts_with("mailto:"))
}

#[test]
fn every_relative_link_points_at_a_file_that_exists() {
    let mut broken = Vec::new();
    let mut checked = 0;
    for file in markdown_files() {
        let text = std::fs::read_to_string(&file).unwrap();
        let dir = file.parent().unwrap();
        for target in links(&text).into_iter().filter(|t| is_relative(t)) {
            let path = target.split('#').next().unwrap();
            checked += 1;
            if !dir.join(path).exists() {
                broken.push(format!("{}: {target}", file.display()));
            }
        }
    }
    assert!(
        checked >= 20,
        "only {checked} links found: is the parser right?"
    );
    assert!(broken.is_empty(), "broken links:\n{}", broken.join("\n"));
}

#[test]
fn the_link_finder_sees_links_and_skips_code() {
    let text = "see [a](docs/a.md) and [b](https://x.y) `[c](no.md)`\n```\n[d](no.md)\n```\n[e](../e.md#part)";
    assert_eq!(
        links(text),
        vec!["docs/a.md", "https://x.y", "../e.md#part"]
    );
    assert!(!is_relative("https://x.y") && !is_relative("#top") && is_relative("a.md"));
}

const BEGIN: &str = "<!-- tools:begin -->";
const END: &str = "<!-- tools:end -->";

/// The README's tool table, from the tool table of the code.
fn tool_table() -> String {
    let mut table = String::from(
        "| tool | tier | description (as the model reads it) |\n| --- | --- | --- |\n",
    );
    for spec in crmgate::tools::TOOLS.iter() {
        let description = spec
            .description
            .replace("{delete}", "soft or permanent, per CRM");
        table.push_str(&format!(
            "| {} | {} | {} |\n",
            spec.name,
            spec.tier.as_str(),
            description.replace('|', "\\|")
        ));
    }
    table
}

#[test]
fn the_readme_tool_table_is_the_code_tool_table() {
    let path = root().join("README.md");
    let readme = std::fs::read_to_string(&path).unwrap();
    let start = readme
        .find(BEGIN)
        .expect("README has the tools:begin marker")
        + BEGIN.len();
    let end = readme.find(END).expect("README has the tools:end marker");
    let current = readme[start..end].trim_start_matches('\n');
    let expected = tool_table();
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some_and(|v| v == "1") {
        let updated = format!("{}\n{expected}{}", &readme[..start], &readme[end..]);
        std::fs::write(&path, updated).unwrap();
        return;
    }
    assert_eq!(
        current, expected,
        "README's tool table is out of date: UPDATE_SNAPSHOTS=1 cargo test --test docs"
    );
}

#[test]
fn each_vendor_has_its_own_page() {
    for vendor in ["espocrm", "bitrix24", "bottlecrm", "atomic"] {
        assert!(
            Path::new(&root().join(format!("docs/{vendor}.md"))).exists(),
            "docs/{vendor}.md"
        );
    }
}
