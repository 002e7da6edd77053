//! Running the command-line tools the suite drives, with errors that say which command
//! failed, how, and what it wrote to stderr.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use anyhow::{Context, Result, bail};

/// The command line as one would type it, for logs and error messages.
pub fn show(cmd: &Command) -> String {
    let mut line = cmd.get_program().to_string_lossy().into_owned();
    for arg in cmd.get_args() {
        line.push(' ');
        line.push_str(&shell_word(&arg.to_string_lossy()));
    }
    line
}

fn shell_word(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=,@%+".contains(c));
    if plain {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

/// Runs `cmd` to completion, feeding it `stdin`, whatever its exit status.
pub fn output(cmd: &mut Command, stdin: Option<&[u8]>) -> Result<Output> {
    let line = show(cmd);
    cmd.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let mut child = cmd
        .spawn()
        .with_context(|| format!("could not start `{line}`: is it installed and on PATH?"))?;
    if let (Some(input), Some(mut pipe)) = (stdin, child.stdin.take()) {
        pipe.write_all(input)
            .with_context(|| format!("writing the input of `{line}`"))?;
    }
    child
        .wait_with_output()
        .with_context(|| format!("waiting for `{line}`"))
}

/// Runs `cmd` and returns its stdout; an error unless it exits 0.
pub fn run(cmd: &mut Command, stdin: Option<&[u8]>) -> Result<String> {
    let out = output(cmd, stdin)?;
    if !out.status.success() {
        bail!(
            "`{}` failed ({}): {}",
            show(cmd),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    String::from_utf8(out.stdout).with_context(|| format!("`{}` printed non-UTF-8", show(cmd)))
}

/// Runs `cmd` for its effect, logging the command line first (for one-off steps, not polls).
pub fn run_logged(cmd: &mut Command) -> Result<String> {
    eprintln!("+ {}", show(cmd));
    run(cmd, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_lines_are_quoted_only_where_a_shell_needs_it() {
        let mut cmd = Command::new("kubectl");
        cmd.args(["get", "chain/x", "-o", "go-template={{.a}}", "it's", ""]);
        assert_eq!(
            show(&cmd),
            r"kubectl get chain/x -o 'go-template={{.a}}' 'it'\''s' ''"
        );
    }

    #[test]
    fn a_failing_command_reports_its_line_status_and_stderr() {
        let mut cmd = Command::new("sh");
        cmd.args(["-c", "echo boom >&2; exit 3"]);
        let err = format!("{:#}", run(&mut cmd, None).unwrap_err());
        assert!(err.contains("sh -c"), "{err}");
        assert!(err.contains("exit status: 3"), "{err}");
        assert!(err.contains("boom"), "{err}");
    }

    #[test]
    fn stdin_reaches_the_command_and_stdout_comes_back() {
        let mut cmd = Command::new("cat");
        assert_eq!(run(&mut cmd, Some(b"hello")).unwrap(), "hello");
    }

    #[test]
    fn a_missing_program_says_so() {
        let mut cmd = Command::new("consortia-e2e-no-such-tool");
        let err = format!("{:#}", run(&mut cmd, None).unwrap_err());
        assert!(err.contains("is it installed and on PATH"), "{err}");
    }
}
