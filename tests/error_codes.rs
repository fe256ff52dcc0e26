//! Every error code the API can answer is used somewhere in the code and
//! documented in the README; a code that is neither is a lie in the contract
//! (Lemmy's `test_errors_used` does the same).

use std::path::Path;

use mfuko::error::ErrorCode;

fn sources(dir: &Path, into: &mut String) {
    for entry in std::fs::read_dir(dir).expect("src dir") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            sources(&path, into);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            into.push_str(&std::fs::read_to_string(&path).expect("source file"));
        }
    }
}

#[test]
fn every_error_code_is_used_and_documented() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut code = String::new();
    sources(&root.join("src"), &mut code);
    let readme = std::fs::read_to_string(root.join("README.md")).expect("README");
    let mut problems = Vec::new();
    for error in ErrorCode::ALL {
        if !code.contains(&format!("ErrorCode::{error:?}")) {
            problems.push(format!("{} is never used", error.as_str()));
        }
        if !readme.contains(&format!("`{}`", error.as_str())) {
            problems.push(format!("{} is not in README.md", error.as_str()));
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
}

#[test]
fn error_codes_are_snake_case_and_distinct() {
    let mut seen = std::collections::HashSet::new();
    for error in ErrorCode::ALL {
        let name = error.as_str();
        assert!(
            name.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
            "{name}"
        );
        assert!(seen.insert(name), "{name} twice");
        assert_eq!(serde_json::to_value(error).expect("serializes"), name);
    }
}
