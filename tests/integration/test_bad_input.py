"""Every bad input: one line (plus a hint) on stderr, its exit code, and nothing left behind."""

from __future__ import annotations

import pytest

from tests.integration.conftest import Conman

pytestmark = pytest.mark.systemd

NO_CONTAINER = "Error: no such container: nosuch\nHint: list containers with `conman ps -a`\n"
ALLOWED = "[a-zA-Z0-9][a-zA-Z0-9_.-]*"

CASES = [
    (["run", "--name", "a b", "busybox", "true"], f'Error: invalid container name "a b": names must match {ALLOWED}\n'),
    (["run", "-v", "/etc/hostname/x:/x", "busybox", "true"],
     "Error: cannot create /etc/hostname/x, the source of volume /x: Not a directory\n"),
    (["run", "-v", "./rel:/x", "busybox", "true"],
     'Error: invalid volume "./rel:/x": the source must be an absolute path on the host or a volume name '
     "(letters, digits, _ . and -, starting with a letter or digit, at least 2 characters)\n"),
    (["run", "-v", "/var:x", "busybox", "true"], 'Error: invalid volume "/var:x": the destination must be an absolute path\n'),
    (["run", "-v", "/var:/x:rx", "busybox", "true"], 'Error: invalid volume "/var:/x:rx": the options are ro or rw, nocopy, z, Z, not "rx"\n'),
    (["run", "-v", "/a:/b:ro:x", "busybox", "true"], 'Error: invalid volume "/a:/b:ro:x": use SOURCE:DESTINATION[:OPTIONS]\n'),
    (["run", "--mount", "type=volume,source=x,target=/x", "busybox", "true"],
     'Error: invalid mount "type=volume,source=x,target=/x": a volume\'s source is its name (letters, digits, '
     "_ . and -, starting with a letter or digit, at least 2 characters)\n"),
    (["run", "-a", "stdfoo", "busybox", "true"],
     'Error: invalid stream "stdfoo" for --attach: use STDIN, STDOUT or STDERR\n'),
    (["run", "-d", "-a", "stdout", "busybox", "true"],
     "Error: conflicting options: -a and -d\nHint: -a picks a foreground run's streams\n"),
    (["run", "--dns", "dns.example", "busybox", "true"],
     'Error: invalid --dns "dns.example": use an IPv4 or IPv6 address\n'),
    (["run", "--add-host", "db", "busybox", "true"], 'Error: invalid --add-host "db": use HOST:IP\n'),
    (["run", "--network", "host", "--add-host", "db:host-gateway", "busybox", "true"],
     "Error: --add-host HOST:host-gateway needs a bridge network, not --network host\n"
     "Hint: give --network bridge or a network's name\n"),
    (["run", "--dns-search", "a b", "busybox", "true"],
     'Error: invalid --dns-search "a b": use a domain name, or . for none\n'),
    (["run", "-e", "=x", "busybox", "true"],
     "Error: invalid environment variable \"=x\": the name must be non-empty, without spaces or '='\n"),
    (["run", "--env-file", "/nonexistent", "busybox", "true"],
     'Error: cannot read env file "/nonexistent": No such file or directory\n'),
    (["run", "-u", "nobodyx", "busybox", "true"], "Error: invalid user \"nobodyx\": no user nobodyx in the image's /etc/passwd\n"),
    (["run", "-u", "0:wheelx", "busybox", "true"], "Error: invalid user \"0:wheelx\": no group wheelx in the image's /etc/group\n"),
    (["run", "--stop-signal", "FOO", "busybox", "true"],
     'Error: invalid signal "FOO": use a name such as SIGTERM or a number from 1 to 64\n'),
    (["run", "--stop-timeout", "-1", "busybox", "true"], "Error: invalid stop timeout -1: it must be 0 or more seconds\n"),
    (["run", "--restart", "sometimes", "busybox", "true"],
     'Error: invalid restart policy "sometimes": use no, on-failure[:N], always or unless-stopped\n'),
    # (the session's sandbox shares the host's network: a bridge there would change the host's)
    (["run", "--network", "bridge", "busybox", "true"],
     "Error: this sandbox shares the host's network: bridge networks would change the host's\n"
     "Hint: use `conman sandbox --network private`, or --network host\n"),
    (["run", "-p", "8080:80", "busybox", "true"],
     "Error: this sandbox shares the host's network: bridge networks would change the host's\n"
     "Hint: use `conman sandbox --network private`, or --network host\n"),
    (["run", "--network", "a/b", "busybox", "true"],
     'Error: invalid network "a/b": use bridge, host, none, container:NAME or a network name\n'),
    (["run", "--network", "container:nosuch", "busybox", "true"], NO_CONTAINER),
    (["run", "--rm", "--restart", "always", "busybox", "true"],
     "Error: --rm and --restart cannot be used together\nHint: a restarted container is never removed\n"),
    (["run", "--stop-timeout", "99999999999999999999", "busybox", "true"],
     "Error: invalid stop timeout 99999999999999999999: it must be at most 2147483647 seconds\n"),
    (["run", "--hostname", "a_b!", "busybox", "true"],
     'Error: invalid hostname "a_b!": use letters, digits, inner hyphens and dots, at most 64 characters\n'),
    (["run", "-h", "x" * 65, "busybox", "true"],
     f'Error: invalid hostname "{"x" * 65}": use letters, digits, inner hyphens and dots, at most 64 characters\n'),
    *((["run", "-v", f"/var:{dest}", "busybox", "true"],
       f'Error: invalid volume "/var:{dest}": the destination {shown} is not allowed: '
       "the runtime sets up /, /dev, /proc and /sys itself\n")
      for dest, shown in (("/", "/"), ("/..", "/"), ("//", "/"), ("/dev", "/dev"), ("/proc/sys", "/proc/sys"),
                          ("/sys", "/sys"))),
    (["run", "-w", "relative", "busybox", "true"], 'Error: invalid working directory "relative": it must be an absolute path\n'),
    (["stop", "nosuch"], NO_CONTAINER),
    (["start", "nosuch"], NO_CONTAINER),
    (["rm", "nosuch"], NO_CONTAINER),
    (["kill", "nosuch"], NO_CONTAINER),
    (["wait", "nosuch"], NO_CONTAINER),
    (["logs", "nosuch"], NO_CONTAINER),
    (["inspect", "nosuch"], NO_CONTAINER),
    (["unit", "nosuch"], NO_CONTAINER),
    (["kill", "-s", "FOO", "nosuch"], 'Error: invalid signal "FOO": use a name such as SIGTERM or a number from 1 to 64\n'),
    (["stop", "-t", "-3", "nosuch"], "Error: invalid stop timeout -3: it must be 0 or more seconds\n"),
    (["image", "import", "foo"], "Error: no SOURCE given for foo\n"
     "Hint: give a rootfs tarball or directory; only `busybox` is built without one\n"),
    (["image", "import", "foo", "/nonexistent.tar"], "Error: cannot import /nonexistent.tar: no such file or directory\n"
     "Hint: SOURCE is a rootfs tarball (.tar, .tar.gz, .tar.zst) or a directory\n"),
    (["image", "import", "Bad Name", "/var"], 'Error: invalid image name "Bad Name"\n'
     "Hint: use [REGISTRY/]NAME[:TAG][@sha256:DIGEST], the name in lower case\n"),
    (["run", "--pull", "never", "nosuch"], "Error: no such image: nosuch\n"
     "Hint: pull it with `conman pull`, or run without --pull never\n"),
    (["run", "127.0.0.1:1/nosuch", "true"], "Unable to find image '127.0.0.1:1/nosuch' locally\n"
     'Error: cannot pull 127.0.0.1:1/nosuch: pinging container registry 127.0.0.1:1: Get "http://127.0.0.1:1/v2/": dial tcp 127.0.0.1:1: connect: connection refused\n'),
]  # fmt: skip


