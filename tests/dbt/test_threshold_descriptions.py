"""Column descriptions state the official thresholds from dbt_project.yml's vars, never as numbers typed again.

A threshold lives once, as a named var with its source; a description that spells it out renders it with
`{{ var('...') }}`, so changing the var changes the documentation BI users read (persist_docs) with it.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import jinja2
import pytest
import yaml

PROJECT = Path(__file__).resolve().parents[2] / "dbt_project"
MANIFEST = PROJECT / "target" / "manifest.json"
VARS = {k: v for k, v in yaml.safe_load((PROJECT / "dbt_project.yml").read_text(encoding="utf-8"))["vars"].items()
        if isinstance(v, (int, float))}
# A figure right after wording that states a threshold: "Threshold: 10%", "at least 500万元", "valid 3 years".
STATED = re.compile(r"(?:threshold|limit|pass mark|at least|above|valid|window \(|门槛|上限|末位)[:\s]*"
                    r"(\d[\d,.]*(?:%|万元|亿元)?)", re.IGNORECASE)


def described_models() -> list[dict]:
    models = []
    for path in sorted((PROJECT / "models").rglob("*.yml")):
        for model in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("models", []):
            models.append({**model, "path": path})
    return models


def vars_of(model: dict) -> set[str]:
    """The threshold vars a model applies (its SQL) or names (its YAML)."""
    text = model["path"].read_text(encoding="utf-8")
    sql = model["path"].with_name(model["name"] + ".sql")
    text += sql.read_text(encoding="utf-8") if sql.exists() else ""
    return {name for name in VARS if re.search(rf"\b{name}\b", text)}


def spellings(value: float) -> set[str]:
    """How a threshold value is written by hand: 10%, 60, 10,000, 500万元, 2亿元."""
    if isinstance(value, float) and value < 1:
        return {f"{value * 100:g}%"}
    found = {f"{value:g}", f"{value:,.0f}"}
    if value >= 1000:  # money in 千元
        found |= {f"{value / 10:g}万元", f"{value / 100_000:g}亿元"}
    return found


def test_stated_thresholds_are_rendered_from_the_vars():
    offenders = []
    for model in described_models():
        texts = [(model["name"], model.get("description", ""))]
        texts += [(f"{model['name']}.{c['name']}", c.get("description", "")) for c in model.get("columns", [])]
        names = vars_of(model)
        for where, text in texts:
            bare = re.sub(r"\{\{.*?\}\}", "{}", text)  # what a var renders is not typed by hand
            for figure in STATED.findall(bare):
                figure = figure.rstrip(".,")
                for name in names:
                    if figure in spellings(VARS[name]):
                        offenders.append(f"{model['path'].relative_to(PROJECT)} {where}: {figure} typed by hand; "
                                         f"render it with {{{{ var('{name}') }}}}")
    assert not offenders, "\n".join(offenders)


def test_descriptions_render_the_vars_as_dbt_documents_them():
    if not MANIFEST.exists():
        pytest.fail(f"{MANIFEST} is missing: run `make manifest`")
    nodes = json.loads(MANIFEST.read_text(encoding="utf-8"))["nodes"]
    env = jinja2.Environment()
    templated = 0
    for model in described_models():
        node = nodes[f"model.ndc.{model['name']}"]
        written = [(model.get("description", ""), node["description"])]
        written += [(c.get("description", ""), node["columns"][c["name"]]["description"]) for c in model.get("columns", [])]
        for text, rendered in written:
            if "var(" not in text:
                continue
            templated += 1
            assert "{{" not in rendered, f"{model['name']}: dbt left the template unrendered: {rendered}"
            assert rendered.strip() == env.from_string(text).render(var=VARS.__getitem__).strip()
    assert templated >= 40  # the evaluation marts' thresholds, their pass flags and the certificate's validity


def test_the_rendered_figures_are_the_official_ones():
    nodes = json.loads(MANIFEST.read_text(encoding="utf-8"))["nodes"]
    columns = nodes["model.ndc.mart_incubator_criteria"]["columns"]
    assert "500万元 = 5,000 千元" in columns["seed_fund_min"]["description"]
    assert "Threshold: 75%" in columns["tenant_area_share_min"]["description"]
    assert "Limit: 2亿元 = 200,000 千元" in nodes["model.ndc.mart_sme_evaluation"]["columns"]["revenue_max"]["description"]
