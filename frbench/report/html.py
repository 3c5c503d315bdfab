"""`results/report.html`: one self-contained file (figures inlined as data URIs,
no network), rendered by Jinja2 with autoescape on, so text from config or
result files never becomes markup."""

from __future__ import annotations

import base64
import datetime as dt
import io

import jinja2
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402

from .summary import seed_table  # noqa: E402

TABLE_COLUMNS = ["dice", "file_bytes", "gzip_bytes", "stored_numbers", "nonzero_numbers", "compression_by_count",
                 "compression_by_bytes", "load_ms", "p50_ms", "p90_ms", "peak_rss_kb", "train_seconds"]


def _png_data_uri(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def dice_vs_size_figure(df: pd.DataFrame) -> str | None:
    ok = df[df["error"].isna() & df["file_bytes"].gt(0)]
    if ok.empty:
        return None
    fig, ax = plt.subplots(figsize=(6, 3.6))
    sns.scatterplot(data=ok, x="file_bytes", y="dice", hue="method", style="fmt", s=60, ax=ax)
    ax.set(xscale="log", xlabel="exported file (bytes, log scale)", ylabel="test Dice (exported model)")
    ax.grid(alpha=0.3)
    return _png_data_uri(fig)


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.PackageLoader("frbench.report", "templates"),
                             autoescape=jinja2.select_autoescape(default=True, default_for_string=True),
                             undefined=jinja2.StrictUndefined)
    env.filters["num"] = _fmt_number
    return env


def _fmt_number(x, digits: int = 4) -> str:
    if x is None or (isinstance(x, float) and x != x):
        return "–"
    if isinstance(x, (bool,)):
        return "yes" if x else "no"
    if isinstance(x, int) or (isinstance(x, float) and x.is_integer() and abs(x) >= 1000):
        return f"{int(x):,}"
    return f"{x:.{digits}g}"


def render_report(summary: pd.DataFrame, provenance: dict, rerun: str) -> str:
    table = seed_table(summary, TABLE_COLUMNS)
    flags = summary[summary["only_on_paper"].astype(bool)][["method", "level", "seed", "fmt", "device"]]
    errors = summary[summary["error"].notna()][["method", "level", "seed", "fmt", "device", "error"]]
    warnings = summary[summary["warnings"].fillna("") != ""][["method", "level", "seed", "fmt", "device", "warnings"]]
    return _environment().get_template("report.html.j2").render(
        table=table.to_dict("records"), columns=TABLE_COLUMNS, rows=summary.to_dict("records"),
        flags=flags.to_dict("records"), errors=errors.to_dict("records"), warnings=warnings.to_dict("records"),
        figure=dice_vs_size_figure(summary), provenance=provenance, rerun=rerun,
        generated=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"))