@pytest.mark.parametrize(("args", "message"), CASES, ids=[" ".join(a) for a, _ in CASES])
def test_bad_input_is_one_clear_line_and_leaves_nothing(
    clean: Conman, args: list[str], message: str
) -> None:
    proc = clean(*args)
    assert (proc.returncode, proc.stderr) == (125, message)
    assert proc.stdout == ""
    assert clean.leftovers() == ""


def test_a_bad_flag_value_is_a_usage_error_with_code_125(clean: Conman) -> None:
    proc = clean("run", "--stop-timeout", "abc", "busybox", "true")
    assert proc.returncode == 125
    assert "Error: Invalid value for '--stop-timeout': 'abc' is not a valid integer." in proc.stderr
    proc = clean("run", "--pull", "sometimes", "busybox", "true")
    assert proc.returncode == 125
    assert (
        "Error: Invalid value for '--pull': 'sometimes' is not one of 'missing', 'always', 'never'."
        in proc.stderr
    )


# The runtime's own words, and docker's exit codes.
CANNOT_RUN = {
    ("crun", "nosuch"): (127, "crun: executable file `nosuch` not found in $PATH: No such file or directory"),
    ("crun", "/etc/passwd"): (126, "crun: open executable: Permission denied"),
    ("runc", "nosuch"): (127, 'runc create failed: unable to start container process: exec: "nosuch": '
                              "executable file not found in $PATH"),
    ("runc", "/etc/passwd"): (126, 'runc create failed: unable to start container process: exec: '
                                   '"/etc/passwd": permission denied'),
}  # fmt: skip


