"""The Go-template subset of --format: what docker users write works, everything else is one error."""

from __future__ import annotations

from typing import Any

import pytest

from conman_systemd.cli.gotemplate import render
from conman_systemd.errors import ConmanError, quoted

INFO: dict[str, Any] = {
    "Name": "web",
    "Id": "abc",
    "State": {"Pid": 42, "Running": True, "ExitCode": 0, "Error": None},
    "Config": {"Cmd": ["sleep", "1"], "Labels": {"a": "1", "b.c": "2"}, "Env": []},
    "Mounts": [{"Source": "/s", "Destination": "/d"}, {"Source": "/t", "Destination": "/e"}],
    "NetworkSettings": {
        "Networks": {"red": {"IPAddress": "10.90.2.2"}, "blue": {"IPAddress": "10.90.1.2"}},
        "Ports": {"80/tcp": [{"HostIp": "0.0.0.0", "HostPort": "8080"}]},
    },
}


@pytest.mark.parametrize(
    ("template", "out"),
    [
        ("{{.State.Pid}}", "42"),
        ("{{ .Name }} {{.State.Running}} {{.State.ExitCode}} {{.State.Error}}", "web true 0 <no value>"),
        ("{{.Config.Cmd}}", "[sleep 1]"),
        ("{{.Config.Labels}}", "map[a:1 b.c:2]"),
        ("{{json .State}}", '{"Pid":42,"Running":true,"ExitCode":0,"Error":null}'),
        ("{{json .Config.Cmd}}", '["sleep","1"]'),
        ('{{index .Config.Labels "b.c"}}', "2"),
        ('{{index .Config.Labels "nope"}}', "<no value>"),
        ("{{index .Config.Cmd 1}}", "1"),
        ("{{len .Mounts}} {{len .Config.Env}}", "2 0"),
        ("{{.Name | upper}} {{upper .Name | lower}}", "WEB web"),
        ("{{if .State.Running}}up{{else}}down{{end}}", "up"),
        ("{{if .Config.Env}}env{{else}}no env{{end}}", "no env"),
        ("{{range .Mounts}}{{.Source}}:{{.Destination}} {{end}}", "/s:/d /t:/e "),
        ("{{range .Config.Env}}x{{else}}none{{end}}", "none"),
        ("{{with .State}}{{.Pid}}{{end}}", "42"),
        ('{{join .Config.Cmd ","}}', "sleep,1"),
        ('{{printf "%s=%d" .Name .State.Pid}}', "web=42"),
        ('{{if eq .Name "web"}}yes{{end}} {{if ne .State.Pid 1}}not init{{end}}', "yes not init"),
        ("{{if and .State.Running (not .State.ExitCode)}}ok{{end}}", "ok"),
        ('{{len (index .Config.Labels "a")}}', "1"),
        ("a {{- .Name -}} b", "awebb"),
        ("{{/* a comment */}}plain", "plain"),
        ("no actions", "no actions"),
        # docker's documented idioms: ranges with variables, a field of a parenthesised value
        ("{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}", "10.90.1.2 10.90.2.2 "),  # keys' order
        (
            "{{range $n, $s := .NetworkSettings.Networks}}{{$n}}={{$s.IPAddress}} {{end}}",
            "blue=10.90.1.2 red=10.90.2.2 ",
        ),
        (
            "{{range $p, $conf := .NetworkSettings.Ports}}{{$p}} -> {{(index $conf 0).HostPort}}{{end}}",
            "80/tcp -> 8080",
        ),
        ("{{range $i, $m := .Mounts}}{{$i}}:{{$m.Source}}@{{$.Name}} {{end}}", "0:/s@web 1:/t@web "),
        ("{{range $m := .Mounts}}{{$m.Destination}}{{end}}", "/d/e"),
        ("{{with $s := .State}}{{$s.Pid}}{{end}}", "42"),
    ],
)
def test_what_docker_users_write(template: str, out: str) -> None:
    assert render(template, INFO) == out


@pytest.mark.parametrize(
    ("template", "problem"),
    [
        ("{{.State.Nope}}", "no field .State.Nope"),
        ("{{.State.Pid", "unclosed action"),
        ("{{if .Name}}x", "unexpected EOF: if has no end"),
        ("{{end}}", "unexpected end"),
        ("{{else}}", "unexpected else"),
        ("{{frobnicate .Name}}", 'function "frobnicate" not defined'),
        ("{{.Name | .Id}}", ".Id is not a function"),
        ('{{"abc}}', "unterminated quoted string"),
        ("{{len .State.Pid}}", "len of 42"),
        ("{{index .Config.Cmd 5}}", "index of [sleep 1] with 5"),
        ("{{range .Name}}x{{end}}", "range can't iterate over web"),
        ("{{(.Name}}", "unclosed ("),
        ("{{upper}}", "wrong number of arguments for upper"),
        ("{{$nope}}", "undefined variable: $nope"),
        ("{{range $a, $b, $c := .Mounts}}{{end}}", "bad variable declaration $a, $b, $c"),
    ],
)
def test_anything_else_is_one_error_never_printed_back(template: str, problem: str) -> None:
    with pytest.raises(ConmanError) as e:
        render(template, INFO)
    assert e.value.message == f"invalid format {quoted(template)}: {problem}"
