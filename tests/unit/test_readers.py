"""Reading landing files into ``batch`` (``readers.read_batch``): JSONL done in DuckDB SQL, and
file names taken literally (DuckDB's readers take glob patterns).

The reader must give what the former line-by-line Python reader gave (``json.loads`` per line,
``str()`` of each value): these tests pin that behaviour with expected values.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from customer_status.ingest.readers import FileRejected, normalise, read_batch

WANTED = ["tenant_id", "event_id", "kind"]
NOT_JSON = "the line is not valid JSON ("
NOT_OBJECT = "the line is JSON but not an object ({...})"


@pytest.fixture
def con():
    connection = duckdb.connect()
    yield connection
    connection.close()


def read(con, tmp_path: Path, content: str | bytes, wanted=WANTED, name="e.jsonl"):
    path = tmp_path / name
    if isinstance(content, str):
        content = content.encode("utf-8")
    path.write_bytes(content)
    present = read_batch(con, path, wanted)
    assert present == list(wanted)
    return con.execute('select * from batch order by "cs:row_number"').fetchall()


def test_batch_has_a_text_column_per_wanted_column(con, tmp_path):
    read(con, tmp_path, '{"tenant_id": "t1", "unknown": 1, "Other": {"x": 2}}\n')
    assert con.execute("select column_name, column_type from (describe batch)").fetchall() == [
        ("tenant_id", "VARCHAR"),
        ("event_id", "VARCHAR"),
        ("kind", "VARCHAR"),
        ("cs:row_number", "BIGINT"),
        ("cs:read_error", "VARCHAR"),
    ]
    assert con.execute("select * from batch").fetchall() == [("t1", None, None, 1, None)]


def test_keys_match_columns_case_insensitively_and_trimmed(con, tmp_path):
    rows = read(
        con,
        tmp_path,
        '{" Tenant_ID ": "t1", "EVENT_ID": "e1", "\\ufeffKind\\t": "open", "zz": "x"}\n'
        '{" Tenant_ID ": "t2", "EVENT_ID": "e2"}\n',
    )
    assert rows == [("t1", "e1", "open", 1, None), ("t2", "e2", None, 2, None)]


def test_spellings_that_differ_between_lines(con, tmp_path):
    rows = read(
        con,
        tmp_path,
        '{"tenant_id": "t1", "kind": "a"}\n{"TENANT_ID": "t2", " Kind": "b"}\n{"event_id": "e3"}\n',
    )
    assert rows == [
        ("t1", None, "a", 1, None),
        ("t2", None, "b", 2, None),
        (None, "e3", None, 3, None),
    ]


@pytest.mark.parametrize(
    ("line", "kind"),
    [
        ('{"kind": "a", "kind": "b"}', "b"),  # json.loads keeps the last value
        ('{"Kind": "a", "kind": "b"}', "b"),  # the later key that gives the name wins
        ('{"kind": "b", "Kind": "a"}', "a"),
        # a repeated key keeps its first place (a Python dict), so "KIND" comes later
        ('{"kind": "a", "KIND": "x", "kind": "b"}', "x"),
    ],
)
def test_repeated_keys_as_python_dict(con, tmp_path, line, kind):
    assert read(con, tmp_path, line + "\n") == [(None, None, kind, 1, None)]


@pytest.mark.parametrize(
    "key",
    [" Tenant_ID ", "\ufeffTENANT_id", "tenant_id\u3000", "\u212aind", "\u0130d", "a b", "x/y~z"],
)
@pytest.mark.parametrize("mixed", [False, True], ids=["one-spelling", "mixed-spellings"])
def test_key_normalised_as_normalise_does(con, tmp_path, key, mixed):
    # the second line gives the column another spelling, which takes the object-by-object path
    name = normalise(key)
    other = f'{{"{name.upper()}": "u"}}\n' if mixed else ""
    content = f'{{"{key}": "v"}}\n' + other
    assert read(con, tmp_path, content, wanted=[name])[0] == ("v", 1, None)


def test_blank_lines_are_skipped_and_not_counted(con, tmp_path):
    rows = read(
        con,
        tmp_path,
        '\n  \n{"tenant_id": "t1"}\n\n\t\n\u3000\x0c\n{"tenant_id": "t2"}\n   \n',
        wanted=["tenant_id"],
    )
    assert rows == [("t1", 1, None), ("t2", 2, None)]


def test_bom_crlf_and_lone_cr(con, tmp_path):
    content = b'\xef\xbb\xbf{"tenant_id": "t1"}\r\n{"tenant_id": "t2"}\r{"tenant_id": "t3"}\r\n'
    rows = read(con, tmp_path, content, wanted=["tenant_id"])
    assert rows == [("t1", 1, None), ("t2", 2, None), ("t3", 3, None)]


def test_only_the_first_bom_is_dropped(con, tmp_path):
    rows = read(
        con, tmp_path, b'\xef\xbb\xbf\xef\xbb\xbf{"tenant_id": "t1"}\n', wanted=["tenant_id"]
    )
    assert rows[0][:2] == (None, 1) and rows[0][2].startswith(NOT_JSON)


def test_invalid_and_non_object_lines_are_row_errors(con, tmp_path):
    rows = read(
        con,
        tmp_path,
        '{"tenant_id": "t1"}\n{oops\n[1, 2]\n"text"\n12\nnull\n  {"tenant_id": "t7"}\t\n',
        wanted=["tenant_id"],
    )
    assert [r[:2] for r in rows] == [
        ("t1", 1),
        (None, 2),
        (None, 3),
        (None, 4),
        (None, 5),
        (None, 6),
        ("t7", 7),
    ]
    assert rows[1][2].startswith(NOT_JSON)
    assert [r[2] for r in rows[2:6]] == [NOT_OBJECT] * 4
    assert rows[0][2] is None and rows[6][2] is None


@pytest.mark.parametrize(
    "line",
    [
        '{"tenant_id": "t1",}',
        '{"tenant_id": [1, 2, ]}',
        '{"tenant_id": nan}',
        '{"tenant_id": "t1", "x": -inf}',
        '{"tenant_id": "t1", "x": [Infinity, -NaN]}',
        '{"tenant_id": "t1"} {"tenant_id": "t2"}',
        '{"tenant_id": 01}',
        '{"tenant_id": "tab\there"}',
        "{'tenant_id': 't1'}",
    ],
)
def test_lines_python_rejects_are_invalid(con, tmp_path, line):
    # DuckDB alone accepts some of these (trailing commas, nan/inf in any spelling)
    [row] = read(con, tmp_path, line + "\n", wanted=["tenant_id"])
    assert row[:2] == (None, 1) and row[2].startswith(NOT_JSON)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ('"t1"', "t1"),
        ('""', ""),
        ('" padded "', " padded "),
        ('"a\\"b\\\\c\\n\\u00e9\\ud83d\\ude00"', 'a"b\\c\né😀'),
        ("null", None),
        ("true", "true"),
        ("false", "false"),
        ("12", "12"),
        ("-0", "0"),
        ("-9223372036854775809", "-9223372036854775809"),
        ("123456789012345678901234567890", "123456789012345678901234567890"),
        ("12.5", "12.5"),
        ("12.50", "12.5"),
        ("1e3", "1000.0"),
        ("1E-7", "1e-07"),
        ("1e16", "1e+16"),
        ("0.1", "0.1"),
        ("-0.0", "-0.0"),
        ("1e400", "inf"),
        ("NaN", "nan"),
        ("-Infinity", "-inf"),
        ('{"b": 1, "a": [1, "x, y: z", null, true]}', '{"a": [1, "x, y: z", null, true], "b": 1}'),
        ("[]", "[]"),
    ],
)
def test_value_text_is_python_str_of_the_value(con, tmp_path, value, text):
    assert read(con, tmp_path, f'{{"kind": {value}}}\n') == [(None, None, text, 1, None)]


def test_absent_columns_and_empty_objects_are_null(con, tmp_path):
    rows = read(con, tmp_path, '{}\n{"zz": 1}\n')
    assert rows == [(None, None, None, 1, None), (None, None, None, 2, None)]


def test_a_file_of_blank_lines_has_no_rows(con, tmp_path):
    assert read(con, tmp_path, b"\xef\xbb\xbf\n \n\r\n") == []


def test_not_utf8_file_is_rejected(con, tmp_path):
    path = tmp_path / "e.jsonl"
    path.write_bytes(b'{"tenant_id": "t1"}\n{"tenant_id": "\xff"}\n')
    with pytest.raises(FileRejected, match=r"^not UTF-8 text \(near line \d+\): byte 0xff "):
        read_batch(con, path, WANTED)


def test_glob_characters_in_the_file_name_are_literal(con, tmp_path):
    (tmp_path / "e1.jsonl").write_text('{"tenant_id": "wrong file"}\n')
    rows = read(con, tmp_path, '{"tenant_id": "right file"}\n', ["tenant_id"], name="e[1].jsonl")
    assert rows == [("right file", 1, None)]


def test_glob_characters_in_a_parquet_file_name_are_literal(con, tmp_path):
    # the same trap as read_text: read_parquet takes a pattern too
    con.execute(f"copy (select 'wrong file' as tenant_id) to '{tmp_path / 'p1.parquet'}'")
    con.execute(f"copy (select 'right file' as tenant_id) to '{tmp_path / 'p[1].parquet'}'")
    assert read_batch(con, tmp_path / "p[1].parquet", ["tenant_id"]) == ["tenant_id"]
    assert con.execute("select tenant_id from batch").fetchall() == [("right file",)]
