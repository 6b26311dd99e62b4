"""The night's report as one self-contained HTML page: Plotly charts, plotly.js inlined once.

Nothing is fetched when the page is viewed (no CDN, no fonts, no MathJax): the page opens
from disk on a machine without network.
"""

from __future__ import annotations

import html

import plotly.graph_objects as go

from .. import pipeline_db
from ..seeds import headline_statuses
from .data import CHART_DAYS, NightView, TenantView

CONFIG = {"displaylogo": False, "responsive": True, "displayModeBar": False}

CSS = """
body { font-family: system-ui, sans-serif; margin: 1.5rem auto; max-width: 1200px; color: #222; }
h1 { font-size: 1.5rem; } h2 { margin-top: 2rem; border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; margin: .5rem 0 1rem; font-size: .85rem; }
th, td { border: 1px solid #ddd; padding: .2rem .5rem; text-align: left; vertical-align: top; }
th { background: #f4f4f4; } .pass { color: #17702a; } .fail { color: #b00020; font-weight: bold; }
.badge { padding: .1rem .5rem; border-radius: .3rem; color: white; }
.published { background: #17702a; } .failed { background: #b00020; }
.muted { color: #666; font-size: .85rem; } .chart { min-height: 320px; }
details { margin: .2rem 0; } pre { margin: 0; white-space: pre-wrap; }
"""


def _e(value) -> str:
    return html.escape("" if value is None else str(value))


def _table(header: list[str], rows: list, empty: str = "none") -> str:
    if not rows:
        return f'<p class="muted">{_e(empty)}</p>'
    head = "".join(f"<th>{_e(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{_e(v)}</td>" for v in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


class _Charts:
    """Each figure as a div; plotly.js goes into the first one only."""

    def __init__(self) -> None:
        self.count = 0

    def html(self, fig: go.Figure, name: str) -> str:
        fig.update_layout(
            height=340, margin={"l": 50, "r": 20, "t": 40, "b": 40}, template="plotly_white"
        )
        div = fig.to_html(
            full_html=False,
            include_plotlyjs=self.count == 0,  # inline, once: no network at view time
            include_mathjax=False,
            config=CONFIG,
            div_id=f"chart-{self.count}",
        )
        self.count += 1
        return f'<div class="chart" data-chart="{_e(name)}">{div}</div>'


def _status_mix(t: TenantView) -> go.Figure:
    fig = go.Figure()
    # the headline statuses (rules §2) in the seeds' order, bottom to top; any other last
    known = [s for s in headline_statuses() if s in t.status_mix]
    for status in known + sorted(set(t.status_mix) - set(known)):
        points = t.status_mix[status]
        fig.add_trace(
            go.Scatter(
                x=[d for d, _ in points],
                y=[n for _, n in points],
                name=status,
                mode="lines",
                stackgroup="status",
                line={"width": 0.5},
            )
        )
    fig.update_layout(title=f"Status mix, tenant {t.tenant_id}", yaxis_title="customers")
    return fig


def _billable(t: TenantView) -> go.Figure:
    days = [b[0] for b in t.billable]
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=days,
            y=[b[2] for b in t.billable],
            mode="lines",
            line={"width": 0},
            name="limit (low)",
            showlegend=False,
            hoverinfo="skip",
        )
    )
    fig.add_trace(
        go.Scatter(
            x=days,
            y=[b[3] for b in t.billable],
            mode="lines",
            line={"width": 0},
            fill="tonexty",
            fillcolor="rgba(31,119,180,0.15)",
            name=f"swing limit ±{t.swing_limit:.0%} of the day before",
        )
    )
    fig.add_trace(
        go.Scatter(
            x=days,
            y=[b[1] for b in t.billable],
            mode="lines",
            name="billable customers",
            line={"color": "#1f77b4", "width": 2},
        )
    )
    fig.update_layout(title=f"Billable customers, tenant {t.tenant_id}", yaxis_title="customers")
    return fig


def _timings(stages: list[dict]) -> go.Figure:
    fig = go.Figure(
        go.Bar(
            y=[s["stage"] for s in stages],
            x=[s["seconds"] for s in stages],
            orientation="h",
            marker_color=["#17702a" if s.get("ok") else "#b00020" for s in stages],
            text=[f"{s['seconds']:.1f}s" for s in stages],
        )
    )
    fig.update_layout(title="Stage timings", xaxis_title="seconds", yaxis={"autorange": "reversed"})
    return fig


