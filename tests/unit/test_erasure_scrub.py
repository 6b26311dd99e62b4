"""Erasure (rules §12) at ingest: the erased customer's values leave every raw table and the
work area's artefacts; what the rules match on (email equality and domain, code equality,
"has a phone") is kept through a stable pseudonym; bad requests are rejected with why."""

from __future__ import annotations

import hashlib
import re

import pytest

from customer_status.ingest import erasure

CUSTOMERS = (
    "tenant_id,customer_id,code,email,phone,full_name,accepts_marketing,created_at,updated_at\n"
    "t1,c1,K-100,Zoe.Smith@Example.com,+33 6 11 22 33 44,Zoë O'Smith,true,2026-01-05T10:00:00Z,\n"
    "t1,c2,K-200,zoe.smith@example.com,,Other Person,true,2026-01-06T10:00:00Z,\n"
    "t1,c3,K-300,bob@example.org,+33 6 99 99 99 99,Bob Keeps,true,2026-01-07T10:00:00Z,\n"
)
# a later version of c1 (new phone), and a rejected row of c1's quoting a bad email
CUSTOMERS_LATER = (
    "tenant_id,customer_id,code,email,phone,full_name,accepts_marketing,created_at,updated_at\n"
    "t1,c1,K-100,zoe.smith@example.com,+33 7 00 00 00 01,Zoë O'Smith,true,2026-01-05T10:00:00Z,"
    "2026-02-01T00:00:00Z\n"
    "t1,c1,K-100,zoe.private@@mail,,Zoë O'Smith,true,2026-01-05T10:00:00Z,2026-02-02T00:00:00Z\n"
    + "".join(
        f"t1,f{n},F-{n},f{n}@example.net,,Filler {n},true,2026-01-05T10:00:00Z,\n"
        for n in range(10)
    )
)
SUPPRESSIONS = (
    "tenant_id,kind,value,added_at\n"
    "t1,email,zoe.smith@example.com,2026-01-10T00:00:00Z\n"
    "t1,domain,example.com,2026-01-11T00:00:00Z\n"
)
IMPORT = "Code,Email,Customer Status\nK-100,,inactive\n,zoe.smith@example.com,inactive\n"
REQUESTS = (
    "tenant_id,request_id,customer_id,requested_at,reason,actor\n"
    "t1,r1,c1,2026-03-01T10:00:00Z,asked by mail,dpo@shop\n"
    "t1,r2,c404,2026-03-01T10:00:00Z,asked by mail,dpo@shop\n"
    "t1,r3,c3,2026-03-01T10:00:00Z,,dpo@shop\n"
    "t1,r4,c3,2026-03-01T10:00:00Z,asked,\n"
    "t1,r5,c1,2026-03-02T10:00:00Z,asked again,dpo@shop\n"
)
PERSON = [
    "zoe.smith@example.com",
    "zoe.private@@mail",
    "+33 6 11 22 33 44",
    "+33 7 00 00 00 01",
    "Zoë O'Smith",
    "K-100",
]


def every_text(con) -> str:
    """Every value of every column of every table of the work file, as text."""
    tables = con.execute(
        "select table_schema, table_name from information_schema.tables "
        "where table_type = 'BASE TABLE'"
    ).fetchall()
    chunks = []
    for schema, table in tables:
        for row in con.execute(f'select * from "{schema}"."{table}"').fetchall():
            chunks.append(" | ".join("" if v is None else str(v) for v in row))
    return "\n".join(chunks)


def found(text: str) -> list[str]:
    return [v for v in PERSON if v.lower() in text.lower()]


@pytest.fixture
def zone(landing, tmp_path, monkeypatch):
    monkeypatch.delenv(erasure.KEY_ENV, raising=False)
    landing.write("customers/a.csv", CUSTOMERS)
    landing.write("suppressions/s.csv", SUPPRESSIONS)
    landing.write("status_imports/t1/import.csv", IMPORT)
    landing.ingest()
    landing.write("customers/b.csv", CUSTOMERS_LATER)
    landing.ingest()
    assert len(found(every_text(landing.db))) == len(PERSON)  # the person is everywhere
    work = tmp_path / "work"
    report = work / "runs" / "night-1" / "report.html"
    report.parent.mkdir(parents=True)
    report.write_text("<td>Zoë O&#39;Smith</td><td>ZOE.SMITH@example.com</td>")
    (work / "runs" / "night-1" / "run.json").write_text('{"sample": "Zo\\u00eb O\'Smith K-100"}')
    (work / "gx" / "uncommitted").mkdir(parents=True)
    (work / "gx" / "uncommitted" / "keep.json").write_text('{"value": "bob@example.org"}')
    landing.write("erasure_requests/forget.csv", REQUESTS)
    landing.ingest()
    return landing, work


