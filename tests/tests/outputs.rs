//! The user's data is never lost: what `rivet build` may replace, what it
//! removes after a failed step, and writes into an artifact that stay inside
//! it. Every case runs the real `rivet` binary on real directories and checks
//! that nothing the user made changed.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use rivet_interface::OUTPUT_MARKER;
use rivet_tests::cli::{describe, run_rivet, text};

/// Every file and directory under `dir` (links not followed), with the
/// contents of files and the targets of links: a snapshot to compare.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, String> {
    let mut seen = BTreeMap::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let meta = fs::symlink_metadata(&path).unwrap();
            let what = if meta.file_type().is_symlink() {
                format!("-> {}", fs::read_link(&path).unwrap().display())
            } else if meta.is_dir() {
                pending.push(path.clone());
                "dir".to_owned()
            } else {
                String::from_utf8_lossy(&fs::read(&path).unwrap()).into_owned()
            };
            seen.insert(path, what);
        }
    }
    seen
}

/// A world of the user's: `home/` holding the project `home/p` (a template
/// directory with `www/index.html`, `src/main.rs` and `important.txt`), and
/// `home/victim/` beside it.
struct World {
    _temp: tempfile::TempDir,
    root: PathBuf,
}

impl World {
    fn new() -> World {
        let temp = tempfile::tempdir().unwrap();
        let root = fs::canonicalize(temp.path()).unwrap();
        for (file, content) in [
            ("home/p/important.txt", "keep"),
            ("home/p/www/index.html", "<h1>hi</h1>"),
            ("home/p/src/main.rs", "fn main() {}"),
            ("home/victim/data.txt", "keep too"),
            ("home/p/extra/robots.txt", "User-agent: *"),
        ] {
            let path = root.join(file);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(path, content).unwrap();
        }
        World { _temp: temp, root }
    }

    fn home(&self) -> PathBuf {
        self.root.join("home")
    }

    fn project(&self) -> PathBuf {
        self.root.join("home/p")
    }

    /// Writes `template` as `t.toml` in the project and runs `rivet build`
    /// from `cwd` (the project when `None`), with `HOME` set to the world's
    /// home directory.
    fn build(&self, template: &str, cwd: Option<&Path>) -> std::process::Output {
        fs::write(self.project().join("t.toml"), template).unwrap();
        let template = self.project().join("t.toml");
        let home = self.home();
        run_rivet(
            cwd.unwrap_or(&self.project()),
            &["build", template.to_str().unwrap()],
            &[("HOME", home.to_str().unwrap())],
        )
    }

    /// Marks `dir` as a real Rivet build would: with the marker of an output
    /// built for the purpose, so the protection cannot rest on a missing
    /// marker.
    fn mark(&self, dir: &Path) {
        let made = self.root.join("made");
        if !made.exists() {
            let template = format!(
                "[[builders]]\nplugin = \"dir\"\nconfig = {{ output = {:?} }}\n",
                made.display()
            );
            let output = self.build(&template, None);
            assert!(output.status.success(), "{}", describe(&output));
            fs::remove_file(self.project().join("t.toml")).unwrap();
        }
        fs::copy(made.join(OUTPUT_MARKER), dir.join(OUTPUT_MARKER)).unwrap();
    }
}

fn dir_step(output: &str) -> String {
    format!("[[builders]]\nplugin = \"dir\"\nconfig = {{ output = {output:?} }}\n")
}

/// `rivet build` refuses each spelling of a directory it must not replace,
/// before doing anything, naming the path; nothing in the user's world
/// changes. Protected directories are marked as Rivet outputs first: the
/// rule holds whatever the marker says.
#[test]
fn outputs_rivet_must_not_replace_are_refused_before_any_work() {
    let world = World::new();
    let project = world.project();
    let home = world.home();
    world.mark(&project);
    world.mark(&home);
    world.mark(&world.root);
    std::os::unix::fs::symlink(&home, project.join("link-to-home")).unwrap();
    let cwd = world.root.join("cwd");
    fs::create_dir(&cwd).unwrap();
    world.mark(&cwd);

    let cases: Vec<(String, Option<&Path>, &str)> = vec![
        (dir_step("."), None, "never replaces"),
        (dir_step("./"), None, "never replaces"),
        (dir_step(".."), None, "never replaces"),
        (dir_step("../.."), None, "never replaces"),
        (dir_step("www/../.."), None, "never replaces"),
        (dir_step("/"), None, "never replaces"),
        (dir_step(home.to_str().unwrap()), None, "never replaces"),
        (dir_step("link-to-home"), None, "never replaces"),
        (
            dir_step(cwd.to_str().unwrap()),
            Some(&cwd),
            "never replaces",
        ),
        (dir_step("src"), None, "not made by Rivet"),
        (dir_step("../victim"), None, "not made by Rivet"),
        (dir_step("t.toml"), None, "not a directory"),
        (dir_step("important.txt"), None, "not a directory"),
        (
            "[[builders]]\nplugin = \"dir\"\nconfig = { output = \"www\", source = \"www\" }\n"
                .to_owned(),
            None,
            "not made by Rivet",
        ),
    ];
    for (template, cwd, expected) in cases {
        fs::write(project.join("t.toml"), &template).unwrap();
        let before = snapshot(&world.root);
        let output = world.build(&template, cwd);
        assert_eq!(
            output.status.code(),
            Some(1),
            "{template}\n{}",
            describe(&output)
        );
        let stderr = text(&output.stderr);
        assert!(stderr.contains(expected), "{template}\n{stderr}");
        assert!(stderr.contains("output"), "{template}\n{stderr}");
        assert_eq!(
            snapshot(&world.root),
            before,
            "{template}: something changed"
        );
    }
}

