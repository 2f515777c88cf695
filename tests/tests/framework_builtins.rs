//! Plugins compiled into the host from the same crates as their files
//! (`RIVET_BUILTIN`, registered with `Loader::builtin`): two of them linked
//! into this one test binary, used when no file of their name is found,
//! shadowed by one that is; and `imagine`, whose `sepia` is built in, run
//! from a directory of its own with no plugin file at all.

use std::env::consts::EXE_SUFFIX;
use std::fs;
use std::path::Path;
use std::process::{Command, Output};

use imagine_interface::ImageFilter;
use rivet::{Config, LoadError, Loader, Mode, Source};
use rivet_tests::plugins_dir;
use serde_json::json;

fn file_name(name: &str) -> String {
    Config::app("imagine")
        .file_names()
        .file_name("image_filter", name)
}

/// A loader searching only `dirs`, with both filters built in.
fn loader(dirs: &[&Path]) -> Loader {
    Loader::new(
        Config::app("imagine")
            .search_path(dirs.iter().copied())
            .server(plugins_dir().join(format!("rivet-server{EXE_SUFFIX}"))),
    )
    .builtin(&plugin_image_filter_sepia::RIVET_BUILTIN)
    .builtin(&plugin_image_filter_invert::RIVET_BUILTIN)
}

#[test]
fn builtins_load_without_files_and_a_file_of_the_same_name_shadows_them() {
    let empty = tempfile::tempdir().unwrap();
    let loader = loader(&[empty.path()]);
    let (mut built_in, width, height) = (vec![10u8, 100, 250, 0, 50, 200], 2, 1);
    for name in ["sepia", "invert"] {
        assert!(matches!(
            loader.resolve::<dyn ImageFilter>(name).unwrap(),
            Source::Builtin(builtin) if builtin.name() == name && builtin.version() == "0.1.0"
        ));
    }
    loader
        .load::<dyn ImageFilter>("sepia")
        .unwrap()
        .apply(&mut built_in, width, height)
        .unwrap();
    let invert = loader
        .load_with::<dyn ImageFilter>("invert", Mode::InProcess, &json!({"strength": 1.0}))
        .unwrap();
    assert_eq!(
        invert.describe().unwrap(),
        "invert: a negative at strength 1"
    );
    invert.apply(&mut built_in, width, height).unwrap();

    // Sepia's file, from the same crate, shadows the built-in and gives the
    // same bytes.
    let files = tempfile::tempdir().unwrap();
    let file = files.path().join(file_name("sepia"));
    fs::copy(plugins_dir().join(file_name("sepia")), &file).unwrap();
    let loader = self::loader(&[files.path()]);
    assert!(matches!(
        loader.resolve::<dyn ImageFilter>("sepia").unwrap(),
        Source::File(path) if path == file
    ));
    // A built-in registers its interface: a listing sees the file too.
    let listed = loader.list();
    assert!(
        listed
            .plugins
            .iter()
            .any(|p| p.name == "sepia" && matches!(&p.source, Source::File(path) if *path == file)),
        "{listed:?}"
    );
    let shadowed: Vec<_> = loader
        .builtins()
        .into_iter()
        .map(|(builtin, by)| (builtin.name(), by))
        .collect();
    assert_eq!(shadowed, [("sepia", Some(file.clone())), ("invert", None)]);
    let mut from_file = vec![10u8, 100, 250, 0, 50, 200];
    loader
        .load::<dyn ImageFilter>("sepia")
        .unwrap()
        .apply(&mut from_file, width, height)
        .unwrap();
    invert.apply(&mut from_file, width, height).unwrap();
    assert_eq!(from_file, built_in);
}

#[test]
fn a_host_that_does_not_serve_its_builtins_says_how_to_run_one_isolated() {
    let empty = tempfile::tempdir().unwrap();
    let error = loader(&[empty.path()])
        .load_with::<dyn ImageFilter>("sepia", Mode::Process, &json!(null))
        .err()
        .unwrap();
    let text = error.to_string();
    assert!(
        matches!(error, LoadError::BuiltinIsolated { .. })
            && text.contains("`sepia`")
            && text.contains("IMAGINE_PLUGIN_PATH")
            && text.contains("Config::builtin_server"),
        "{text}"
    );
}

