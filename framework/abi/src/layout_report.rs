//! Making abi_stable's layout reports readable in one line.

/// A one-line summary of abi_stable's layout report: the first error of its
/// innermost group that is about a field (the first field that differs),
/// else that group's first error; where it is (the chain of fields leading
/// to the group); and what was expected and found there, each field as
/// `name: type`.
pub fn summarize_layout_report(report: &str) -> String {
    let lines: Vec<&str> = report.lines().collect();
    let is_error = |l: &&str| l.starts_with("Error:");
    let Some(last) = lines.iter().rposition(is_error) else {
        return "the layouts differ".to_owned();
    };
    let group = lines[..last]
        .iter()
        .rposition(|l| l.contains("error(s)inside:"));
    // The indented lines under `label` (`Expected:`, `Found:`) of the error
    // at `at`, as `name: type` for a field, else the `type:` line or the
    // first one.
    let block = |at: usize, label: &str| {
        let start = lines[at..].iter().position(|l| l.trim() == label)? + at + 1;
        let body: Vec<&str> = lines[start..]
            .iter()
            .take_while(|l| l.starts_with(char::is_whitespace))
            .map(|l| l.trim())
            .collect();
        let value = |key: &str| body.iter().find_map(|l| l.strip_prefix(key));
        match (value("field_name:"), value("type:")) {
            (Some(name), Some(ty)) => Some(format!("{name}: {ty}")),
            (_, Some(ty)) => Some(ty.to_owned()),
            _ => body.first().map(|l| (*l).to_owned()),
        }
    };
    let errors: Vec<usize> = (group.unwrap_or(0)..=last)
        .filter(|&i| is_error(&lines[i]))
        .collect();
    let names_a_field = |&at: &usize| {
        lines[at + 1..]
            .iter()
            .take_while(|l| !is_error(l))
            .any(|l| l.trim().starts_with("field_name:"))
    };
    let at = errors
        .iter()
        .copied()
        .find(names_a_field)
        .unwrap_or(errors[0]);
    let what = lines[at].trim_start_matches("Error:").trim();
    let fields: Vec<&str> = group
        .map(|start| {
            lines[start..at]
                .iter()
                .take_while(|l| !l.starts_with("Layout of"))
                .filter_map(|l| l.trim().strip_prefix("field_name:"))
                .filter(|name| *name != "0")
                .collect()
        })
        .unwrap_or_default();
    let mut summary = what.to_owned();
    if !fields.is_empty() {
        summary.push_str(&format!(" in `{}`", fields.join(".")));
    }
    if let (Some(expected), Some(found)) = (block(at, "Expected:"), block(at, "Found:")) {
        summary.push_str(&format!(": expected `{expected}`, found `{found}`"));
    }
    summary
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn abi_reports_are_summarised_by_their_innermost_error() {
        let report = "\
2 error(s)inside:
    <other>

    field_name:prepare
    type:AFunctionPointer

Error:unexpected field
Expected:
    field_name:__returns
    type:RResult
Found:
    field_name:param_3
    type:HostServices_TO<'lt>
1 error(s)inside:
    <other>

    field_name:0
    type:PluginMod

    field_name:prepare
    type:AFunctionPointer

    field_name:param_2
    type:bool

Layout of expected type:
    --- Type Layout ---
    type:HostServices_TO<'lt>

Error:mismatched type
Expected:
    HostServices_TO<'lt>
Found:
    bool
";
        assert_eq!(
            summarize_layout_report(report),
            "mismatched type in `prepare.param_2`: expected `HostServices_TO<'lt>`, found `bool`"
        );
        assert_eq!(
            summarize_layout_report("nothing useful"),
            "the layouts differ"
        );
    }

    /// abi_stable's report (abridged) for a plugin whose root module has a
    /// field, `inserted`, added before `init`: every field from there on is
    /// a function pointer where a function pointer was expected, so only the
    /// field names tell them apart.
    #[test]
    fn a_field_inserted_in_the_root_module_is_named() {
        let report = "\
0 error(s).

3 error(s)inside:
    <other>

    field_name:0
    type:PluginMod
    size:80 align:8

Layout of expected type:
    --- Type Layout ---
    type:PluginMod

Error:prefix-types have a different prefix
Expected:
    3
Found:
    4

Error:unexpected field
Expected:
    field_name:init
    type:AFunctionPointer
    size:8 align:8
    fn pointer(s):
        fn(services,: HostServices_TO<'lt>)->RResult
Found:
    field_name:inserted
    type:AFunctionPointer
    size:8 align:8
    fn pointer(s):
        fn()->bool

Error:unexpected field
Expected:
    field_name:prepare
    type:AFunctionPointer
Found:
    field_name:init
    type:AFunctionPointer
";
        assert_eq!(
            summarize_layout_report(report),
            "unexpected field: expected `init: AFunctionPointer`, found `inserted: AFunctionPointer`"
        );
    }
}
