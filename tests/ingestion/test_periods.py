"""The one parser of reporting years, behind `ndc run`, `ndc generate` and `ndc bench`."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from ingestion.periods import parse_years
from orchestration.cli import bench_years, main
from orchestration.partitions import parse_year_range


@pytest.mark.parametrize(("text", "years"), [("2022", range(2022, 2023)), ("2021-2023", range(2021, 2024)),
                                             (" 2021 - 2022 ", range(2021, 2023))])
def test_a_year_or_a_range(text, years):
    assert parse_years(text) == years


@pytest.mark.parametrize(("text", "message"), [("2023-2021", "comes before"), ("22", "expected a year"),
                                               ("2021-", "expected a year"), ("2021..2023", "expected a year"),
                                               ("", "expected a year")])
def test_a_bad_text_says_what_was_expected(text, message):
    with pytest.raises(ValueError, match=message):
        parse_years(text)


def test_every_command_reads_years_the_same_way():
    known = [str(y) for y in range(2019, 2026)]
    for text in ("2022", "2021-2023", " 2020 - 2021 "):
        years = parse_years(text)
        assert bench_years(text) == years
        assert parse_year_range(text, known) == (str(years[0]), str(years[-1]))
    for text in ("2023-2021", "20x2"):
        with pytest.raises(ValueError) as direct:
            parse_years(text)
        with pytest.raises(ValueError) as partition:
            parse_year_range(text, known)
        assert str(partition.value) == str(direct.value)


def test_generate_reports_a_bad_range_as_a_usage_error(tmp_path):
    result = CliRunner().invoke(main, ["generate", "--years", "2023-2021", "--out", str(tmp_path)])
    assert result.exit_code == 2 and "the last year comes before the first" in result.output