/// A plugin's root module is named after its crate, so its file keeps the
/// crate's name; a renamed copy is refused, saying so.
#[test]
fn a_renamed_plugin_file_is_refused_saying_why() {
    let dir = tempfile::tempdir().unwrap();
    fs::copy(
        plugins_dir().join(file_name("sepia")),
        dir.path().join(file_name("renamed")),
    )
    .unwrap();
    let error = loader(&[dir.path()])
        .load::<dyn ImageFilter>("renamed")
        .err()
        .unwrap();
    let text = error.to_string();
    assert!(
        matches!(error, LoadError::NameMismatch { .. })
            && text.contains("plugin `sepia`, not `renamed`")
            && text.contains("rename the crate, not the file"),
        "{text}"
    );
}

/// `imagine` and `rivet-server` alone in a directory, run from an empty
/// one with an empty home: the built-in `sepia` filters an image, in its
/// process and isolated (imagine re-executed to serve it), and a file of
/// its name shadows it.
#[test]
fn imagine_alone_filters_with_its_builtin_sepia() {
    let bin = tempfile::tempdir().unwrap();
    for exe in ["imagine", "rivet-server"] {
        let exe = format!("{exe}{EXE_SUFFIX}");
        fs::copy(plugins_dir().join(&exe), bin.path().join(&exe)).unwrap();
    }
    let cwd = tempfile::tempdir().unwrap();
    let home = tempfile::tempdir().unwrap();
    fs::write(
        cwd.path().join("in.ppm"),
        b"P6\n2 1\n255\n\xff\x00\x00\x00\xff\x00",
    )
    .unwrap();
    let run = |args: &[&str], path: Option<&Path>| -> Output {
        let mut command = Command::new(bin.path().join(format!("imagine{EXE_SUFFIX}")));
        command
            .args(args)
            .current_dir(cwd.path())
            .env("IMAGINE_HOME", home.path())
            .env_remove("IMAGINE_PLUGIN_PATH");
        if let Some(path) = path {
            command.env("IMAGINE_PLUGIN_PATH", path);
        }
        let output = command.output().unwrap();
        assert!(output.status.success(), "{args:?}: {output:?}");
        output
    };
    let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();

    let listed = text(&run(&["--list"], None).stdout);
    assert_eq!(listed, "sepia\tbuilt in, version 0.1.0\n");
    let used = text(&run(&["in.ppm", "out.ppm", "sepia"], None).stderr);
    assert!(used.contains("sepia (InProcess, built in)"), "{used}");
    let built_in = fs::read(cwd.path().join("out.ppm")).unwrap();
    // Isolated, the built-in runs in imagine re-executed to serve it.
    let used = text(&run(&["in.ppm", "isolated.ppm", "process:sepia"], None).stderr);
    assert!(used.contains("sepia (Process, built in)"), "{used}");
    assert_eq!(fs::read(cwd.path().join("isolated.ppm")).unwrap(), built_in);

    let files = tempfile::tempdir().unwrap();
    let file = files.path().join(file_name("sepia"));
    fs::copy(plugins_dir().join(file_name("sepia")), &file).unwrap();
    let listed = text(&run(&["--list"], Some(files.path())).stdout);
    assert!(
        listed.contains(&format!(
            "sepia\tbuilt in, version 0.1.0\thidden by {}",
            file.display()
        )),
        "{listed}"
    );
    let used = text(&run(&["in.ppm", "file.ppm", "sepia"], Some(files.path())).stderr);
    assert!(
        used.contains(&format!("sepia (InProcess, {})", file.display())),
        "{used}"
    );
    assert_eq!(fs::read(cwd.path().join("file.ppm")).unwrap(), built_in);
}

