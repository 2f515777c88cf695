//! Plugin configuration: the JSON a host sends, parsed into the plugin's
//! serde `Config`.

use serde::de::DeserializeOwned;

use crate::Error;

/// Parses a plugin's JSON configuration, reporting problems as configuration
/// errors without JSON line/column positions (the user wrote TOML, not JSON).
pub(crate) fn parse_config<C: DeserializeOwned>(json: &str) -> Result<C, Error> {
    let json = if json.trim().is_empty() { "{}" } else { json };
    serde_json::from_str(json).map_err(|error| {
        let text = error.to_string();
        let text = match text.rfind(" at line ") {
            Some(at) if error.line() > 0 => &text[..at],
            _ => &text,
        };
        Error::config(text)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Config {
        dir: String,
    }

    #[test]
    fn config_errors_name_the_field_without_json_positions() {
        let error = parse_config::<Config>("{}").unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Config);
        assert_eq!(error.message(), "missing field `dir`");
        let error = parse_config::<Config>(r#"{"dir": "a", "dri": 1}"#).unwrap_err();
        assert!(error.message().contains("unknown field `dri`"), "{error}");
    }

    #[test]
    fn empty_config_is_an_empty_table() {
        #[derive(serde::Deserialize)]
        struct Nothing {}
        assert!(parse_config::<Nothing>("  ").is_ok());
    }
}
