import pytest

from ingestion.uscc import check_character, checksum_ok, has_valid_format


@pytest.mark.parametrize("code", ["91110000600037341L", "9144030071526726XG"])
def test_published_examples_pass_the_check(code):
    # Worked examples from domain-rules.md §1.2.
    assert checksum_ok(code)
    assert check_character(code[:17]) == code[17]


def test_a_wrong_check_character_fails_only_the_check():
    assert has_valid_format("91110000600037341A")
    assert not checksum_ok("91110000600037341A")


@pytest.mark.parametrize("code", ["9111000060003734L", "91110000600037341LL", "9111000060003734IL", "91110000600037341o"])
def test_wrong_length_or_characters_outside_the_set_are_not_the_format(code):
    assert not has_valid_format(code)
    assert not checksum_ok(code)


def test_a_raw_check_value_of_31_maps_to_zero():
    # Find a body whose weighted sum is divisible by 31: its check character must be '0'.
    from ingestion.uscc import CHARSET, WEIGHTS

    body = "9111000060003734"
    for c in CHARSET:
        total = sum(CHARSET.index(x) * w for x, w in zip(body + c, WEIGHTS))
        if total % 31 == 0:
            assert check_character(body + c) == "0"
            return
    pytest.fail("no body with a sum divisible by 31 in this family")
