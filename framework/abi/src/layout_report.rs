//! Making abi_stable's layout reports readable in one line.

/// A one-line summary of abi_stable's layout report: its innermost (last)
/// error, where it is (the chain of fields leading to it) and the expected
/// and found types.
pub fn summarize_layout_report(report: &str) -> String {
    let lines: Vec<&str> = report.lines().collect();
    let Some(at) = lines
        .iter()
        .rposition(|l| l.trim_start().starts_with("Error:"))
    else {
        return "the layouts differ".to_owned();
    };
    let what = lines[at].trim().trim_start_matches("Error:").trim();
    // The indented lines under `label`, after the error line: the `type:`
    // among them, or the first one.
    let block = |label: &str| {
        let start = lines[at..].iter().position(|l| l.trim() == label)? + at + 1;
        let body: Vec<&str> = lines[start..]
            .iter()
            .take_while(|l| l.starts_with(char::is_whitespace))
            .map(|l| l.trim())
            .collect();
        body.iter()
            .find_map(|l| l.strip_prefix("type:"))
            .or(body.first().copied())
            .map(str::to_owned)
    };
    let fields: Vec<&str> = lines[..at]
        .iter()
        .rposition(|l| l.contains("error(s)inside:"))
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
    if let (Some(expected), Some(found)) = (block("Expected:"), block("Found:")) {
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
}