def test_requests_without_reason_or_actor_are_rejected_rows(zone):
    landing, _ = zone
    assert landing.rejects("erasure_requests/forget.csv") == [
        (3, "reason is missing"),
        (4, "actor is missing"),
    ]
    loaded = landing.rows("select request_id from raw.erasure_requests order by 1")
    assert loaded == [("r1",), ("r2",), ("r5",)]


def test_the_person_leaves_every_raw_table_and_the_equalities_stay(zone):
    landing, work = zone
    con = landing.db
    result = erasure.apply_erasures(con, work, "night-3")
    assert result.customers == 1  # c404 is unknown: nothing to erase
    assert result.rows_changed > 0
    assert found(every_text(con)) == []
    versions = con.execute(
        "select email, phone, code, full_name from raw.customers where customer_id = 'c1' "
        "order by _load_id, _row_number"
    ).fetchall()
    email, phone, code, name = versions[0]
    assert re.fullmatch(r"erased-[0-9a-f]{16}@example\.com", email)  # domain kept
    assert re.fullmatch(r"erased-[0-9a-f]{16}", phone) and re.fullmatch(
        r"erased-[0-9a-f]{16}", code
    )
    assert name is None
    assert versions[1][0] == email and versions[1][2] == code  # stable across versions
    assert versions[1][1] != phone and versions[1][1].startswith("erased-")  # "has a phone"
    # c2 shares c1's address: it shares the pseudonym (status imports keyed by it stay
    # ambiguous); its own name and the other customers stay
    assert con.execute(
        "select email, code, full_name from raw.customers where customer_id = 'c2'"
    ).fetchall() == [(email, "K-200", "Other Person")]
    assert con.execute(
        "select email, full_name from raw.customers where customer_id = 'c3'"
    ).fetchall() == [("bob@example.org", "Bob Keeps")]
    # the blocklist entry still matches, the domain entry is untouched
    assert con.execute("select kind, value from raw.suppressions order by kind").fetchall() == [
        ("domain", "example.com"),
        ("email", email),
    ]
    # the status import's Code and Email rows still name c1 (and c2)
    assert con.execute(
        "select code, email from raw.status_imports order by _row_number"
    ).fetchall() == [(code, None), (None, email)]
    # the rejected row of c1's quoted its bad email: gone
    rejects = [e for (e,) in con.execute("select error from raw.import_rejects").fetchall()]
    assert "email '[erased]' is not an email address" in rejects
    # a plain hash of the address would be guessable: the pseudonym is keyed
    plain = hashlib.sha256(b"t1\0email\0zoe.smith@example.com").hexdigest()[:16]
    assert plain not in email


def test_earlier_artefacts_are_scrubbed_and_others_kept(zone):
    landing, work = zone
    result = erasure.apply_erasures(landing.db, work, "night-3")
    assert sorted(result.files_changed) == ["runs/night-1/report.html", "runs/night-1/run.json"]
    page = (work / "runs" / "night-1" / "report.html").read_text()
    assert "Smith" not in page and "[erased]" in page
    assert "erased-" in page and "@example.com" in page
    assert "Smith" not in (work / "runs" / "night-1" / "run.json").read_text()
    assert "K-100" not in (work / "runs" / "night-1" / "run.json").read_text()
    assert "bob@example.org" in (work / "gx" / "uncommitted" / "keep.json").read_text()


def test_the_scrub_is_idempotent_and_a_relanded_file_is_scrubbed_as_it_loads(zone):
    landing, work = zone
    con = landing.db
    erasure.apply_erasures(con, work, "night-3")
    before = con.execute("select * from raw.customers order by all").fetchall()
    again = erasure.apply_erasures(con, work, "night-4")
    assert again.rows_changed == 0
    assert con.execute("select * from raw.customers order by all").fetchall() == before
    scrubs = con.execute("select run_id from ops.erasure_scrubs").fetchall()
    assert scrubs == [("night-3",)]  # only a night that changed rows forces a full build
    # the user lands the old file again under a new name, rows reordered: it loads,
    # and the same night's scrub takes the person out again, with the same pseudonyms
    header, *rows = CUSTOMERS.splitlines(keepends=True)
    landing.write("customers/relanded.csv", header + "".join(reversed(rows)))
    landing.ingest()
    assert found(every_text(con))
    erasure.apply_erasures(con, work, "night-5")
    assert found(every_text(con)) == []
    emails = con.execute(
        "select distinct email from raw.customers where customer_id in ('c1', 'c2')"
    ).fetchall()
    assert len(emails) == 1


