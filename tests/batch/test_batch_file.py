"""The batch file format: template substitution, both item forms, and bad lines named by number."""

from __future__ import annotations

import json

import pytest

from core.batch_file import MAX_ITEM_BYTES, BatchFileError, MissingVariable, parse_lines, substitute


def test_substitute_replaces_names_and_leaves_other_braces() -> None:
    text = 'Dear {customer_name}, reply as JSON like {"ok": true}; literal {{customer_name}}; n={n}, vip={vip}'
    got = substitute(text, {"customer_name": "Ana", "n": 3, "vip": True})
    assert got == 'Dear Ana, reply as JSON like {"ok": true}; literal {customer_name}; n=3, vip=true'


def test_substitute_rejects_a_missing_variable() -> None:
    with pytest.raises(MissingVariable, match=r"\{order\}"):
        substitute("About {order}", {"name": "x"})


def test_template_and_messages_forms_render_to_requests() -> None:
    lines = [
        json.dumps({"id": "a-1", "template": "Reply to {name}.", "system": "You work for {co}.",
                    "variables": {"name": "Ana", "co": "Northwind"}, "max_tokens": 120, "temperature": 0.2}),
        "",
        json.dumps({"task_type": "contract_clause_summary", "variables": {"c": "12.2"},
                    "messages": [{"role": "system", "content": "Be plain."},
                                 {"role": "user", "content": [{"type": "text", "text": "Clause {c}"}]}]}),
    ]
    a, b = parse_lines(lines, default_task_type="support_reply")
    assert (a.n, a.key, a.task_type) == (1, "a-1", "support_reply")
    assert [(m.role, m.content) for m in a.request.messages] == [("system", "You work for Northwind."),
                                                                  ("user", "Reply to Ana.")]
    assert a.request.max_tokens == 120 and a.request.temperature == 0.2
    assert (b.n, b.key, b.task_type) == (2, None, "contract_clause_summary")
    assert b.request.messages[1].text() == "Clause 12.2"


def test_every_bad_line_is_reported_with_its_number_and_nothing_loads() -> None:
    lines = [
        json.dumps({"template": "ok {a}", "variables": {"a": 1}}),
        json.dumps({"template": "Hello {name}"}),
        "{not json",
        json.dumps({"template": "x", "messages": [{"role": "user", "content": "y"}]}),
        json.dumps({"template": "x", "temprature": 0.5}),
        json.dumps({"id": "dup", "template": "x"}),
        json.dumps({"id": "dup", "template": "y"}),
        json.dumps({"template": "x" * (MAX_ITEM_BYTES + 10)}),
        json.dumps({"messages": [{"role": "user", "content": "hi"}], "system": "s"}),
    ]
    with pytest.raises(BatchFileError) as e:
        parse_lines(lines)
    got = dict(e.value.problems)
    assert sorted(got) == [2, 3, 4, 5, 7, 8, 9]
    assert "{name}" in got[2] and "not valid JSON" in got[3] and "exactly one" in got[4]
    assert "temprature" in got[5] and "duplicate id 'dup' (first on line 6)" in got[7]
    assert "item limit" in got[8] and "'system' goes with 'template'" in got[9]
    assert str(e.value).startswith("7 bad line(s):\n  line 2:")


def test_an_empty_file_is_an_error() -> None:
    with pytest.raises(BatchFileError, match="no items") as e:
        parse_lines(["", "  "])
    assert "line 0" not in str(e.value)


def test_a_task_type_no_route_of_the_running_config_serves_is_a_bad_line() -> None:
    lines = [json.dumps({"template": "a", "task_type": "support_reply"}),
             json.dumps({"template": "b", "task_type": "nope"}),
             json.dumps({"template": "c"})]
    routes = {"support_reply", "json_extraction"}
    with pytest.raises(BatchFileError) as e:
        parse_lines(lines, routes=routes)
    assert dict(e.value.problems) == {2: "unknown task type 'nope' (routes: json_extraction, support_reply)"}
    with pytest.raises(BatchFileError, match="line 3: unknown task type 'typo'"):
        parse_lines(lines[:1] + lines[2:] + lines[2:], default_task_type="typo", routes=routes)
    assert [i.task_type for i in parse_lines(lines[:1] + lines[2:], routes=routes)] == ["support_reply", None]


def test_the_example_batch_file_parses() -> None:
    from tests.configs import REPO
    items = parse_lines((REPO / "examples" / "batch.jsonl").read_text().splitlines())
    assert [i.key for i in items][:2] == ["renew-acme", "renew-baker"]
    assert all("{" not in m.text() or "json" in m.text().lower() for i in items for m in i.request.messages)