@pytest.mark.parametrize("command", ["nosuch", "/etc/passwd"])
def test_a_command_that_cannot_run_gets_the_runtimes_text_and_docker_codes(
    clean: Conman, command: str
) -> None:
    code, message = CANNOT_RUN[clean.runtime, command]
    for detach in ([], ["-d"]):
        proc = clean("run", *detach, "busybox", command)
        assert (proc.returncode, proc.stderr) == (code, f"Error: {message}\n")
        assert clean.leftovers() == ""


def test_a_taken_name_is_refused(clean: Conman) -> None:
    cid = clean.ok("create", "--name", "taken", "busybox", "true").strip()
    proc = clean("run", "--name", "taken", "busybox", "true")
    assert proc.returncode == 125
    assert proc.stderr == (f'Error: the container name "taken" is already in use by container {cid[:12]}\n'
                           "Hint: remove that container or choose another name\n")  # fmt: skip
    assert clean.ok("ps", "-aq") == cid[:12] + "\n"


def test_an_image_in_use_is_not_removed(clean: Conman) -> None:
    clean.ok("create", "--name", "user", "busybox", "true")
    proc = clean("image", "rm", "busybox")
    assert (proc.returncode, proc.stderr) == (
        125, "Error: image busybox is in use by container user\nHint: remove the container first, or untag the image with -f\n")  # fmt: skip


def test_systemd_unreachable(clean: Conman) -> None:
    proc = clean.system.run(
        ["env", "DBUS_SYSTEM_BUS_ADDRESS=unix:path=/nonexistent", "conman", "run", "busybox", "true"]
    )
    assert proc.returncode == 125
    assert proc.stderr == (
        "Error: systemd is not reachable on the system bus (unix:path=/nonexistent: No such file or directory)\n"
        "Hint: is systemd PID 1 here? `conman sandbox -- CMD` boots one for tests and demos\n"
    )
    assert clean.leftovers() == ""


def test_kill_of_a_stopped_container(clean: Conman) -> None:
    clean.ok("create", "--name", "idle", "busybox", "true")
    proc = clean("kill", "idle")
    assert (proc.returncode, proc.stderr) == (125, "Error: container idle is not running\n")
