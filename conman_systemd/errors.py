"""The one error type the core raises; the CLI and the shim turn it into one line and an exit code."""

from __future__ import annotations

# docker's exit codes (docs/reference/run.md): 125 the engine failed, 126 the command cannot be
# invoked, 127 the command was not found.
EXIT_ENGINE = 125
EXIT_CANNOT_INVOKE = 126
EXIT_NOT_FOUND = 127


class ConmanError(Exception):
    """A failure to show the user as one line (plus an optional hint), never as a traceback."""

    def __init__(self, message: str, *, hint: str | None = None, exit_code: int = EXIT_ENGINE) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.exit_code = exit_code

    def __str__(self) -> str:
        return self.message


class CommandFailed(ConmanError):
    """An external command (crun, runc, rm, ...) failed; carries its own error text."""

    def __init__(self, argv: list[str], returncode: int, stderr: str) -> None:
        text = stderr.strip().splitlines()[-1] if stderr.strip() else f"exit status {returncode}"
        super().__init__(f"{argv[0]}: {text}")
        self.argv = argv
        self.returncode = returncode
        self.stderr = stderr


def quoted(text: str) -> str:
    """text in double quotes for a message, its control characters escaped (`"web\\n"`): a
    newline a user typed by mistake must show, not break the line."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + "".join(c if c.isprintable() else repr(c)[1:-1] for c in escaped) + '"'