def _checks(checks: list[dict]) -> str:
    if not checks:
        return '<p class="muted">no check ran this night</p>'
    rows = []
    for c in checks:
        verdict = "PASS" if c["passed"] else "FAIL"
        sample = ""
        if c.get("sample"):
            lines = "\n".join(", ".join(row) for row in c["sample"])
            sample = f"<details><summary>{len(c['sample'])} sample row(s)</summary><pre>{_e(lines)}</pre></details>"
        rows.append(
            f'<tr><td class="{verdict.lower()}">{verdict}</td><td>{_e(c["step"])}</td>'
            f"<td>{_e(c['check'])}</td><td>{_e(c.get('tenant_id') or '')}</td>"
            f"<td>{_e(c['detail'])}{sample}</td></tr>"
        )
    return (
        "<table><thead><tr><th></th><th>step</th><th>check</th><th>tenant</th>"
        f"<th>detail</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def render(view: NightView, record: dict) -> str:
    charts = _Charts()
    run = view.run
    outcome = run.get("outcome") or "unknown"
    badge = "published" if outcome == "published" else "failed"
    parts = [
        f"<h1>customer-status: the night of {_e(view.as_of or 'no as-of date')} "
        f'<span class="badge {badge}">{_e(outcome)}</span></h1>',
        _table(
            [
                "run",
                "as-of date",
                "started (UTC)",
                "finished (UTC)",
                "checks passed",
                "failed",
                "accepted swing",
            ],
            [
                [
                    run.get("run_id"),
                    run.get("as_of_date"),
                    run.get("started_at"),
                    run.get("finished_at"),
                    run.get("checks_passed"),
                    run.get("checks_failed"),
                    run.get("accepted_swing"),
                ]
            ],
        ),
    ]
    if outcome != "published":
        parts.append(
            f'<p class="fail">Nothing was published: step {_e(run.get("failed_step"))}: '
            f"{_e(run.get('message'))}</p>"
        )
        parts.append(
            '<p class="muted">'
            + (
                "The figures below are this night's candidate tables (built, not published)."
                if view.built_by_this_run
                else "This night did not build: the figures below are the candidate tables "
                "as an earlier night left them in the work area."
            )
            + "</p>"
        )
    window = (
        f"changed on {view.since} (exclusive) to {view.as_of}"
        if view.since
        else f"every change up to {view.as_of}: no earlier published night"
    )
    for t in view.tenants:
        parts.append(f'<h2 id="tenant-{_e(t.tenant_id)}">Tenant {_e(t.tenant_id)}</h2>')
        parts.append(
            f'<p class="muted">Charts: the last {CHART_DAYS} days up to {_e(view.as_of)}.</p>'
        )
        if t.status_mix:
            parts.append(charts.html(_status_mix(t), f"status mix {t.tenant_id}"))
        if t.billable:
            parts.append(charts.html(_billable(t), f"billable {t.tenant_id}"))
        parts.append(f"<h3>Status changes by dimension and reason ({_e(window)})</h3>")
        parts.append(_table(["dimension", "from", "to", "reason", "customers"], t.changes))
        parts.append("<h3>Restatements by this run (old → new)</h3>")
        parts.append(_table(["grain", "period", "metric", "old", "new"], t.restatements))
    parts.append("<h2>Landing files this night</h2>")
    parts.append(_table(["outcome", "files"], sorted(view.files.items()), "no file read"))
    parts.append("<h3>Rejected rows and files (files read this night), by source and reason</h3>")
    parts.append(_table(["source", "scope", "what", "reason", "count", "in files"], view.rejects))
    parts.append("<h3>Held rows of undeclared tenants (every night until declared)</h3>")
    parts.append(_table(["tenant", "source", "files", "rows held"], view.held))
    parts.append("<h3>Skipped files (hidden: not read; rename to load)</h3>")
    parts.append(_table(["source", "file", "reason"], view.skipped))

    stages = record.get("stages", [])
    parts.append("<h2>Stages</h2>")
    parts.append(
        _table(["stage", "seconds", "ok"], [[s["stage"], s["seconds"], s["ok"]] for s in stages])
    )
    if stages:
        parts.append(charts.html(_timings(stages), "stage timings"))
    parts.append("<h2>Checks</h2>" + _checks(record.get("checks", [])))

    written = pipeline_db.utc_now().strftime("%Y-%m-%d %H:%M:%S UTC")
    parts.append(f'<p class="muted">Written {written}.</p>')
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>customer-status night {_e(view.as_of)} ({_e(outcome)})</title>"
        f"<style>{CSS}</style></head><body>{''.join(parts)}</body></html>"
    )