/// Installed versions (`HOME/plugins/<source>/`, versioned file names with a
/// checksum sidecar) come after the search path and before built-ins: the
/// highest version built against the interface's major version is used, a
/// file on the search path shadows it, and one without its sidecar is
/// refused.
#[test]
fn installed_versions_resolve_between_the_search_path_and_builtins() {
    use rivet::installed::InstalledName;
    use rivet_host::integrity::{sha256_hex, sidecar_path};

    let home = tempfile::tempdir().unwrap();
    let source = home.path().join("plugins/example.org/filters");
    fs::create_dir_all(&source).unwrap();
    let sepia = plugins_dir().join(file_name("sepia"));
    let digest = sha256_hex(fs::File::open(&sepia).unwrap()).unwrap();
    let install = |version: &str, major: u64| {
        let id = InstalledName {
            kind: "image_filter".to_owned(),
            name: "sepia".to_owned(),
            version: version.parse().unwrap(),
            interface_major: major,
            platform: rivet::installed::platform(),
        };
        let file = source.join(id.file_name(&rivet::FileNames::default()));
        fs::copy(&sepia, &file).unwrap();
        let file_name = file.file_name().unwrap().to_string_lossy().into_owned();
        fs::write(sidecar_path(&file), format!("{digest}  {file_name}\n")).unwrap();
        file
    };
    let old = install("0.0.9", 1);
    let best = install("0.1.0", 1);
    let _other_major = install("9.0.0", 2);

    let empty = tempfile::tempdir().unwrap();
    let loader = |dirs: &[&Path]| {
        Loader::new(
            Config::app("imagine")
                .home(Some(home.path().to_owned()))
                .search_path(dirs.iter().copied())
                .server(plugins_dir().join(format!("rivet-server{EXE_SUFFIX}"))),
        )
        .builtin(&plugin_image_filter_sepia::RIVET_BUILTIN)
    };
    let resolved = loader(&[empty.path()])
        .resolve::<dyn ImageFilter>("sepia")
        .unwrap();
    assert!(
        matches!(&resolved, Source::Installed(plugin) if plugin.path == best && plugin.source == "example.org/filters"),
        "{resolved:?}"
    );
    for mode in [Mode::InProcess, Mode::Process] {
        loader(&[empty.path()])
            .load_with::<dyn ImageFilter>("sepia", mode, &json!(null))
            .unwrap();
    }

    // A version requirement picks among them, or says what is installed.
    let pinned = loader(&[empty.path()])
        .resolve_version::<dyn ImageFilter>(
            "sepia",
            Some("example.org/filters"),
            &">=0.1, <0.2".parse().unwrap(),
        )
        .unwrap();
    assert_eq!(pinned.path, best);
    // `old` holds 0.1.0's bytes under 0.0.9's name: a file whose plugin
    // reports another version than its name is ignored.
    let liar = loader(&[empty.path()])
        .resolve_version::<dyn ImageFilter>(
            "sepia",
            Some("example.org/filters"),
            &"^0.0".parse().unwrap(),
        )
        .unwrap_err();
    assert!(
        matches!(liar, LoadError::NoMatchingVersion { .. }),
        "{liar}"
    );
    assert!(old.is_file());
    let error = loader(&[empty.path()])
        .resolve_version::<dyn ImageFilter>("sepia", None, &">=1".parse().unwrap())
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("matches `>=1`") && error.contains("(installed: 0.1.0, 0.0.9)"),
        "{error}"
    );

    // A file on the search path comes first.
    let files = tempfile::tempdir().unwrap();
    fs::copy(&sepia, files.path().join(file_name("sepia"))).unwrap();
    assert!(matches!(
        loader(&[files.path()])
            .resolve::<dyn ImageFilter>("sepia")
            .unwrap(),
        Source::File(_)
    ));

    // An installed file needs its sidecar.
    fs::remove_file(sidecar_path(&best)).unwrap();
    let error = loader(&[empty.path()])
        .load::<dyn ImageFilter>("sepia")
        .err()
        .unwrap()
        .to_string();
    assert!(
        error.contains(&best.display().to_string()) && error.contains("checksum file"),
        "{error}"
    );

    // With no compatible installed version left, the built-in.
    fs::remove_file(&best).unwrap();
    fs::remove_file(&old).unwrap();
    assert!(matches!(
        loader(&[empty.path()])
            .resolve::<dyn ImageFilter>("sepia")
            .unwrap(),
        Source::Builtin(_)
    ));
}