def test_the_pseudonym_is_stable_for_a_configured_key(monkeypatch):
    monkeypatch.setenv(erasure.KEY_ENV, "k")
    one = erasure.pseudonym("k", "t1", "email", "a@x.io")
    assert one == erasure.pseudonym("k", "t1", "email", "a@x.io")
    assert one != erasure.pseudonym("k", "t2", "email", "a@x.io")  # per tenant
    assert one != erasure.pseudonym("other", "t1", "email", "a@x.io")
    assert one.endswith("@x.io") and erasure.PSEUDONYM.match(one)
    assert erasure.pseudonym("k", "t1", "full_name", "Ann") is None


def test_a_night_whose_scrub_changed_rows_rebuilds_every_model(landing, tmp_path):
    """Staging, intermediate and incremental models keep copies of raw values: after a scrub
    every model is rebuilt whole; a night whose scrub changed nothing stays incremental."""
    from customer_status.pipeline.build import plan_build, record_build

    con = landing.db
    landing.write("customers/a.csv", CUSTOMERS)
    landing.ingest()
    erasure.apply_erasures(con, tmp_path, "night-1")  # no request: nothing
    record_build(con, "night-1", plan_build(con, "v1"))
    landing.write(
        "orders/o.csv", "tenant_id,order_id,customer_id,created_at\nt1,o1,c3,2026-02-01\n"
    )
    landing.ingest()
    erasure.apply_erasures(con, tmp_path, "night-2")
    assert not plan_build(con, "v1").full_refresh
    record_build(con, "night-2", plan_build(con, "v1"))
    landing.write("erasure_requests/r.csv", REQUESTS)
    landing.ingest()
    erasure.apply_erasures(con, tmp_path, "night-3")
    plan = plan_build(con, "v1")
    assert plan.full_refresh and plan.dbt_args() == ("--full-refresh",)
    record_build(con, "night-3", plan)
    landing.write("erasure_requests/again.csv", REQUESTS.replace("r5,", "r6,"))
    landing.ingest()
    assert erasure.apply_erasures(con, tmp_path, "night-4").rows_changed == 0
    assert not plan_build(con, "v1").full_refresh


def test_the_address_landing_later_elsewhere_gets_the_same_pseudonym(zone):
    """No clear value is kept to compare with: a later row holding the erased address or code
    (another customer, a blocklist entry, an import row) is recognised by its pseudonym, so
    nights that scrub as rows come give the rows a rebuild gives."""
    landing, work = zone
    con = landing.db
    erasure.apply_erasures(con, work, "night-3")
    key = erasure.erasure_key(con)
    email = erasure.pseudonym(key, "t1", "email", "zoe.smith@example.com")
    code = erasure.pseudonym(key, "t1", "code", "K-100")
    (c1_email, c1_code), *_ = con.execute(
        "select email, code from raw.customers where customer_id = 'c1'"
    ).fetchall()
    assert (c1_email, c1_code) == (email, code)  # Python and DuckDB compute the same
    landing.write(
        "customers/late.csv",
        "tenant_id,customer_id,code,email,created_at\n"
        "t1,c7,K-100,ZOE.SMITH@example.com,2026-01-09T00:00:00Z\n"
        "t1,c8,K-800,zoe.smith@example.org,2026-01-09T00:00:00Z\n",
    )
    landing.write(
        "suppressions/late.csv",
        "tenant_id,kind,value,added_at\nt1,email,zoe.smith@example.com,2026-01-12T00:00:00Z\n",
    )
    landing.ingest()
    result = erasure.apply_erasures(con, work, "night-4")
    assert result.rows_changed == 3
    assert con.execute(
        "select customer_id, code, email from raw.customers where customer_id in ('c7', 'c8') "
        "order by 1"
    ).fetchall() == [("c7", code, email), ("c8", "K-800", "zoe.smith@example.org")]
    assert con.execute(
        "select distinct value from raw.suppressions where kind = 'email'"
    ).fetchall() == [(email,)]
    assert found(every_text(con)) == []