/// What Rivet may replace: a missing directory, an empty one, and an output
/// of an earlier build, whose content it then owns.
#[test]
fn missing_empty_and_earlier_outputs_are_replaced() {
    let world = World::new();
    let project = world.project();
    fs::create_dir(project.join("empty")).unwrap();
    for output in ["empty", "build/site", "build/site"] {
        let template = format!(
            "[[builders]]\nplugin = \"dir\"\nconfig = {{ output = {output:?}, source = \"www\" }}\n"
        );
        let run = world.build(&template, None);
        assert!(run.status.success(), "{output}\n{}", describe(&run));
        assert_eq!(
            fs::read_to_string(project.join(output).join("index.html")).unwrap(),
            "<h1>hi</h1>"
        );
        assert!(project.join(output).join(OUTPUT_MARKER).is_file());
    }
    assert_eq!(
        fs::read_to_string(project.join("important.txt")).unwrap(),
        "keep"
    );
}

/// After a failing step, the builder's artifact is removed only when this
/// build made it inside the template's directory.
#[test]
fn cleanup_after_a_failing_step_removes_only_this_builds_output() {
    let world = World::new();
    let project = world.project();
    let failing = "[[provisioners]]\nplugin = \"shell\"\nconfig = { inline = [\"exit 3\"] }\n";

    // Made by this build, inside the template's directory: removed.
    let run = world.build(&format!("{}{failing}", dir_step("build/site")), None);
    assert_eq!(run.status.code(), Some(1), "{}", describe(&run));
    assert!(!project.join("build/site").exists(), "{}", describe(&run));
    assert!(text(&run.stderr).contains("removed the incomplete artifact"));

    // Made by this build, but outside the template's directory: kept.
    let run = world.build(&format!("{}{failing}", dir_step("../sibling")), None);
    assert_eq!(run.status.code(), Some(1), "{}", describe(&run));
    assert!(world.home().join("sibling").join(OUTPUT_MARKER).is_file());
    assert!(text(&run.stderr).contains("outside the template's directory"));

    // The user's own directories, inside and beside the project: refused
    // before any work, so nothing is built, failed or removed.
    for output in ["src", "../victim"] {
        let template = format!("{}{failing}", dir_step(output));
        fs::write(project.join("t.toml"), &template).unwrap();
        let before = snapshot(&world.root);
        let run = world.build(&template, None);
        assert_eq!(run.status.code(), Some(1), "{}", describe(&run));
        assert_eq!(snapshot(&world.root), before, "{output}");
    }
    assert_eq!(
        fs::read_to_string(project.join("src/main.rs")).unwrap(),
        "fn main() {}"
    );
}

/// A link placed in the artifact by a shell step cannot lead the `file`
/// provisioner out of it: not as the destination file, not as a directory
/// being merged into, and nothing is created outside before the refusal.
#[test]
fn writes_into_the_artifact_never_follow_its_links_out() {
    let world = World::new();
    let victim = world.home().join("victim");
    let cases = [
        (
            format!("ln -s {}/data.txt passwd", victim.display()),
            "extra/robots.txt",
            "passwd",
        ),
        (
            format!("ln -s {} linked", victim.display()),
            "www",
            "linked/",
        ),
        (
            format!("ln -s {} linked", victim.display()),
            "extra/robots.txt",
            "linked/deeper/robots.txt",
        ),
        (
            format!("mkdir static && ln -s {} static/www", victim.display()),
            "www",
            "static/",
        ),
    ];
    for (command, source, destination) in cases {
        let template = format!(
            "{}[[provisioners]]\nplugin = \"shell\"\nconfig = {{ inline = [{command:?}] }}\n\
             [[provisioners]]\nplugin = \"file\"\n\
             config = {{ source = {source:?}, destination = {destination:?} }}\n",
            dir_step("build/site")
        );
        let before = snapshot(&victim);
        let run = world.build(&template, None);
        assert_eq!(
            run.status.code(),
            Some(1),
            "{destination}\n{}",
            describe(&run)
        );
        assert!(
            text(&run.stderr).contains("symbolic link"),
            "{destination}\n{}",
            describe(&run)
        );
        assert_eq!(snapshot(&victim), before, "{destination}: wrote outside");
    }
}