/// `Loader::list`: every plugin of the registered interfaces with the
/// source `resolve` picks and what it says of itself, a broken file with
/// why, whether files are vetted first or opened in the host.
#[test]
fn the_listing_shows_each_plugin_once_from_where_it_loads() {
    use rivet::Vetting;
    use rivet::installed::InstalledName;
    use rivet_host::integrity::{sha256_hex, sidecar_path};

    let files = tempfile::tempdir().unwrap();
    fs::copy(
        plugins_dir().join(file_name("sepia")),
        files.path().join(file_name("sepia")),
    )
    .unwrap();
    fs::write(files.path().join(file_name("broken")), "not a library").unwrap();
    let home = tempfile::tempdir().unwrap();
    let source = home.path().join("plugins/local");
    fs::create_dir_all(&source).unwrap();
    let id = InstalledName {
        kind: "image_filter".to_owned(),
        name: "invert".to_owned(),
        version: "0.1.0".parse().unwrap(),
        interface_major: 1,
        platform: rivet::installed::platform(),
    };
    let installed = source.join(id.file_name(&rivet::FileNames::default()));
    fs::copy(plugins_dir().join(file_name("invert")), &installed).unwrap();
    let digest = sha256_hex(fs::File::open(&installed).unwrap()).unwrap();
    let file = installed
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    fs::write(sidecar_path(&installed), format!("{digest}  {file}\n")).unwrap();

    for vetting in [Vetting::default(), Vetting::Off] {
        let loader = |home: &Path| {
            Loader::new(
                Config::app("imagine")
                    .home(Some(home.to_owned()))
                    .search_path([files.path()])
                    .server(plugins_dir().join(format!("rivet-server{EXE_SUFFIX}")))
                    .vetting(vetting),
            )
            .register::<dyn ImageFilter>()
            .builtin(&plugin_image_filter_sepia::RIVET_BUILTIN)
            .builtin(&plugin_image_filter_invert::RIVET_BUILTIN)
        };
        let summary = |listing: rivet::Listing| -> Vec<String> {
            listing
                .plugins
                .iter()
                .map(|plugin| {
                    let source = match &plugin.source {
                        Source::File(_) => "file".to_owned(),
                        Source::Installed(installed) => format!("installed {}", installed.source),
                        Source::Builtin(_) => "built in".to_owned(),
                    };
                    let about = match &plugin.about {
                        Ok(about) => format!("{} {}", about.version, about.description),
                        Err(error) if error.contains("broken") => "error: true".to_owned(),
                        Err(error) => format!("error: {error}"),
                    };
                    format!("{} {} ({source}): {about}", plugin.interface, plugin.name)
                })
                .collect()
        };
        assert_eq!(
            summary(loader(home.path()).list()),
            [
                "image_filter broken (file): error: true",
                "image_filter sepia (file): 0.1.0 imagine filter `sepia`: warm brown tones",
                "image_filter invert (installed local): 0.1.0 imagine filter `invert`: a photographic negative, with an optional strength",
            ],
            "{vetting:?}"
        );
        let empty_home = tempfile::tempdir().unwrap();
        let listed = summary(loader(empty_home.path()).list());
        assert_eq!(
            listed.last().map(String::as_str),
            Some(
                "image_filter invert (built in): 0.1.0 imagine filter `invert`: a photographic negative, with an optional strength"
            ),
            "{vetting:?}: {listed:?}"
        );
    }
}
