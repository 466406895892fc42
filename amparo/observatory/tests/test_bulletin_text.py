from django.utils.translation import override

from amparo.observatory import bulletin, maps


def test_the_bulletin_credits_the_boundaries_with_the_map_attribution_word_for_word():
    with override("en"):
        text = bulletin._text()
    assert text["attribution"].startswith(maps.ATTRIBUTION)
