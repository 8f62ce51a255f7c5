//! `lint`: the changes between two versions of the schemas, each classified by a rule.

use super::{Text, TextOptions, View, count, exit};
use crate::lint::{Finding, Severity};
use serde::Serialize;

/// `mongrate lint`.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct LintReport {
    /// The old schemas (a folder, or `folder@REV`).
    pub old: String,
    /// The new schemas.
    pub new: String,
    pub fail_on: Severity,
    /// Most severe first.
    pub findings: Vec<Finding>,
    /// Unacknowledged findings at or above `fail_on` (exit 2 when > 0).
    pub failing: usize,
}

/// `mongrate lint --rules`: every rule.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct RulesReport {
    pub rules: Vec<Rule>,
}

/// One lint rule.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct Rule {
    pub rule: &'static str,
    pub severity: Severity,
    pub advice: &'static str,
}

impl View for RulesReport {
    fn command(&self) -> &'static str {
        "lint"
    }

    fn text(&self, _: &TextOptions) -> Text {
        let mut t = Text::default();
        for r in &self.rules {
            t.outln(format!(
                "{:<28} {:<9} {}",
                r.rule,
                r.severity.as_str(),
                r.advice
            ));
        }
        t
    }

    fn exit_code(&self) -> i32 {
        exit::OK
    }
}

impl View for LintReport {
    fn command(&self) -> &'static str {
        "lint"
    }

    fn text(&self, options: &TextOptions) -> Text {
        let mut t = Text::default();
        if options.github {
            t.out(self.annotations());
        } else {
            t.out(self.listing());
        }
        if self.failing > 0 && options.quiet {
            t.errln(format!(
                "{} at or above {}",
                count(self.failing, "change"),
                self.fail_on.as_str()
            ));
        }
        t
    }

    fn exit_code(&self) -> i32 {
        if self.failing > 0 {
            exit::DIFFERENCES
        } else {
            exit::OK
        }
    }
}

impl LintReport {
    /// For people: each finding at its file and line, its evidence and advice, then counts.
    fn listing(&self) -> String {
        let mut text = String::new();
        for f in &self.findings {
            text.push_str(&format!(
                "{}:{}: {} {}: {}{}\n",
                f.file.display(),
                f.line,
                f.severity.as_str(),
                f.rule,
                f.message,
                f.allowed
                    .as_ref()
                    .map(|r| format!(" (acknowledged: {r})"))
                    .unwrap_or_default()
            ));
            if let Some(e) = &f.evidence {
                text.push_str(&format!("    data: {e}\n"));
            }
            if f.severity > Severity::Safe && f.allowed.is_none() {
                text.push_str(&format!("    {}\n", f.advice));
            }
        }
        let n = |s| self.findings.iter().filter(|f| f.severity == s).count();
        text.push_str(&format!(
            "{}: {} breaking, {} risky, {} safe; {} at or above {} not acknowledged.\n",
            count(self.findings.len(), "change"),
            n(Severity::Breaking),
            n(Severity::Risky),
            n(Severity::Safe),
            self.failing,
            self.fail_on.as_str()
        ));
        text
    }

    /// For GitHub Actions: one workflow command per risky or breaking finding.
    fn annotations(&self) -> String {
        let mut text = String::new();
        for f in self.findings.iter().filter(|f| f.severity > Severity::Safe) {
            let level = match (f.severity, &f.allowed) {
                (_, Some(_)) => "notice",
                (Severity::Breaking, None) => "error",
                _ => "warning",
            };
            text.push_str(&format!(
                "::{level} file={},line={},title={} ({})::{}{}{} — {}\n",
                escape_property(&f.file.display().to_string()),
                f.line.max(1),
                escape_property(f.rule),
                f.severity.as_str(),
                escape_data(&f.message),
                f.evidence
                    .as_ref()
                    .map(|e| escape_data(&format!("; {e}")))
                    .unwrap_or_default(),
                f.allowed
                    .as_ref()
                    .map(|r| escape_data(&format!(" (acknowledged: {r})")))
                    .unwrap_or_default(),
                escape_data(f.advice)
            ));
        }
        text
    }
}

/// GitHub workflow command escaping: the message.
fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// GitHub workflow command escaping: a property (file, title).
fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}
